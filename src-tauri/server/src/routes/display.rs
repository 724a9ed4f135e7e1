//! The customer display channel. The cashier's screen (or an integrator) says which payment the
//! customer screen shows with `PUT /api/v1/display`; customer screens follow `/ws/display`, which
//! sends a `display_update` at once and on every change (mode `idle`, `payment` or `success`, the
//! payment, the shop name), answers `ping` with `pong` and sends a heartbeat. Every message is
//! signed ([`crate::signing`]): the display draws the QR code from the signed payment only.
//!
//! Channels ([`stablepay_core::display`]): a counter's key always uses its counter's own channel;
//! any other caller uses the shop's, or a counter's named with `?counter=ctr_…` (a tablet beside
//! that counter) on `GET`, `PUT` and the socket alike.
//!
//! `GET /display` and the socket need the `display` permission (a paired display, a cashier, an
//! admin); `PUT /display` is the cashier's (`sell`). The socket takes a ticket (`?ticket=`, see
//! [`crate::auth`]). Payments on the display are shown as a customer sees them (no metadata, no
//! order reference).

use axum::{
    extract::{
        ws::{WebSocket, WebSocketUpgrade},
        State,
    },
    response::{IntoResponse, Response},
    routing::{get, put},
    Extension, Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use stablepay_core::{
    counters::CounterId,
    display::DisplayState,
    payments::PaymentId,
    telemetry::{Direction, Telemetry},
};
use tokio::sync::{broadcast, watch};

use crate::{
    auth::{Caller, Permission, Require},
    dto::{
        display::{DisplayResponse, ShowRequest},
        payments::counter_query,
    },
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiQuery},
    socket::{
        upgrade_merchant, Conversation, Feed, MerchantSocket, Push, SocketSlot, CLOSE_POLICY,
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

/// Which display channel (see the module documentation).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelQuery {
    /// A counter's channel (`ctr_…`) instead of the shop's; ignored for a counter's own key.
    pub counter: Option<String>,
}

impl ChannelQuery {
    /// The channel named, checked: a counter paired and not revoked.
    fn named(&self, state: &AppState) -> Result<Option<CounterId>, ApiError> {
        let Some(counter) = self.counter.as_deref() else {
            return Ok(None);
        };
        let id = counter_query(counter)?;
        if !state.core.pairing.counter_known(&id) {
            return Err(stablepay_core::CoreError::CounterNotFound.into());
        }
        Ok(Some(id))
    }

    /// The channel of `caller`: its counter's own, else the one named.
    fn of(&self, state: &AppState, caller: &Caller) -> Result<Option<CounterId>, ApiError> {
        match caller.channel() {
            Some(own) => Ok(Some(own)),
            None => self.named(state),
        }
    }
}

/// What the customer display shows now.
#[utoipa::path(get, path = "/api/v1/display", tag = "display", security(("api_key" = ["admin", "cashier", "display"])),
    params(ChannelQuery),
    responses((status = 200, body = DisplayResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn current(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(channel): ApiQuery<ChannelQuery>,
) -> Result<Json<DisplayResponse>, ApiError> {
    let channel = channel.of(&state, &caller)?;
    Ok(Json(DisplayResponse::from(
        &state.core.display.current(channel.as_ref()),
    )))
}

/// Shows a payment on the customer display, or the idle screen.
#[utoipa::path(put, path = "/api/v1/display", tag = "display", security(("api_key" = ["admin", "cashier"])), request_body = ShowRequest,
    params(ChannelQuery),
    responses((status = 200, body = DisplayResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(channel): ApiQuery<ChannelQuery>,
    ApiJson(body): ApiJson<ShowRequest>,
) -> Result<Json<DisplayResponse>, ApiError> {
    let channel = channel.of(&state, &caller)?;
    let id = body
        .payment_id
        .as_deref()
        .map(PaymentId::parse)
        .transpose()?;
    let shown = state
        .core
        .display
        .show(channel.as_ref(), id.as_ref())
        .await?;
    Ok(Json(DisplayResponse::from(&shown)))
}

fn update(state: &DisplayState, now: String) -> Value {
    json!({ "type": "display_update", "data": DisplayResponse::from(state), "timestamp": now })
}

async fn display_socket(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ApiQuery(channel): ApiQuery<ChannelQuery>,
    socket: MerchantSocket,
) -> Response {
    // The counter named is checked now; a counter's own ticket overrides it once redeemed.
    let named = match channel.named(&state) {
        Ok(named) => named,
        Err(e) => return e.into_response(),
    };
    upgrade_merchant(
        ws,
        state,
        socket,
        Permission::Display,
        move |socket, state, slot, caller| serve(socket, state, slot, caller, named),
    )
}

/// What the display shows, as it changes; a paired display's socket closes the moment the display
/// is revoked.
struct DisplayFeed {
    telemetry: Telemetry,
    talk: Conversation,
    changes: watch::Receiver<DisplayState>,
    revocations: broadcast::Receiver<String>,
    device: Option<std::sync::Arc<str>>,
}

impl Feed for DisplayFeed {
    async fn next(&mut self) -> Push {
        loop {
            tokio::select! {
                changed = self.changes.changed() => return match changed {
                    Ok(()) => Push::Send(update(&self.changes.borrow_and_update(), self.talk.now())),
                    Err(_) => Push::End,
                },
                revoked = self.revocations.recv(), if self.device.is_some() => match revoked {
                    Ok(id) if Some(id.as_str()) == self.device.as_deref() => {
                        return Push::Close(CLOSE_POLICY, "display revoked")
                    }
                    Err(broadcast::error::RecvError::Closed) => self.device = None,
                    _ => {}
                },
            }
        }
    }

    fn sent(&mut self, message: &Value) {
        self.talk
            .log(&self.telemetry, None, Direction::Out, message);
    }
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    _slot: SocketSlot,
    caller: Caller,
    named: Option<CounterId>,
) {
    const CHANNEL: &str = "display";
    let talk = Conversation::of(&state, true);
    let channel = caller.channel().or(named);
    let mut changes = state.core.display.subscribe(channel.as_ref());
    let first = update(&changes.borrow_and_update(), talk.now());
    let mut feed = DisplayFeed {
        telemetry: state.core.telemetry.clone(),
        talk: talk.clone(),
        changes,
        revocations: state.core.pairing.revocations(),
        device: caller.device.clone(),
    };
    state
        .core
        .telemetry
        .socket_opened(talk.about(Some(CHANNEL)));
    let ending = talk.run(socket, first, &mut feed).await;
    state
        .core
        .telemetry
        .socket_closed(talk.about(Some(CHANNEL)), ending.failed());
}
