//! The customer display channel. The cashier's screen (or an integrator) says which payment the
//! customer screen shows with `PUT /api/v1/display`; customer screens follow `/ws/display`, which
//! sends a `display_update` at once and on every change (mode `idle`, `payment` or `success`, the
//! payment, the shop name), answers `ping` with `pong` and sends a heartbeat. Every message is
//! signed ([`crate::signing`]): the display draws the QR code from the signed payment only.
//!
//! `GET /display` and the socket need the `display` permission (a paired display, a cashier, an
//! admin); `PUT /display` is the cashier's (`sell`). The socket takes a ticket (`?ticket=`, see
//! [`crate::auth`]). Payments on the display are shown as a customer sees them (no metadata, no
//! order reference).

use axum::{
    extract::{
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
        State,
    },
    response::Response,
    routing::{get, put},
    Json, Router,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use stablepay_core::{display::DisplayState, payments::PaymentId, telemetry::Direction};

use crate::{
    auth::{Caller, Permission, Require},
    dto::display::{DisplayResponse, ShowRequest},
    error::{ApiError, ErrorBody},
    extract::ApiJson,
    protocol::{ClientMessage, MessageBudget},
    routes::ws::{
        flood_close, log_message, now, upgrade_merchant, MerchantSocket, SocketSlot, CLOSE_POLICY,
        HEARTBEAT, SEND_TIMEOUT,
    },
    state::AppState,
};

/// REST routes.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/display",
        get(current)
            .route_layer(Require(Permission::Display))
            .merge(put(show).route_layer(Require(Permission::Sell))),
    )
}

/// The socket route.
pub fn socket_router() -> Router<AppState> {
    Router::new().route("/ws/display", get(display_socket))
}

/// What the customer display shows now.
#[utoipa::path(get, path = "/api/v1/display", tag = "display", security(("api_key" = ["admin", "cashier", "display"])),
    responses((status = 200, body = DisplayResponse), (status = 401, body = ErrorBody)))]
pub async fn current(State(state): State<AppState>) -> Json<DisplayResponse> {
    Json(DisplayResponse::from(&state.core.display.current()))
}

/// Shows a payment on the customer display, or the idle screen.
#[utoipa::path(put, path = "/api/v1/display", tag = "display", security(("api_key" = ["admin", "cashier"])), request_body = ShowRequest,
    responses((status = 200, body = DisplayResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ShowRequest>,
) -> Result<Json<DisplayResponse>, ApiError> {
    let id = body
        .payment_id
        .as_deref()
        .map(PaymentId::parse)
        .transpose()?;
    let shown = state.core.display.show(id.as_ref()).await?;
    Ok(Json(DisplayResponse::from(&shown)))
}

fn update(state: &DisplayState) -> Value {
    json!({ "type": "display_update", "data": DisplayResponse::from(state), "timestamp": now() })
}

async fn display_socket(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    socket: MerchantSocket,
) -> Response {
    upgrade_merchant(ws, state, socket, Permission::Display, serve)
}

async fn serve(socket: WebSocket, state: AppState, _slot: SocketSlot, caller: Caller) {
    const CHANNEL: &str = "display";
    let telemetry = state.core.telemetry.clone();
    let (mut tx, mut rx) = socket.split();
    let mut changes = state.core.display.subscribe();
    // A paired display's socket closes the moment the display is revoked.
    let mut revocations = state.core.pairing.revocations();
    let device = caller.device.clone();
    telemetry.socket_opened(CHANNEL);
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut budget = MessageBudget::default();
    heartbeat.tick().await;
    let mut silent_beats = 0u32;
    let mut outgoing = Some(update(&changes.borrow_and_update()));
    let mut failed = false;
    loop {
        if let Some(message) = outgoing.take() {
            log_message(&telemetry, None, Direction::Out, &message);
            let sent = tokio::time::timeout(
                SEND_TIMEOUT,
                tx.send(Message::Text(Utf8Bytes::from(state.signer.sign(message)))),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                failed = true;
                break;
            }
        }
        outgoing = tokio::select! {
            changed = changes.changed() => match changed {
                Ok(()) => Some(update(&changes.borrow_and_update())),
                Err(_) => break,
            },
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) if !budget.spend() => {
                    let _ = tokio::time::timeout(SEND_TIMEOUT, tx.send(flood_close())).await;
                    failed = true;
                    break;
                }
                Some(Ok(Message::Text(text))) => {
                    silent_beats = 0;
                    match ClientMessage::parse(&text) {
                        ClientMessage::Ping(_) => Some(json!({ "type": "pong", "timestamp": now() })),
                        _ => None,
                    }
                }
                Some(Err(_)) => { failed = true; break }
                Some(Ok(_)) => { silent_beats = 0; None }
            },
            _ = heartbeat.tick() => {
                silent_beats += 1;
                if silent_beats > 3 { failed = true; break }
                Some(json!({ "type": "ping", "timestamp": now() }))
            }
            revoked = revocations.recv(), if device.is_some() => match revoked {
                Ok(id) if Some(id.as_str()) == device.as_deref() => {
                    let close = Message::Close(Some(CloseFrame {
                        code: CLOSE_POLICY,
                        reason: Utf8Bytes::from_static("display revoked"),
                    }));
                    let _ = tokio::time::timeout(SEND_TIMEOUT, tx.send(close)).await;
                    break;
                }
                _ => None,
            },
        };
    }
    telemetry.socket_closed(CHANNEL, failed);
}
