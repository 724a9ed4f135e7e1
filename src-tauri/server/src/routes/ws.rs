//! `/ws/payments/{paymentId}`: live status of one payment (seed §12). Unknown id → an `error`
//! message and close. Otherwise `connection_ack` with the current payment (as a customer sees it),
//! then a `payment_status_update` on every change, naming its `event`. Every message is signed
//! ([`crate::signing`]): a screen that pinned the server's key can tell whether the payment it
//! shows is the server's. Heartbeat, slow readers and floods: [`crate::socket`].
//!
//! Each socket has its own subscription to that payment's events: a socket that falls behind lags
//! only itself and refetches the payment.

use axum::{
    extract::{ws::WebSocket, Path, State, WebSocketUpgrade},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde_json::{json, Value};
use stablepay_core::{
    events::{PaymentEventKind, PaymentSubscription},
    payments::{Payment, PaymentId, PaymentStatus},
    telemetry::Direction,
};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    dto::payments::PaymentResponse,
    guard::ClientIp,
    protocol::ClientMessage,
    socket::{self, Conversation, Feed, Push, SocketSlot, CLOSE_POLICY},
    state::AppState,
};

/// WebSocket routes (public: the payment id is the credential).
pub fn router() -> Router<AppState> {
    Router::new().route("/ws/payments/{payment_id}", get(payment_socket))
}

/// The seed's `payment_status_update` message; `event` names what happened when known
/// (`payment.confirming`, `payment.paid`, `payment.reverted`, `payment.progress`, …).
fn status_update(p: &Payment, event: Option<&str>, now: String) -> Value {
    let mut message = json!({
        "type": "payment_status_update",
        "paymentId": p.id.to_string(),
        "data": status_data(p),
        // Beyond the seed: the whole payment as a customer may see it, so a client needs no refetch.
        "payment": PaymentResponse::for_customer(p),
        "timestamp": now,
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

async fn payment_socket(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    ClientIp(ip): ClientIp,
) -> Response {
    match socket::slot_for(&state, ip) {
        Ok(slot) => {
            socket::sized(ws).on_upgrade(move |socket| serve(socket, state, payment_id, slot))
        }
        Err(refused) => refused.into_response(),
    }
}

/// One payment's events, as a socket sends them.
struct PaymentFeed {
    state: AppState,
    id: PaymentId,
    id_text: String,
    network: String,
    talk: Conversation,
    events: PaymentSubscription,
    /// The message being sent was caused by the chain.
    from_chain: bool,
}

impl Feed for PaymentFeed {
    async fn next(&mut self) -> Push {
        loop {
            match self.events.recv().await {
                Ok(e) if matches!(e.kind, PaymentEventKind::Created) => continue,
                Ok(e) => {
                    self.from_chain = chain_driven(&e.kind, &e.payment);
                    let name = e.kind.event_type(&e.payment);
                    return Push::Send(status_update(
                        &e.payment,
                        Some(name.as_str()),
                        self.talk.now(),
                    ));
                }
                // This socket fell behind the stream: send the current state instead of what it missed.
                Err(RecvError::Lagged(_)) => {
                    if let Ok(p) = self.state.core.payments.get(&self.id).await {
                        return Push::Send(status_update(&p, None, self.talk.now()));
                    }
                }
                Err(RecvError::Closed) => return Push::End,
            }
        }
    }

    fn heard(&mut self, message: &ClientMessage) -> Option<Value> {
        self.talk.log(
            &self.state.core.telemetry,
            Some(&self.id_text),
            Direction::In,
            &message.logged(),
        );
        match message {
            ClientMessage::Unknown(_) | ClientMessage::Invalid(_) => Some(socket::error_message(
                self.talk.now(),
                "unknown_message",
                "send {\"type\":\"ping\"} or {\"type\":\"pong\"}",
            )),
            ClientMessage::Ping(_) | ClientMessage::Pong(_) => None,
        }
    }

    fn sent(&mut self, message: &Value) {
        let telemetry = &self.state.core.telemetry;
        self.talk
            .log(telemetry, Some(&self.id_text), Direction::Out, message);
        if std::mem::take(&mut self.from_chain) {
            telemetry.chain_push_sent(&self.network);
        }
    }
}

async fn serve(socket: WebSocket, state: AppState, payment_id: String, _slot: SocketSlot) {
    let telemetry = state.core.telemetry.clone();
    let talk = Conversation::of(&state, true);
    let found = match PaymentId::parse(&payment_id) {
        // Subscribe before reading, so no change between the read and the subscription is missed.
        Ok(id) => {
            let events = state.core.events.subscribe_payment(&id);
            state.core.payments.get(&id).await.map(|p| (id, events, p))
        }
        Err(e) => Err(e),
    };
    let (id, events, payment) = match found {
        Ok(found) => found,
        Err(e) => {
            telemetry.socket_refused();
            let message = socket::error_message(talk.now(), e.code(), &e.to_string());
            talk.log(&telemetry, None, Direction::Out, &message);
            talk.refuse(socket, message, CLOSE_POLICY, "payment_not_found")
                .await;
            return;
        }
    };
    let id_text = id.to_string();
    telemetry.socket_opened(talk.about(Some(&id_text)));
    let ack = json!({
        "type": "connection_ack",
        "paymentId": id_text,
        "sessionId": talk.session(),
        "connection": talk.connection_info(),
        "data": status_data(&payment),
        "payment": PaymentResponse::for_customer(&payment),
        "timestamp": talk.now(),
    });
    let mut feed = PaymentFeed {
        network: payment.network.to_string(),
        state,
        id,
        id_text: id_text.clone(),
        talk: talk.clone(),
        events,
        from_chain: false,
    };
    let ending = talk.run(socket, ack, &mut feed).await;
    telemetry.socket_closed(talk.about(Some(&id_text)), ending.failed());
}
