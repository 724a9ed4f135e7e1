//! `/api/v1/displays` and `/api/v1/counters`: pairing customer displays and the counters of a hub
//! (see [`stablepay_core::pairing`], [`stablepay_core::counters`]).
//!
//! A counter pairs with the same code (`POST /counters/pair`, no key) and gets a cashier-role
//! token: the desktop app in terminal mode keeps it and sells with it. Counters are listed for
//! anyone reading sales (history and monitoring filter by them) and revoked by admins.
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
use stablepay_core::{
    pairing::{Device, DeviceKind},
    qr,
};
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
        .route("/counters/pair", post(pair_counter))
        .route(
            "/counters",
            get(list_counters).route_layer(Require(Permission::ReadSales)),
        )
        .route(
            "/counters/{counter_id}",
            delete(revoke_counter).route_layer(manage),
        )
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

impl From<Device> for DisplayDeviceResponse {
    fn from(d: Device) -> Self {
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
    let (device, token) = state
        .core
        .pairing
        .pair(&body.code, &body.name, DeviceKind::Display)
        .await?;
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
    let data = state.core.pairing.list(DeviceKind::Display).await?;
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
    state
        .core
        .pairing
        .revoke(DeviceKind::Display, &display_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/counters/pair`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairCounterRequest {
    /// The six digits shown on the owner's screen (the same code displays pair with).
    pub code: String,
    /// The counter's name (1 to 60 characters), e.g. "Counter 2"; its sales carry it.
    pub name: String,
}

/// A newly paired counter and its token.
#[derive(Debug, Serialize, ToSchema)]
pub struct PairedCounterResponse {
    /// `ctr_` + 24 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The counter's key (role `cashier`): send as `Authorization: Bearer`. Shown this once.
    pub token: String,
    /// The public key socket messages are signed with (Ed25519, hex), to pin now.
    pub push_key: String,
}

/// A paired counter.
#[derive(Debug, Serialize, ToSchema)]
pub struct CounterResponse {
    /// `ctr_` + 24 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// RFC 3339.
    pub paired_at: String,
    /// RFC 3339; null while it works.
    pub revoked_at: Option<String>,
}

/// The list of paired counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct CounterList {
    /// Newest first, revoked ones included.
    pub data: Vec<CounterResponse>,
}

/// Pairs a desktop till as a counter of this hub with a code from the owner's screen. Needs no key;
/// the code is the displays' one (ten wrong tries in all kill it).
#[utoipa::path(post, path = "/api/v1/counters/pair", tag = "counters", security(()),
    request_body = PairCounterRequest,
    responses((status = 201, body = PairedCounterResponse), (status = 403, body = ErrorBody, description = "pairing_refused: wrong or expired code"),
        (status = 422, body = ErrorBody)))]
pub async fn pair_counter(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PairCounterRequest>,
) -> Result<(StatusCode, Json<PairedCounterResponse>), ApiError> {
    let (device, token) = state
        .core
        .pairing
        .pair(&body.code, &body.name, DeviceKind::Counter)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PairedCounterResponse {
            id: device.id,
            name: device.name,
            token: token.expose().to_string(),
            push_key: state.signer.public_key().to_string(),
        }),
    ))
}

/// Every paired counter, newest first.
#[utoipa::path(get, path = "/api/v1/counters", tag = "counters",
    security(("api_key" = ["admin", "cashier", "viewer"])),
    responses((status = 200, body = CounterList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_counters(State(state): State<AppState>) -> Result<Json<CounterList>, ApiError> {
    let data = state.core.pairing.list(DeviceKind::Counter).await?;
    Ok(Json(CounterList {
        data: data
            .into_iter()
            .map(|d| CounterResponse {
                id: d.id,
                name: d.name,
                paired_at: rfc3339(d.paired_at),
                revoked_at: d.revoked_at.map(rfc3339),
            })
            .collect(),
    }))
}

/// Revokes a counter: its token stops working and its open sockets close. Its sales keep its name.
#[utoipa::path(delete, path = "/api/v1/counters/{counter_id}", tag = "counters",
    params(("counter_id" = String, Path, description = "Counter id")),
    security(("api_key" = ["admin"])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn revoke_counter(
    State(state): State<AppState>,
    Path(counter_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .core
        .pairing
        .revoke(DeviceKind::Counter, &counter_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
