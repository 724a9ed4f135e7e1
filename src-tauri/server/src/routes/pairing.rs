//! `/api/v1/displays`: pairing customer displays (see [`stablepay_core::pairing`]).
//!
//! The owner asks for a code (`POST /displays/pairing`, admin): six digits valid two minutes, the
//! URL a tablet opens to pair (`pair_url`, ending `#/display?pair=CODE`) and that URL as a QR code.
//! The tablet sends the code without a key (`POST /displays/pair`) and gets a display-role token,
//! which it keeps; the token is shown this once. Paired displays are listed and revoked by admins.
//!
//! The pairing URL names the address a tablet can reach (`crate::lan::shop_address`): `server.public_url` when set; else the host
//! the owner's screen used, when that is not a loopback name; else this computer's LAN address
//! when the server listens on all interfaces; else the bind address itself (a loopback-only server
//! cannot be reached from a tablet — the UI says so).

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::{delete, get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use stablepay_core::{pairing::DisplayDevice, qr};
use utoipa::ToSchema;

use crate::{
    auth::{Permission, Require},
    dto::rfc3339,
    error::{ApiError, ErrorBody},
    extract::ApiJson,
    state::AppState,
};

/// Routes: pairing is open to anyone holding a code; the rest is the owner's.
pub fn router() -> Router<AppState> {
    let manage = Require(Permission::Manage);
    Router::new()
        .route("/displays", get(list).route_layer(manage))
        .route("/displays/pairing", post(start).route_layer(manage))
        .route("/displays/pair", post(pair))
        .route("/displays/{display_id}", delete(revoke).route_layer(manage))
}

/// A pairing code for the owner's screen.
#[derive(Debug, Serialize, ToSchema)]
pub struct PairingResponse {
    /// Six digits to enter on the tablet.
    pub code: String,
    /// RFC 3339, when the code stops working.
    pub expires_at: String,
    /// What a tablet opens to pair (the code is in it).
    pub pair_url: String,
    /// `pair_url` as an SVG QR code.
    pub qr_svg: String,
}

/// `POST /api/v1/displays/pair`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    /// The six digits shown on the owner's screen.
    pub code: String,
    /// A name for this display (1 to 60 characters), e.g. "Counter tablet".
    pub name: String,
}

/// A newly paired display and its token.
#[derive(Debug, Serialize, ToSchema)]
pub struct PairedResponse {
    /// `dsp_` + 24 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The display's key (role `display`): send as `Authorization: Bearer`. Shown this once.
    pub token: String,
    /// The public key socket messages are signed with (Ed25519, hex): the display pins it now and
    /// shows nothing that fails to verify with it.
    pub push_key: String,
}

/// A paired display.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisplayDeviceResponse {
    /// `dsp_` + 24 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// RFC 3339.
    pub paired_at: String,
    /// RFC 3339; null while it works.
    pub revoked_at: Option<String>,
}

impl From<DisplayDevice> for DisplayDeviceResponse {
    fn from(d: DisplayDevice) -> Self {
        Self {
            id: d.id,
            name: d.name,
            paired_at: rfc3339(d.paired_at),
            revoked_at: d.revoked_at.map(rfc3339),
        }
    }
}

/// The list of paired displays.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisplayDeviceList {
    /// Newest first, revoked ones included.
    pub data: Vec<DisplayDeviceResponse>,
}

/// A pairing code (replacing any earlier one) and the URL a tablet opens to pair.
#[utoipa::path(post, path = "/api/v1/displays/pairing", tag = "displays",
    security(("api_key" = ["admin"])),
    responses((status = 201, body = PairingResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<PairingResponse>), ApiError> {
    let code = state.core.pairing.start();
    let pair_url = format!(
        "{}/#/display?pair={}",
        crate::lan::shop_address(&state, &headers),
        code.code
    );
    let qr_svg = qr::svg(&pair_url).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        Json(PairingResponse {
            code: code.code,
            expires_at: rfc3339(code.expires_at),
            pair_url,
            qr_svg,
        }),
    ))
}

/// Pairs this device as a customer display with a code from the owner's screen. Needs no key; a
/// code dies after ten wrong tries in all.
#[utoipa::path(post, path = "/api/v1/displays/pair", tag = "displays", security(()),
    request_body = PairRequest,
    responses((status = 201, body = PairedResponse), (status = 403, body = ErrorBody, description = "pairing_refused: wrong or expired code"),
        (status = 422, body = ErrorBody)))]
pub async fn pair(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PairRequest>,
) -> Result<(StatusCode, Json<PairedResponse>), ApiError> {
    let (device, token) = state.core.pairing.pair(&body.code, &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(PairedResponse {
            id: device.id,
            name: device.name,
            token: token.expose().to_string(),
            push_key: state.signer.public_key().to_string(),
        }),
    ))
}

/// Every paired display, newest first.
#[utoipa::path(get, path = "/api/v1/displays", tag = "displays",
    security(("api_key" = ["admin"])),
    responses((status = 200, body = DisplayDeviceList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<DisplayDeviceList>, ApiError> {
    let data = state.core.pairing.list().await?;
    Ok(Json(DisplayDeviceList {
        data: data.into_iter().map(Into::into).collect(),
    }))
}

/// Revokes a paired display: its token stops working and its open display socket closes.
#[utoipa::path(delete, path = "/api/v1/displays/{display_id}", tag = "displays",
    params(("display_id" = String, Path, description = "Display id")),
    security(("api_key" = ["admin"])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Path(display_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.core.pairing.revoke(&display_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
