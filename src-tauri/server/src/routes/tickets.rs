//! What a screen needs to open a socket and to trust what it says.
//!
//! - `POST /api/v1/socket-tickets`: a single-use ticket for one merchant socket (`/ws/display`,
//!   `/ws/monitor`), valid for a minute. Browsers cannot send headers on a WebSocket, and a key
//!   must not travel in a URL (it ends up in logs and histories), so a screen asks for a ticket
//!   with its key and opens the socket with `?ticket=`. The ticket carries the caller's role.
//! - `GET /api/v1/push-key`: the public key that signs every display and payment socket message
//!   ([`crate::signing`]). Public; a paired display pins the copy it got when pairing instead.

use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Extension, Json, Router,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    auth::{Caller, TICKET_LIFETIME},
    error::{ApiError, ErrorBody},
    state::AppState,
};

/// The routes: tickets for any caller with a role, the push key for anyone.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/socket-tickets", post(issue))
        .route("/push-key", get(push_key))
}

/// The key socket messages are signed with.
#[derive(Debug, Serialize, ToSchema)]
pub struct PushKeyResponse {
    /// Always `ed25519`.
    pub algorithm: &'static str,
    /// The 32-byte public key, lower-case hex.
    pub public_key: String,
}

/// The public key that signs every message on `/ws/display` and `/ws/payments/{id}`: each
/// message's `signature` is the Ed25519 signature (hex) of the message without `signature`, as
/// canonical JSON (members sorted by name, no whitespace).
#[utoipa::path(get, path = "/api/v1/push-key", tag = "auth", security(()),
    responses((status = 200, body = PushKeyResponse)))]
pub async fn push_key(State(state): State<AppState>) -> Json<PushKeyResponse> {
    Json(PushKeyResponse {
        algorithm: "ed25519",
        public_key: state.signer.public_key().to_string(),
    })
}

/// A socket ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketResponse {
    /// Pass as `?ticket=` when opening the socket.
    pub ticket: String,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

/// A ticket for one merchant socket, standing for the caller (its role) for a minute.
#[utoipa::path(post, path = "/api/v1/socket-tickets", tag = "auth",
    responses((status = 201, body = TicketResponse), (status = 401, body = ErrorBody)),
    security(("api_key" = ["admin", "cashier", "viewer", "display"])))]
pub async fn issue(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<(StatusCode, Json<TicketResponse>), ApiError> {
    caller.known()?;
    Ok((
        StatusCode::CREATED,
        Json(TicketResponse {
            ticket: state.keys.issue_ticket(&caller),
            expires_in: TICKET_LIFETIME.as_secs(),
        }),
    ))
}
