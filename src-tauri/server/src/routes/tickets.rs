//! `POST /api/v1/socket-tickets`: a single-use ticket for one merchant socket (`/ws/display`,
//! `/ws/monitor`), valid for a minute. Browsers cannot send headers on a WebSocket, and a key must
//! not travel in a URL (it ends up in logs and histories), so a screen asks for a ticket with its
//! key and opens the socket with `?ticket=`. The ticket carries the caller's role.

use axum::{extract::State, http::StatusCode, routing::post, Extension, Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    auth::{Caller, TICKET_LIFETIME},
    error::{ApiError, ErrorBody},
    state::AppState,
};

/// The route (any caller with a role).
pub fn router() -> Router<AppState> {
    Router::new().route("/socket-tickets", post(issue))
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
