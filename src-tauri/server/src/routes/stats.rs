//! The seed's monitoring API (§11.2, §14.1) and alerts — merchant endpoints. Shapes and key names
//! are the seed's, including its camelCase in the WebSocket figures. Every figure is measured
//! (telemetry, the store, the operating system); see the field docs for units and definitions.

use std::collections::BTreeMap;

use axum::{
    extract::{
        ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
        State,
    },
    response::Response,
    routing::get,
    Json, Router,
};
use chrono::SecondsFormat;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use stablepay_core::{alerts::Alert, stats, store, telemetry::LinkStats};
use tokio::sync::broadcast::error::RecvError;
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::{Caller, Permission, Require},
    error::{ApiError, ErrorBody},
    extract::ApiQuery,
    protocol::{ClientMessage, MessageBudget},
    routes::{
        payments::rfc3339,
        ws::{
            flood_close, now, upgrade_merchant, MerchantSocket, SocketSlot, HEARTBEAT, SEND_TIMEOUT,
        },
    },
    state::AppState,
};

/// Merchant routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stats/payments", get(payments))
        .route("/stats/monitoring", get(monitoring))
        .route("/stats/system", get(system))
        .route("/stats/websocket", get(websocket))
        .route("/stats/websocket/messages", get(messages))
        .route("/alerts", get(alerts))
        .route_layer(Require(Permission::Monitor))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `GET /api/v1/stats/payments`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentStatsResponse {
    /// All payments.
    pub total_payments: u64,
    /// Paid.
    pub successful_payments: u64,
    /// Expired, cancelled or failed.
    pub failed_payments: u64,
    /// Successful ÷ total, percent.
    pub success_rate: f64,
    /// Payments per token (every accepted token listed).
    pub payments_by_token: BTreeMap<String, u64>,
    /// Payments created in the last `24h`, `7d`, `30d`.
    pub payments_by_period: BTreeMap<String, u64>,
    /// Mean seconds from creation to paid.
    pub average_processing_time: f64,
    /// Failed payments by end state and failed manual checks by reason.
    pub failure_reasons: BTreeMap<String, u64>,
    /// Beyond the seed: the last 14 UTC days, oldest first (the dashboard's volume trend).
    pub daily: Vec<DailyVolumeView>,
}

/// Payments created and paid on one UTC day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DailyVolumeView {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Created that day.
    pub created: u64,
    /// Of those, paid.
    pub paid: u64,
}

/// Payment statistics.
#[utoipa::path(get, path = "/api/v1/stats/payments", tag = "stats", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, body = PaymentStatsResponse), (status = 401, body = ErrorBody)))]
pub async fn payments(
    State(state): State<AppState>,
) -> Result<Json<PaymentStatsResponse>, ApiError> {
    let core = &state.core;
    let tokens: Vec<String> = core
        .catalog
        .tokens()
        .await
        .into_iter()
        .map(|t| t.symbol.to_string())
        .collect();
    let now = core.clock.now();
    let s = stats::payment_stats(&core.pool, &tokens, now).await?;
    let daily = stats::daily_volume(&core.pool, 14, now)
        .await?
        .into_iter()
        .map(|d| DailyVolumeView {
            date: d.date,
            created: d.created,
            paid: d.paid,
        })
        .collect();
    Ok(Json(PaymentStatsResponse {
        total_payments: s.total_payments,
        successful_payments: s.successful_payments,
        failed_payments: s.failed_payments,
        success_rate: s.success_rate,
        payments_by_token: s.payments_by_token,
        payments_by_period: s.payments_by_period,
        average_processing_time: s.average_processing_time,
        failure_reasons: s.failure_reasons,
        daily,
    }))
}

/// Node connections, over every endpoint of every watched network.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionCounts {
    /// Endpoints answering (health above 0) plus live WebSocket subscriptions.
    pub active: u64,
    /// Of those, in good health (≥ 75 of 100).
    pub healthy: u64,
    /// Of those, answering but failing now and then.
    pub degraded: u64,
}

/// Chain watching figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockchainMonitoring {
    /// Mean block → `payment_status_update` push latency over recent pushes, milliseconds.
    pub average_latency: f64,
    /// Newest block fully processed (highest over networks).
    pub last_block_processed: u64,
    /// Head minus last processed block (worst network).
    pub blocks_behind: u64,
    /// Transfer logs to the receive address stored (all time).
    pub events_detected: u64,
}

/// Transaction validation figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationPerformance {
    /// Mean milliseconds per validation (manual checks and the watcher's matching).
    pub average_validation_time: f64,
    /// Share of validations that credited a payment, percent (100 when there were none).
    pub validation_success_rate: f64,
}

/// One JSON-RPC endpoint as the watcher judges it (beyond the seed: says plainly when an endpoint
/// cannot serve logs or the finalized block, lags, or was distrusted).
#[derive(Debug, Serialize, ToSchema)]
pub struct RpcEndpointStatus {
    /// Network slug.
    pub network: String,
    /// `scheme://host[:port]#digest` (never a path or key).
    pub endpoint: String,
    /// 0–100.
    pub health: u64,
    /// `ok`, `unverified`, `backing_off`, `lagging`, `wrong_chain` or `untrusted`.
    pub status: String,
    /// Its last head.
    pub head: Option<u64>,
    /// Serves `eth_getLogs`: `unknown`, `served`, `not_served`.
    pub logs: String,
    /// Serves the `finalized` block: `unknown`, `served`, `not_served`, `lost`.
    pub finality: String,
}

/// `GET /api/v1/stats/monitoring`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonitoringResponse {
    /// Node connections.
    pub websocket_connections: ConnectionCounts,
    /// Chain watching.
    pub blockchain_monitoring: BlockchainMonitoring,
    /// Validation.
    pub validation_performance: ValidationPerformance,
    /// Every JSON-RPC endpoint and how it is doing.
    pub rpc_endpoints: Vec<RpcEndpointStatus>,
}

fn capability(c: stablepay_core::chain::rpc::Capability) -> String {
    use stablepay_core::chain::rpc::Capability;
    match c {
        Capability::Unknown => "unknown",
        Capability::Served => "served",
        Capability::NotServed => "not_served",
        Capability::Lost => "lost",
    }
    .into()
}

/// Monitoring figures.
#[utoipa::path(get, path = "/api/v1/stats/monitoring", tag = "stats", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, body = MonitoringResponse), (status = 401, body = ErrorBody)))]
pub async fn monitoring(
    State(state): State<AppState>,
) -> Result<Json<MonitoringResponse>, ApiError> {
    let core = &state.core;
    let (mut active, mut healthy, mut degraded) = (0, 0, 0);
    for rpc in core.chains.values() {
        for (_, health) in rpc.health() {
            if health > 0 {
                active += 1;
                if health >= 75 {
                    healthy += 1;
                } else {
                    degraded += 1;
                }
            }
        }
    }
    let links = core.telemetry.links();
    for link in links.values() {
        if link.active_subscriptions > 0 {
            active += 1;
            healthy += 1;
        }
    }
    let events_detected = stats::transfers_stored(&core.pool).await?;
    let mut rpc_endpoints = Vec::new();
    for (network, rpc) in &core.chains {
        for e in rpc.endpoints() {
            rpc_endpoints.push(RpcEndpointStatus {
                network: network.to_string(),
                endpoint: e.key.to_string(),
                health: e.health,
                status: e.status.into(),
                head: e.head,
                logs: capability(e.logs),
                finality: capability(e.finality),
            });
        }
    }
    rpc_endpoints.sort_by(|a, b| a.network.cmp(&b.network));
    let validation = core.telemetry.validations();
    Ok(Json(MonitoringResponse {
        websocket_connections: ConnectionCounts {
            active,
            healthy,
            degraded,
        },
        blockchain_monitoring: BlockchainMonitoring {
            average_latency: round1(core.telemetry.push_latency().mean_ms),
            last_block_processed: links
                .values()
                .map(|l| l.last_block_processed)
                .max()
                .unwrap_or(0),
            blocks_behind: links
                .values()
                .map(LinkStats::blocks_behind)
                .max()
                .unwrap_or(0),
            events_detected,
        },
        validation_performance: ValidationPerformance {
            average_validation_time: round1(validation.mean_ms),
            validation_success_rate: if validation.count == 0 {
                100.0
            } else {
                round1(100.0 - validation.flagged_percent)
            },
        },
        rpc_endpoints,
    }))
}

/// `GET /api/v1/stats/system`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SystemResponse {
    /// Seconds since the server started.
    pub uptime: u64,
    /// Machine CPU use, percent.
    pub cpu_usage: f64,
    /// Machine memory in use, percent.
    pub memory_usage: f64,
    /// Use of the disk holding the database, percent.
    pub disk_usage: f64,
    /// Mean API response time over recent requests, milliseconds.
    pub api_response_time: f64,
    /// Share of recent API requests answered with a server error (≥ 500), percent.
    pub error_rate: f64,
    /// `healthy` or `unhealthy` (a query just ran, or failed).
    pub database_health: String,
    /// `connected`, `disconnected` or `disabled` (no watched network).
    pub blockchain_connection: String,
}

/// System health.
#[utoipa::path(get, path = "/api/v1/stats/system", tag = "stats", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, body = SystemResponse), (status = 401, body = ErrorBody)))]
pub async fn system(State(state): State<AppState>) -> Json<SystemResponse> {
    let core = &state.core;
    let database_ok = store::ping(&core.pool).await.is_ok();
    let links = core.telemetry.links();
    let blockchain_connection = if links.is_empty() {
        if core.config.chain.enabled && !core.chains.is_empty() {
            "disconnected"
        } else {
            "disabled"
        }
    } else if links.values().all(|l| l.is_connected) {
        "connected"
    } else {
        "disconnected"
    };
    let machine = state.system.sample(&core.config.database.path).await;
    let api = core.telemetry.api().recent;
    Json(SystemResponse {
        uptime: core.telemetry.uptime().as_secs(),
        cpu_usage: round1(machine.cpu_percent),
        memory_usage: round1(machine.memory_percent),
        disk_usage: round1(machine.disk_percent),
        api_response_time: round1(api.mean_ms),
        error_rate: round1(api.flagged_percent),
        database_health: if database_ok { "healthy" } else { "unhealthy" }.into(),
        blockchain_connection: blockchain_connection.into(),
    })
}

/// Customer-facing sockets.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FrontendSockets {
    /// Accepted since start.
    pub total_connections: u64,
    /// Open now.
    pub active_connections: u64,
    /// Refused, unknown ids, failed sends, slow clients dropped.
    pub connection_errors: u64,
    /// Sockets opened again for a payment whose earlier socket closed.
    pub reconnect_attempts: u64,
    /// RFC 3339, or null.
    pub last_connection_time: Option<String>,
    /// RFC 3339, or null.
    pub last_disconnection_time: Option<String>,
}

/// The node WebSocket connection (the first watched network).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlockchainSocket {
    /// Subscriptions are live, or (HTTP only) the node answers.
    pub is_connected: bool,
    /// `scheme://host[:port]` of the endpoint in use (paths and keys never shown), or null.
    pub current_endpoint: Option<String>,
    /// WebSocket connection attempts.
    pub total_connection_attempts: u64,
    /// Attempts after the first.
    pub reconnect_attempts: u64,
    /// Live subscriptions (new heads, logs).
    pub active_subscriptions: u64,
    /// RFC 3339, or null.
    pub last_connection_time: Option<String>,
    /// RFC 3339, or null.
    pub last_disconnection_time: Option<String>,
}

/// `GET /api/v1/stats/websocket`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebSocketStatsResponse {
    /// POS, customer display and integrator sockets.
    pub frontend: FrontendSockets,
    /// The chain node connection.
    pub blockchain: BlockchainSocket,
}

/// WebSocket connection figures.
#[utoipa::path(get, path = "/api/v1/stats/websocket", tag = "stats", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, body = WebSocketStatsResponse), (status = 401, body = ErrorBody)))]
pub async fn websocket(State(state): State<AppState>) -> Json<WebSocketStatsResponse> {
    let t = &state.core.telemetry;
    let f = t.sockets();
    let link = t.links().into_values().next().unwrap_or_default();
    Json(WebSocketStatsResponse {
        frontend: FrontendSockets {
            total_connections: f.total_connections,
            active_connections: f.active_connections,
            connection_errors: f.connection_errors,
            reconnect_attempts: f.reconnect_attempts,
            last_connection_time: f.last_connection_time.map(rfc3339),
            last_disconnection_time: f.last_disconnection_time.map(rfc3339),
        },
        blockchain: BlockchainSocket {
            is_connected: link.is_connected,
            current_endpoint: link.current_endpoint,
            total_connection_attempts: link.total_connection_attempts,
            reconnect_attempts: link.reconnect_attempts,
            active_subscriptions: link.active_subscriptions,
            last_connection_time: link.last_connection_time.map(rfc3339),
            last_disconnection_time: link.last_disconnection_time.map(rfc3339),
        },
    })
}

/// `?limit=N` (1–500, default 50).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    /// How many messages, newest first.
    pub limit: Option<u32>,
}

/// One logged message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoggedMessageView {
    /// `frontend` or `blockchain`.
    pub source: String,
    /// Message type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The payment concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// `in` (received by the server) or `out` (sent).
    pub direction: String,
    /// The message's data.
    #[schema(value_type = Object)]
    pub data: Value,
    /// RFC 3339.
    pub timestamp: String,
}

/// `GET /api/v1/stats/websocket/messages`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagesResponse {
    /// Newest first.
    pub messages: Vec<LoggedMessageView>,
    /// How many.
    pub count: usize,
}

/// The WebSocket message log.
#[utoipa::path(get, path = "/api/v1/stats/websocket/messages", tag = "stats", security(("api_key" = ["admin", "viewer"])), params(MessagesQuery),
    responses((status = 200, body = MessagesResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn messages(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<MessagesQuery>,
) -> Result<Json<MessagesResponse>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::InvalidQuery("limit: between 1 and 500".into()));
    }
    let messages: Vec<LoggedMessageView> = state
        .core
        .telemetry
        .messages(limit as usize)
        .into_iter()
        .map(|m| LoggedMessageView {
            source: m.source.as_str().into(),
            kind: m.kind,
            payment_id: m.payment_id,
            direction: m.direction.as_str().into(),
            data: m.data,
            timestamp: m.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        })
        .collect();
    Ok(Json(MessagesResponse {
        count: messages.len(),
        messages,
    }))
}

/// An active alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    /// Stable id (kind, plus `:<network>` for chain alerts, `:<endpoint>` for an endpoint's).
    pub id: String,
    /// `low_success_rate`, `high_error_rate`, `chain_disconnected`, `blocks_behind`,
    /// `inbox_linked_transfers`, `endpoint_wrong_chain`, `endpoint_untrusted`, `logs_unavailable`,
    /// `no_logs_endpoint`, `finality_lost`, `finality_unavailable`, `token_disabled`,
    /// `single_source_settlement`, `clock_skew`.
    pub kind: String,
    /// `warning` or `critical`.
    pub severity: String,
    /// Plain words.
    pub message: String,
    /// Measured value.
    pub value: f64,
    /// Threshold crossed.
    pub threshold: f64,
    /// RFC 3339, when raised.
    pub since: String,
}

impl From<Alert> for AlertView {
    fn from(a: Alert) -> Self {
        Self {
            id: a.id,
            kind: a.kind.into(),
            severity: a.severity.as_str().into(),
            message: a.message,
            value: round1(a.value),
            threshold: a.threshold,
            since: rfc3339(a.since),
        }
    }
}

/// `GET /api/v1/alerts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertsResponse {
    /// Active alerts, oldest first.
    pub alerts: Vec<AlertView>,
    /// How many.
    pub count: usize,
}

/// Active alerts (re-evaluated on request).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "stats", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, body = AlertsResponse), (status = 401, body = ErrorBody)))]
pub async fn alerts(State(state): State<AppState>) -> Result<Json<AlertsResponse>, ApiError> {
    let alerts: Vec<AlertView> = state
        .core
        .alerts
        .evaluate()
        .await?
        .into_iter()
        .map(AlertView::from)
        .collect();
    Ok(Json(AlertsResponse {
        count: alerts.len(),
        alerts,
    }))
}

/// `/ws/monitor`: alerts as they are raised and cleared. It starts with an `alerts` message
/// holding the active set, then sends `alert` messages (`data.state` = `raised` | `cleared`).
/// Needs the `monitor` permission (a ticket: `?ticket=`).
pub fn socket_router() -> Router<AppState> {
    Router::new().route("/ws/monitor", get(monitor_socket))
}

async fn monitor_socket(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    socket: MerchantSocket,
) -> Response {
    upgrade_merchant(ws, state, socket, Permission::Monitor, serve_monitor)
}

async fn serve_monitor(socket: WebSocket, state: AppState, _slot: SocketSlot, _caller: Caller) {
    let (mut tx, mut rx) = socket.split();
    let mut changes = state.core.alerts.subscribe();
    let active: Vec<AlertView> = state
        .core
        .alerts
        .active()
        .await
        .into_iter()
        .map(AlertView::from)
        .collect();
    let mut outgoing =
        Some(json!({ "type": "alerts", "data": { "alerts": active }, "timestamp": now() }));
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut budget = MessageBudget::default();
    heartbeat.tick().await;
    loop {
        if let Some(message) = outgoing.take() {
            let sent = tokio::time::timeout(
                SEND_TIMEOUT,
                tx.send(Message::Text(Utf8Bytes::from(message.to_string()))),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                break;
            }
        }
        outgoing = tokio::select! {
            change = changes.recv() => match change {
                Ok(c) => Some(json!({
                    "type": "alert",
                    "data": { "state": if c.raised { "raised" } else { "cleared" }, "alert": AlertView::from(c.alert) },
                    "timestamp": now(),
                })),
                Err(RecvError::Lagged(_)) => {
                    let active: Vec<AlertView> = state.core.alerts.active().await.into_iter().map(AlertView::from).collect();
                    Some(json!({ "type": "alerts", "data": { "alerts": active }, "timestamp": now() }))
                }
                Err(RecvError::Closed) => break,
            },
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) if !budget.spend() => {
                    let _ = tokio::time::timeout(SEND_TIMEOUT, tx.send(flood_close())).await;
                    break;
                }
                Some(Ok(Message::Text(text))) if matches!(ClientMessage::parse(&text), ClientMessage::Ping(_)) => {
                    Some(json!({ "type": "pong", "timestamp": now() }))
                }
                Some(Ok(_)) => None,
            },
            _ = heartbeat.tick() => Some(json!({ "type": "ping", "timestamp": now() })),
        };
    }
}
