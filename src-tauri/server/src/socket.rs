//! What every socket shares — `/ws/payments/{id}`, `/ws/display`, `/ws/monitor` — so the rules
//! are written once:
//!
//! - **limits**: open sockets per client address and in total ([`SocketLimits`]; over them: 429);
//!   small buffers and a message size limit ([`sized`]);
//! - **who**: merchant sockets take a single-use ticket or the caller's headers, and the
//!   permission their route needs ([`upgrade_merchant`]);
//! - **the conversation** ([`converse`]): the server's first message, then whatever the socket's
//!   [`Feed`] produces; `ping` answered with `pong`; a server `ping` every `server.socket_heartbeat_ms`,
//!   and a client silent for [`SILENT_BEATS`] of them is dropped (a half-open connection holds
//!   nothing); a client that stops reading — a send not done within [`SEND_TIMEOUT`] — is dropped with
//!   1013, so nothing is buffered without bound; one that sends more than its budget is closed with
//!   1008; every message signed with the server's key when the socket says so ([`crate::signing`]).

use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
        FromRequestParts, Query,
    },
    http::request::Parts,
    response::{IntoResponse, Response},
};
use chrono::SecondsFormat;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use stablepay_core::{
    clock::Clock,
    telemetry::{About, Direction, Telemetry},
};

use crate::{
    auth::{Caller, Permission},
    error::ApiError,
    guard::ClientIp,
    protocol::{ClientMessage, MessageBudget},
    signing::PushSigner,
    state::AppState,
};

/// A send that takes longer means the client stopped reading.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Heartbeats a client may stay silent through before it is dropped.
pub(crate) const SILENT_BEATS: u32 = 3;
/// Largest message a client may send.
pub(crate) const MAX_CLIENT_MESSAGE: usize = 4096;
/// Close code for "try again later" (RFC 6455 registry: 1013): a client too slow to read.
pub(crate) const CLOSE_TRY_AGAIN_LATER: u16 = 1013;
/// Close code for "policy violation" (1008): unknown ids, floods, revoked displays.
pub(crate) const CLOSE_POLICY: u16 = 1008;
/// Close code for "going away" (1001): a client that stopped answering pings.
const CLOSE_GOING_AWAY: u16 = 1001;

/// Buffers per socket. Messages are small (a status update is ~300 bytes), so the defaults (128 KiB
/// each way) would only cost memory: with these a socket costs a few KiB and 10,000 fit in RAM.
const READ_BUFFER: usize = 4 * 1024;
const WRITE_BUFFER: usize = 4 * 1024;

/// Applies the message size limit and the small buffers to an upgrade.
pub(crate) fn sized(ws: WebSocketUpgrade) -> WebSocketUpgrade {
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

    /// A place for one more socket from `ip`, or `None` over a limit.
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

/// A place for a socket from `ip`, or the 429 (counted as a refused socket).
pub(crate) fn slot_for(state: &AppState, ip: IpAddr) -> Result<SocketSlot, ApiError> {
    state.sockets.acquire(ip).ok_or_else(|| {
        state.core.telemetry.socket_refused();
        ApiError::RateLimited {
            retry_after_secs: 5,
        }
    })
}

/// `?ticket=` on merchant sockets: browsers cannot send headers on a WebSocket, and a key must not
/// travel in a URL, so a socket presents a single-use ticket from `POST /api/v1/socket-tickets`.
#[derive(Debug, serde::Deserialize)]
pub struct MerchantSocketQuery {
    /// A ticket from `POST /api/v1/socket-tickets` (not needed with an `Authorization` header, or
    /// when the server has no keys and the socket comes from this computer).
    pub ticket: Option<String>,
}

/// Who opens a merchant socket: its query, the caller its headers identify, its address.
#[derive(Debug)]
pub(crate) struct MerchantSocket {
    query: MerchantSocketQuery,
    caller: Caller,
    ip: IpAddr,
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
            .unwrap_or(ClientIp(IpAddr::from([127, 0, 0, 1])));
        Ok(Self { query, caller, ip })
    }
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
    Fut: Future<Output = ()> + Send + 'static,
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
    let slot = match slot_for(&state, socket.ip) {
        Ok(slot) => slot,
        Err(refused) => return refused.into_response(),
    };
    sized(ws).on_upgrade(move |socket| serve(socket, state, slot, caller))
}

/// What a socket's server side does next.
#[derive(Debug)]
pub(crate) enum Push {
    /// Send this message.
    Send(Value),
    /// Close the socket with this code and reason (not the client's fault).
    Close(u16, &'static str),
    /// The source of messages is gone: end the socket.
    End,
}

/// One socket's own part: what it pushes, and what it makes of what the client says.
pub(crate) trait Feed: Send {
    /// Waits for the next thing to push (raced against the client and the heartbeat, so it must
    /// be cancel-safe: a broadcast receiver is).
    fn next(&mut self) -> impl Future<Output = Push> + Send;

    /// A text message from the client (pings are answered by the conversation itself); returns a
    /// reply, if any.
    fn heard(&mut self, _message: &ClientMessage) -> Option<Value> {
        None
    }

    /// A message was sent (for the message log and latency figures).
    fn sent(&mut self, _message: &Value) {}
}

/// How a conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The client closed it, or the server had nothing more to say.
    Closed,
    /// The client was dropped: silent, too slow, over its budget, or the connection broke.
    Dropped,
}

impl Ending {
    /// Whether the socket ended in failure (for the telemetry).
    pub(crate) fn failed(self) -> bool {
        self == Ending::Dropped
    }
}

/// One socket's settings: its session id, the heartbeat, the clock for timestamps, the signer.
#[derive(Clone)]
pub(crate) struct Conversation {
    session: Arc<str>,
    heartbeat: Duration,
    clock: Arc<dyn Clock>,
    signer: Option<Arc<PushSigner>>,
}

impl Conversation {
    /// A conversation on one of `state`'s sockets, with a fresh session id (`ws_` and 16 hex
    /// digits, from the injected entropy); `signed`: every message carries a signature.
    pub(crate) fn of(state: &AppState, signed: bool) -> Self {
        let mut bytes = [0u8; 8];
        state.core.entropy.fill(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            session: Arc::from(format!("ws_{hex}")),
            heartbeat: state.core.config.server.socket_heartbeat,
            clock: state.core.clock.clone(),
            signer: signed.then(|| state.signer.clone()),
        }
    }

    /// The session id: in `connection_ack` and on every logged message of this socket.
    pub(crate) fn session(&self) -> &str {
        &self.session
    }

    /// What `connection_ack` says about the connection itself (seed §12.2).
    pub(crate) fn connection_info(&self) -> Value {
        json!({
            "sessionId": self.session(),
            "connectedAt": self.now(),
            "heartbeatMs": self.heartbeat.as_millis() as u64,
            "silentBeatsAllowed": SILENT_BEATS,
            "signed": self.signer.is_some(),
            "messageBudget": {
                "messages": crate::protocol::MESSAGE_BURST,
                "windowSeconds": crate::protocol::MESSAGE_WINDOW.as_secs(),
            },
        })
    }

    /// Logs a message of this socket to the frontend log.
    pub(crate) fn log(
        &self,
        telemetry: &Telemetry,
        payment_id: Option<&str>,
        direction: Direction,
        message: &Value,
    ) {
        log_message(telemetry, self.about(payment_id), direction, message);
    }

    /// This socket, about `payment_id`, for the telemetry.
    pub(crate) fn about<'a>(&'a self, payment_id: Option<&'a str>) -> About<'a> {
        About {
            payment_id,
            session_id: Some(self.session()),
        }
    }

    /// The time as socket messages write it (RFC 3339, milliseconds).
    pub(crate) fn now(&self) -> String {
        self.clock
            .now()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    fn text(&self, message: Value) -> Message {
        let text = match &self.signer {
            Some(signer) => signer.sign(message),
            None => message.to_string(),
        };
        Message::Text(Utf8Bytes::from(text))
    }

    /// Sends `message` alone and closes with `code` (a socket refused after the upgrade).
    pub(crate) async fn refuse(
        &self,
        mut socket: WebSocket,
        message: Value,
        code: u16,
        reason: &'static str,
    ) {
        let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(self.text(message))).await;
        let close = Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }));
        let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(close)).await;
    }

    /// Runs the socket: sends `first`, then what `feed` pushes, under the rules of this module.
    pub(crate) async fn run(
        &self,
        socket: WebSocket,
        first: Value,
        feed: &mut impl Feed,
    ) -> Ending {
        let (mut tx, mut rx) = socket.split();
        let mut heartbeat = tokio::time::interval(self.heartbeat);
        heartbeat.tick().await;
        let mut silent_beats = 0u32;
        let mut budget = MessageBudget::default();
        let mut outgoing = Some(first);
        loop {
            if let Some(message) = outgoing.take() {
                let frame = self.text(message.clone());
                match tokio::time::timeout(SEND_TIMEOUT, tx.send(frame)).await {
                    Ok(Ok(())) => feed.sent(&message),
                    Ok(Err(_)) => return Ending::Dropped,
                    Err(_) => {
                        tracing::info!("dropping a WebSocket client that stopped reading");
                        close(&mut tx, CLOSE_TRY_AGAIN_LATER, "client too slow").await;
                        return Ending::Dropped;
                    }
                }
            }
            outgoing = tokio::select! {
                push = feed.next() => match push {
                    Push::Send(message) => Some(message),
                    Push::Close(code, reason) => {
                        close(&mut tx, code, reason).await;
                        return Ending::Closed;
                    }
                    Push::End => return Ending::Closed,
                },
                incoming = rx.next() => match incoming {
                    Some(Ok(Message::Close(_))) | None => return Ending::Closed,
                    Some(Err(_)) => return Ending::Dropped,
                    Some(Ok(_)) if !budget.spend() => {
                        close(&mut tx, CLOSE_POLICY, "too many messages").await;
                        return Ending::Dropped;
                    }
                    Some(Ok(Message::Text(text))) => {
                        silent_beats = 0;
                        let message = ClientMessage::parse(&text);
                        let reply = feed.heard(&message);
                        match message {
                            ClientMessage::Ping(_) => Some(json!({ "type": "pong", "timestamp": self.now() })),
                            _ => reply,
                        }
                    }
                    Some(Ok(_)) => {
                        silent_beats = 0;
                        None
                    }
                },
                _ = heartbeat.tick() => {
                    silent_beats += 1;
                    if silent_beats > SILENT_BEATS {
                        close(&mut tx, CLOSE_GOING_AWAY, "no answer to pings").await;
                        return Ending::Dropped;
                    }
                    Some(json!({ "type": "ping", "timestamp": self.now() }))
                }
            };
        }
    }
}

/// Sends a close frame, waiting a moment at most (the client may not be reading).
async fn close<S>(tx: &mut S, code: u16, reason: &'static str)
where
    S: futures_util::Sink<Message> + Unpin,
{
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }));
    let _ = tokio::time::timeout(Duration::from_millis(100), tx.send(frame)).await;
}

/// The `error` message sockets send.
pub(crate) fn error_message(now: String, code: &str, message: &str) -> Value {
    json!({ "type": "error", "error": { "code": code, "message": message }, "timestamp": now })
}

/// Logs an outgoing or incoming message to the telemetry's frontend log: its `data`, or for an
/// `error` message the error itself (code and words).
pub(crate) fn log_message(
    telemetry: &Telemetry,
    about: About<'_>,
    direction: Direction,
    message: &Value,
) {
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let data = message
        .get("data")
        .or_else(|| message.get("error").filter(|_| kind == "error"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    telemetry.frontend(kind, about, direction, data);
}
