//! `/ws/payments/{paymentId}`: live status of one payment (seed §12). Unknown id → an `error`
//! message and close. Otherwise `connection_ack` with the current payment, then a
//! `payment_status_update` on every change, `ping`/`pong` both ways and a server heartbeat.
//!
//! Every message is signed ([`crate::signing`]): a screen that pinned the server's key can tell
//! whether the payment it shows is the server's.
//!
//! Each socket has its own subscription to the core's event stream: a socket that falls behind
//! lags only itself and refetches the payment; a client that stops reading is dropped when a send
//! has not completed within [`SEND_TIMEOUT`], so nothing is buffered without bound.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
        FromRequestParts, Path, Query, State,
    },
    http::request::Parts,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use chrono::{SecondsFormat, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use stablepay_core::{
    events::PaymentEventKind,
    payments::{Payment, PaymentId, PaymentStatus},
    telemetry::{Direction, Telemetry},
};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    auth::{Caller, Permission},
    dto::payments::PaymentResponse,
    error::ApiError,
    guard::ClientIp,
    protocol::{ClientMessage, MessageBudget},
    state::AppState,
};

/// A send that takes longer means the client stopped reading.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Server heartbeat; a client silent for three of these is dropped.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(30);
/// Largest message a client may send.
pub(crate) const MAX_CLIENT_MESSAGE: usize = 4096;
/// Close code for "try again later" (RFC 6455 registry: 1013).
pub(crate) const CLOSE_TRY_AGAIN_LATER: u16 = 1013;
/// Close code for "policy violation" (1008), used for unknown ids.
pub(crate) const CLOSE_POLICY: u16 = 1008;

/// Buffers per socket. Messages are small (a status update is ~300 bytes), so the defaults (128 KiB
/// each way) would only cost memory: with these a socket costs a few KiB and 10,000 fit in RAM.
const READ_BUFFER: usize = 4 * 1024;
const WRITE_BUFFER: usize = 4 * 1024;

/// Applies the message size limit and the small buffers to an upgrade.
fn sized(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
}

/// Open sockets, per client IP and in total.
#[derive(Debug)]
pub struct SocketLimits {
    per_ip: usize,
    total: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl SocketLimits {
    /// At most `per_ip` sockets from one address and `total` in all.
    pub fn new(per_ip: usize, total: usize) -> Self {
        Self {
            per_ip,
            total,
            open: Mutex::default(),
        }
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        self.open.lock().expect("lock").values().sum()
    }

    pub(crate) fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<SocketSlot> {
        let mut open = self.open.lock().expect("lock");
        let total: usize = open.values().sum();
        let mine = open.entry(ip).or_default();
        if *mine >= self.per_ip || total >= self.total {
            return None;
        }
        *mine += 1;
        Some(SocketSlot {
            limits: self.clone(),
            ip,
        })
    }
}

/// A held place; released on drop.
#[derive(Debug)]
pub(crate) struct SocketSlot {
    limits: Arc<SocketLimits>,
    ip: IpAddr,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().expect("lock");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// `?ticket=` on merchant sockets: browsers cannot send headers on a WebSocket, and a key must not
/// travel in a URL, so a socket presents a single-use ticket from `POST /api/v1/socket-tickets`.
#[derive(Debug, serde::Deserialize)]
pub struct MerchantSocketQuery {
    /// A ticket from `POST /api/v1/socket-tickets` (not needed with an `Authorization` header, or
    /// when the server has no keys and the socket comes from this computer).
    pub ticket: Option<String>,
}

/// Accepts a merchant socket: checks the caller (its ticket, else its headers) for `permission`
/// and the socket limits (counting refusals), then upgrades and runs `serve` with the held slot.
pub(crate) fn upgrade_merchant<F, Fut>(
    ws: WebSocketUpgrade,
    state: AppState,
    socket: MerchantSocket,
    permission: Permission,
    serve: F,
) -> Response
where
    F: FnOnce(WebSocket, AppState, SocketSlot, Caller) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let caller = match socket.query.ticket.as_deref() {
        Some(ticket) => state.keys.redeem_ticket(ticket),
        None => Some(socket.caller),
    };
    let caller = match caller
        .ok_or(ApiError::Unauthorized)
        .and_then(|c| c.check(permission).map(|()| c))
    {
        Ok(c) => c,
        Err(e) => {
            state.core.telemetry.socket_refused();
            return e.into_response();
        }
    };
    let Some(slot) = state.sockets.acquire(socket.ip) else {
        state.core.telemetry.socket_refused();
        return ApiError::RateLimited {
            retry_after_secs: 5,
        }
        .into_response();
    };
    sized(ws).on_upgrade(move |socket| serve(socket, state, slot, caller))
}

/// Who opens a merchant socket: its query, the caller its headers identify, its address.
#[derive(Debug)]
pub(crate) struct MerchantSocket {
    query: MerchantSocketQuery,
    caller: Caller,
    ip: std::net::IpAddr,
}

impl FromRequestParts<AppState> for MerchantSocket {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Query(query) = Query::<MerchantSocketQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::InvalidQuery(e.body_text()))?;
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::Unauthorized)?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(std::net::IpAddr::from([127, 0, 0, 1])));
        Ok(Self { query, caller, ip })
    }
}

/// WebSocket routes (public: the payment id is the credential).
pub fn router() -> Router<AppState> {
    Router::new().route("/ws/payments/{payment_id}", get(payment_socket))
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The seed's `payment_status_update` message; `event` names what happened when known
/// (`payment.confirming`, `payment.paid`, `payment.reverted`, `payment.progress`, …).
pub fn status_update(p: &Payment, event: Option<&str>) -> Value {
    let mut message = json!({
        "type": "payment_status_update",
        "paymentId": p.id.to_string(),
        "data": status_data(p),
        "timestamp": now(),
    });
    if let Some(event) = event {
        message["event"] = json!(event);
    }
    message
}

fn status_data(p: &Payment) -> Value {
    json!({
        "status": p.status.as_str(),
        "transactionHash": p.transaction_hash,
        "blockNumber": p.block_number,
        "confirmations": p.confirmations,
        "amount": p.amount.to_decimal_string(2),
        "token": p.token.as_str(),
    })
}

/// The close frame for a client that sends too many messages.
pub(crate) fn flood_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: CLOSE_POLICY,
        reason: Utf8Bytes::from_static("too many messages"),
    }))
}

pub(crate) fn error_message(code: &str, message: &str) -> Value {
    json!({ "type": "error", "error": { "code": code, "message": message }, "timestamp": now() })
}

async fn payment_socket(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    ClientIp(ip): ClientIp,
) -> Response {
    let Some(slot) = state.sockets.acquire(ip) else {
        state.core.telemetry.socket_refused();
        return ApiError::RateLimited {
            retry_after_secs: 5,
        }
        .into_response();
    };
    sized(ws).on_upgrade(move |socket| serve(socket, state, payment_id, slot))
}

/// Logs an outgoing or incoming message to the telemetry's frontend log.
pub(crate) fn log_message(
    telemetry: &Telemetry,
    payment_id: Option<&str>,
    direction: Direction,
    message: &Value,
) {
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let data = message.get("data").cloned().unwrap_or_else(|| json!({}));
    telemetry.frontend(kind, payment_id, direction, data);
}

/// Whether an event was caused by the chain (its push latency is measured).
fn chain_driven(kind: &PaymentEventKind, payment: &Payment) -> bool {
    match kind {
        PaymentEventKind::Progress => true,
        PaymentEventKind::StatusChanged { .. } => matches!(
            payment.status,
            PaymentStatus::Confirming | PaymentStatus::Paid | PaymentStatus::Pending
        ),
        _ => false,
    }
}

async fn serve(socket: WebSocket, state: AppState, payment_id: String, _slot: SocketSlot) {
    let telemetry = state.core.telemetry.clone();
    let (mut tx, mut rx) = socket.split();
    let signer = state.signer.clone();
    let send = |value: Value| Message::Text(Utf8Bytes::from(signer.sign(value)));
    let subscribed = PaymentId::parse(&payment_id).map(|id| {
        // Subscribe before reading, so no change between the read and the subscription is missed.
        let events = state.core.events.subscribe_payment(&id);
        (id, events)
    });
    let payment = match subscribed {
        Ok((id, events)) => state.core.payments.get(&id).await.map(|p| (id, events, p)),
        Err(e) => Err(e),
    };
    let (id, mut events, payment) = match payment {
        Ok(found) => found,
        Err(e) => {
            telemetry.socket_refused();
            let message = error_message(e.code(), &e.to_string());
            log_message(&telemetry, None, Direction::Out, &message);
            let _ = tokio::time::timeout(SEND_TIMEOUT, tx.send(send(message))).await;
            let close = CloseFrame {
                code: CLOSE_POLICY,
                reason: Utf8Bytes::from_static("payment_not_found"),
            };
            let _ = tokio::time::timeout(SEND_TIMEOUT, tx.send(Message::Close(Some(close)))).await;
            return;
        }
    };
    let id_text = id.to_string();
    let network = payment.network.to_string();
    telemetry.socket_opened(&id_text);
    let ack = json!({
        "type": "connection_ack",
        "paymentId": id_text,
        "data": status_data(&payment),
        "payment": PaymentResponse::for_customer(&payment),
        "timestamp": now(),
    });
    log_message(&telemetry, Some(&id_text), Direction::Out, &ack);
    if tokio::time::timeout(SEND_TIMEOUT, tx.send(send(ack)))
        .await
        .map_or(true, |r| r.is_err())
    {
        telemetry.socket_closed(&id_text, true);
        return;
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    let mut silent_beats = 0u32;
    let mut failed = false;
    let mut budget = MessageBudget::default();
    loop {
        let mut from_chain = false;
        let outgoing = tokio::select! {
            event = events.recv() => match event {
                Ok(e) if !matches!(e.kind, PaymentEventKind::Created) => {
                    from_chain = chain_driven(&e.kind, &e.payment);
                    Some(status_update(&e.payment, Some(&e.kind.name(&e.payment))))
                }
                Ok(_) => None,
                // This socket fell behind the stream: send the current state instead of what it missed.
                Err(RecvError::Lagged(_)) => match state.core.payments.get(&id).await {
                    Ok(p) => Some(status_update(&p, None)),
                    Err(_) => None,
                },
                Err(RecvError::Closed) => break,
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
                    let message = ClientMessage::parse(&text);
                    if let Some(v) = message.json() {
                        log_message(&telemetry, Some(&id_text), Direction::In, v);
                    }
                    match message {
                        ClientMessage::Ping(_) => Some(json!({ "type": "pong", "timestamp": now() })),
                        ClientMessage::Pong(_) => None,
                        ClientMessage::Unknown(_) | ClientMessage::Invalid => Some(error_message("unknown_message", "send {\"type\":\"ping\"} or {\"type\":\"pong\"}")),
                    }
                }
                Some(Err(_)) => { failed = true; break }
                Some(Ok(_)) => { silent_beats = 0; None }
            },
            _ = heartbeat.tick() => {
                silent_beats += 1;
                if silent_beats > 3 {
                    failed = true;
                    break;
                }
                Some(json!({ "type": "ping", "timestamp": now() }))
            }
        };
        if let Some(message) = outgoing {
            log_message(&telemetry, Some(&id_text), Direction::Out, &message);
            match tokio::time::timeout(SEND_TIMEOUT, tx.send(send(message))).await {
                Ok(Ok(())) => {
                    if from_chain {
                        telemetry.chain_push_sent(&network);
                    }
                }
                Ok(Err(_)) => {
                    failed = true;
                    break;
                }
                Err(_) => {
                    tracing::info!(payment = %id, "dropping a WebSocket client that stopped reading");
                    failed = true;
                    let close = CloseFrame {
                        code: CLOSE_TRY_AGAIN_LATER,
                        reason: Utf8Bytes::from_static("client too slow"),
                    };
                    let _ = tokio::time::timeout(
                        Duration::from_millis(100),
                        tx.send(Message::Close(Some(close))),
                    )
                    .await;
                    break;
                }
            }
        }
    }
    telemetry.socket_closed(&id_text, failed);
}
