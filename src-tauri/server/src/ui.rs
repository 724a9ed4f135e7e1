//! The built UI (`ui/dist`), served for every path no route claimed. Release builds carry it inside
//! the binary (the desktop `.deb` and the headless server need no files beside them); debug builds
//! read the same folder from disk, so `npm run ui:build` shows up without recompiling. A configured
//! `server.ui_dir` wins over both. Unknown files are JSON 404s, like every other unknown path.

use axum::{
    body::Body,
    http::{header, HeaderValue, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::MethodRouter,
};

use crate::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "$CARGO_MANIFEST_DIR/../../ui/dist"]
#[allow_missing = true]
struct Assets;

/// The fallback service: `configured` folder, else the embedded build.
pub fn service(configured: Option<&std::path::Path>) -> MethodRouter {
    let not_found = axum::routing::any(|| async { ApiError::RouteNotFound });
    match configured {
        Some(dir) => {
            tracing::info!(dir = %dir.display(), "serving the UI from a folder");
            axum::routing::any_service(
                tower_http::services::ServeDir::new(dir).not_found_service(not_found),
            )
        }
        None => {
            if Assets::get("index.html").is_none() {
                tracing::warn!(
                    "this build carries no UI (ui/dist was not built): only the API is served"
                );
            }
            axum::routing::get(embedded)
        }
    }
}

async fn embedded(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match Assets::get(path) {
        Some(file) => {
            let mime = HeaderValue::from_str(file.metadata.mimetype())
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            // Hashed assets never change; everything else is revalidated.
            let cache = if path.starts_with("assets/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                ],
                Body::from(file.data.into_owned()),
            )
                .into_response()
        }
        None => ApiError::RouteNotFound.into_response(),
    }
}
