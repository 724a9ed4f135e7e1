//! The seed's monitoring API (§11.2, §14.1) and alerts — merchant endpoints. Shapes and key names
//! are the seed's, including its camelCase in the WebSocket figures. Every figure is measured
//! (telemetry, the store, the operating system); see the field docs for units and definitions.

use axum::{
    extract::{
        ws::{WebSocket, WebSocketUpgrade},
        State,
    },
    response::Response,
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};
use stablepay_core::{
    alerts::AlertChange,
    chain::rpc::Connection,
    stats::Period,
    telemetry::{LinkStats, Source},
};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::{
    auth::{Caller, Permission, Require},
    dto::payments::counter_query,
    dto::rfc3339,
    dto::stats::{
        capability, round1, AlertView, AlertsResponse, BlockchainMonitoring, BlockchainSocket,
        ConnectionCounts, FrontendSockets, HistoryQuery, HistoryResponse, LoggedMessageView,
        MessagesQuery, MessagesResponse, MonitoringResponse, PaymentStatsResponse,
        RpcEndpointStatus, SystemResponse, TrendSampleView, ValidationPerformance, VolumeView,
        WebSocketStatsResponse,
    },
    error::{ApiError, ErrorBody},
    extract::ApiQuery,
    socket::{upgrade_merchant, Conversation, Feed, MerchantSocket, Push, SocketSlot},
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
        .route("/stats/history", get(history))
        .route("/alerts", get(alerts))
        .route_layer(Require(Permission::Monitor))
}

/// Which payments the statistics count.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PaymentStatsQuery {
    /// Only the sales of this counter (`ctr_…`).
    pub counter: Option<String>,
}

/// Payment statistics (of one counter's sales with `?counter=`).
#[utoipa::path(get, path = "/api/v1/stats/payments", tag = "stats", security(("api_key" = ["admin", "viewer"])),
    params(PaymentStatsQuery),
    responses((status = 200, body = PaymentStatsResponse), (status = 401, body = ErrorBody)))]
pub async fn payments(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PaymentStatsQuery>,
) -> Result<Json<PaymentStatsResponse>, ApiError> {
    let core = &state.core;
    let counter = query.counter.as_deref().map(counter_query).transpose()?;
    let counter = counter.as_ref();
    let tokens = core.catalog.symbols().await;
    let now = core.clock.now();
    let s = core.stats.payment_stats(&tokens, now, counter).await?;
    let volume = |period, count| async move {
        let periods = core.stats.volume(period, count, now, counter).await?;
        Ok::<Vec<VolumeView>, ApiError>(periods.into_iter().map(VolumeView::from).collect())
    };
    let (daily, weekly, monthly) = (
        volume(Period::Day, 14).await?,
        volume(Period::Week, 12).await?,
        volume(Period::Month, 12).await?,
    );
    Ok(Json(PaymentStatsResponse {
        total_payments: s.total_payments,
        open_payments: s.open_payments,
        successful_payments: s.successful_payments,
        failed_payments: s.failed_payments,
        success_rate: s.success_rate,
        payments_by_token: s.payments_by_token,
        payments_by_period: s.payments_by_period,
        average_processing_time: s.average_processing_time,
        failure_reasons: s.failure_reasons,
        check_failures: s.check_failures,
        success_rate_by_token: s.success_rate_by_token,
        success_rate_by_period: s.success_rate_by_period,
        daily,
        weekly,
        monthly,
    }))
}

/// Monitoring figures.
#[utoipa::path(get, path = "/api/v1/stats/monitoring", tag = "stats", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, body = MonitoringResponse), (status = 401, body = ErrorBody)))]
pub async fn monitoring(
    State(state): State<AppState>,
) -> Result<Json<MonitoringResponse>, ApiError> {
    let core = &state.core;
    // Open node connections: HTTP endpoints whose latest contact (within a minute) answered, and
    // connected WebSocket subscriptions. Never an endpoint merely at its starting health.
    let (mut healthy, mut degraded) = (0, 0);
    for rpc in core.chains.values() {
        for e in rpc.endpoints() {
            match e.connection {
                Connection::Healthy => healthy += 1,
                Connection::Degraded => degraded += 1,
                Connection::Closed => {}
            }
        }
    }
    let links = core.telemetry.links();
    healthy += links.values().filter(|l| l.is_connected).count() as u64;
    let active = healthy + degraded;
    let events_detected = core.stats.transfers_stored().await?;
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

/// System health.
#[utoipa::path(get, path = "/api/v1/stats/system", tag = "stats", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, body = SystemResponse), (status = 401, body = ErrorBody)))]
pub async fn system(State(state): State<AppState>) -> Json<SystemResponse> {
    let core = &state.core;
    let database_ok = core.database_ok().await;
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
        replica: crate::dto::stats::ReplicaStatus::of(core).await,
    })
}

/// WebSocket connection figures.
#[utoipa::path(get, path = "/api/v1/stats/websocket", tag = "stats", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, body = WebSocketStatsResponse), (status = 401, body = ErrorBody)))]
pub async fn websocket(State(state): State<AppState>) -> Json<WebSocketStatsResponse> {
    let t = &state.core.telemetry;
    let f = t.sockets();
    let links = t.links();
    let first = links.values().next().cloned().unwrap_or_default();
    Json(WebSocketStatsResponse {
        frontend: FrontendSockets {
            total_connections: f.total_connections,
            active_connections: f.active_connections,
            connection_errors: f.connection_errors,
            reconnect_attempts: f.reconnect_attempts,
            last_connection_time: f.last_connection_time.map(rfc3339),
            last_disconnection_time: f.last_disconnection_time.map(rfc3339),
        },
        blockchain: BlockchainSocket::from(first),
        networks: links
            .into_iter()
            .map(|(network, link)| (network, BlockchainSocket::from(link)))
            .collect(),
    })
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
    let source = match q.source.as_deref() {
        None => None,
        Some("frontend") => Some(Source::Frontend),
        Some("blockchain") => Some(Source::Blockchain),
        Some(_) => {
            return Err(ApiError::InvalidQuery(
                "source: frontend or blockchain".into(),
            ))
        }
    };
    let messages: Vec<LoggedMessageView> = state
        .core
        .telemetry
        .messages(source, limit as usize)
        .into_iter()
        .map(|m| LoggedMessageView {
            source: m.source.as_str().into(),
            kind: m.kind,
            payment_id: m.payment_id,
            session_id: m.session_id,
            direction: m.direction.as_str().into(),
            data: m.data,
            timestamp: m.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
        .collect();
    Ok(Json(MessagesResponse {
        count: messages.len(),
        messages,
    }))
}

/// Points in a history answer, whatever its range.
const HISTORY_POINTS: u64 = 360;

/// The monitoring figures sampled over time (kept 30 days): the dashboard's charts.
#[utoipa::path(get, path = "/api/v1/stats/history", tag = "stats", security(("api_key" = ["admin", "viewer"])), params(HistoryQuery),
    responses((status = 200, body = HistoryResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<HistoryResponse>, ApiError> {
    let hours = q.hours.unwrap_or(24);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::InvalidQuery("hours: between 1 and 720".into()));
    }
    let from = state.core.clock.now() - chrono::Duration::hours(i64::from(hours));
    let bucket_seconds = u64::from(hours) * 3600 / HISTORY_POINTS;
    let samples = state
        .core
        .trends
        .since(from, std::time::Duration::from_secs(bucket_seconds))
        .await?;
    Ok(Json(HistoryResponse {
        bucket_seconds,
        samples: samples.into_iter().map(TrendSampleView::from).collect(),
    }))
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

/// Alerts as they are raised and cleared.
struct MonitorFeed {
    state: AppState,
    talk: Conversation,
    changes: broadcast::Receiver<AlertChange>,
}

async fn active_alerts(state: &AppState, now: String) -> Value {
    let active: Vec<AlertView> = state
        .core
        .alerts
        .active()
        .await
        .into_iter()
        .map(AlertView::from)
        .collect();
    json!({ "type": "alerts", "data": { "alerts": active }, "timestamp": now })
}

impl Feed for MonitorFeed {
    async fn next(&mut self) -> Push {
        match self.changes.recv().await {
            Ok(c) => Push::Send(json!({
                "type": "alert",
                "data": { "state": if c.raised { "raised" } else { "cleared" }, "alert": AlertView::from(c.alert) },
                "timestamp": self.talk.now(),
            })),
            // Fell behind: the whole active set instead of what was missed.
            Err(RecvError::Lagged(_)) => {
                Push::Send(active_alerts(&self.state, self.talk.now()).await)
            }
            Err(RecvError::Closed) => Push::End,
        }
    }
}

async fn serve_monitor(socket: WebSocket, state: AppState, _slot: SocketSlot, _caller: Caller) {
    let talk = Conversation::of(&state, false);
    let changes = state.core.alerts.subscribe();
    let first = active_alerts(&state, talk.now()).await;
    let mut feed = MonitorFeed {
        state,
        talk: talk.clone(),
        changes,
    };
    talk.run(socket, first, &mut feed).await;
}
