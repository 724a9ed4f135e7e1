//! The shop's logo (issue 18), shown on the customer display's idle screen.
//!
//! `PUT /api/v1/settings/logo` and `DELETE /api/v1/settings/logo` are the owner's (`manage`, like
//! the other settings). The upload's body is the image itself: a PNG, JPEG or WebP of at most
//! [`logo::MAX_BYTES`], its type read from its bytes (the Content-Type sent is not trusted, and SVG
//! is refused). Each change is in the audit trail and reaches open displays over `/ws/display`
//! (`logo_version`).
//!
//! `GET /api/v1/display/logo` needs no key, like the customer routes: the logo is what the shop
//! shows anyone who walks in, so it is no secret, and the display draws it with an `<img>`, which
//! cannot carry a key. It is answered with `Cache-Control: no-cache` and its version as ETag, so a
//! browser keeps it and asks again cheaply (304).

use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, DefaultBodyLimit, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, put},
    Extension, Json, Router,
};
use stablepay_core::{
    logo::{self, LogoImage},
    CoreError,
};

use crate::{
    auth::{Caller, Permission, Require},
    dto::logo::LogoSaved,
    error::{ApiError, ErrorBody},
    state::AppState,
};

/// The owner's routes and the public image.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/logo", put(upload).delete(remove))
        .route_layer(Require(Permission::Manage))
        // Above the API's usual body limit: room for the largest logo, and no more.
        .layer(DefaultBodyLimit::max(logo::MAX_BYTES))
        .route("/display/logo", get(image))
}

/// Upload the shop's logo (replacing any): the body is the image itself, a PNG, JPEG or WebP of
/// at most 512 KiB. Its type is read from its first bytes, whatever the Content-Type says; 415
/// `unsupported_image` for anything else (SVG included), 413 `image_too_large` over 512 KiB.
#[utoipa::path(put, path = "/api/v1/settings/logo", tag = "settings", security(("api_key" = ["admin"])),
    request_body(description = "The image itself (PNG, JPEG or WebP, at most 512 KiB)",
        content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"))),
    responses((status = 200, body = LogoSaved), (status = 401, body = ErrorBody),
        (status = 413, description = "`image_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_image`", body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<LogoSaved>, ApiError> {
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::Core(CoreError::ImageTooLarge {
            limit: logo::MAX_BYTES,
        }),
        _ => ApiError::InvalidField(format!("the image could not be read: {}", e.body_text())),
    })?;
    let image = LogoImage::parse(body.into())?;
    let saved = state.core.logo.replace(image, &caller.name).await?;
    Ok(Json(LogoSaved::from(&saved)))
}

/// Remove the shop's logo: the display's idle screen shows the shop's name alone. 404
/// `logo_not_found` when there is none.
#[utoipa::path(delete, path = "/api/v1/settings/logo", tag = "settings", security(("api_key" = ["admin"])),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode, ApiError> {
    state.core.logo.remove(&caller.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The shop's logo, for the customer display (no key needed), in its own type, with its version as
/// ETag (`If-None-Match` → 304). 404 `logo_not_found` when there is none.
#[utoipa::path(get, path = "/api/v1/display/logo", tag = "display",
    responses((status = 200, description = "The image",
            content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"))),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 404, body = ErrorBody)),
    security(()))]
pub async fn image(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let known = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if let Some(known) = known {
        let version = state.core.logo.version().await?;
        if let Some(version) = version.filter(|v| matches(known, &etag(v))) {
            return Ok((StatusCode::NOT_MODIFIED, cache_headers(&version)).into_response());
        }
    }
    let logo = state
        .core
        .logo
        .get()
        .await?
        .ok_or(CoreError::LogoNotFound)?;
    let content_type = logo.image.format().content_type();
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        cache_headers(logo.image.version()),
        logo.image.bytes().to_vec(),
    )
        .into_response())
}

fn etag(version: &str) -> String {
    format!("\"{version}\"")
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, as RFC 9110 asks for it).
fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// Kept, but asked again each time; never sniffed into another type (the guard sets `nosniff` on
/// every answer too: an image is where it matters most).
fn cache_headers(version: &str) -> [(header::HeaderName, String); 3] {
    [
        (header::CACHE_CONTROL, "no-cache".to_string()),
        (header::ETAG, etag(version)),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn if_none_match_names_the_version_strongly_weakly_or_with_a_star() {
        assert!(matches("\"abc\"", "\"abc\""));
        assert!(matches("\"x\", W/\"abc\"", "\"abc\""));
        assert!(matches("*", "\"abc\""));
        assert!(!matches("\"abd\"", "\"abc\""));
    }
}
