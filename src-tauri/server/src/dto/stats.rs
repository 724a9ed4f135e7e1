//! The monitoring API on the wire (seed §11.2): payment statistics, node and socket figures,
//! machine readings, the message log and alerts, with the seed's key names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stablepay_core::{alerts::Alert, telemetry::LinkStats};
use utoipa::{IntoParams, ToSchema};

use crate::dto::rfc3339;

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `GET /api/v1/stats/payments`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentStatsResponse {
    /// All payments.
    pub total_payments: u64,
    /// Beyond the seed: pending or confirming, so not in the success rate.
    pub open_payments: u64,
    /// Paid.
    pub successful_payments: u64,
    /// Expired, cancelled or failed.
    pub failed_payments: u64,
    /// Successful ÷ ended (paid + expired + cancelled + failed), percent; 0 when none has ended.
    pub success_rate: f64,
    /// Payments per token (every accepted token listed).
    pub payments_by_token: BTreeMap<String, u64>,
    /// Payments created in the last `24h`, `7d`, `30d`.
    pub payments_by_period: BTreeMap<String, u64>,
    /// Mean seconds from creation to paid.
    pub average_processing_time: f64,
    /// Each failed payment once, by why it failed: `amount_mismatch` (a wrong amount was seen for
    /// it), its last failed manual check's reason, else `expired`, `cancelled` or a failed payment's
    /// reason.
    pub failure_reasons: BTreeMap<String, u64>,
    /// Beyond the seed: failed manual checks by reason, once per payment and reason.
    pub check_failures: BTreeMap<String, u64>,
    /// Beyond the seed: the success rate of each token's ended payments, percent.
    pub success_rate_by_token: BTreeMap<String, f64>,
    /// Beyond the seed: the success rate of ended payments created in the last `24h`, `7d`, `30d`.
    pub success_rate_by_period: BTreeMap<String, f64>,
    /// Beyond the seed: the last 14 UTC days, oldest first (the dashboard's volume trend).
    pub daily: Vec<VolumeView>,
    /// Beyond the seed: the last 12 weeks (Monday to Sunday, UTC), oldest first.
    pub weekly: Vec<VolumeView>,
    /// Beyond the seed: the last 12 calendar months (UTC), oldest first.
    pub monthly: Vec<VolumeView>,
}

/// Payments created and paid in one day, week or month.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolumeView {
    /// The period's first day, `YYYY-MM-DD`.
    pub date: String,
    /// Created in it.
    pub created: u64,
    /// Of those, paid.
    pub paid: u64,
}

impl From<stablepay_core::stats::Volume> for VolumeView {
    fn from(v: stablepay_core::stats::Volume) -> Self {
        Self {
            date: v.date,
            created: v.created,
            paid: v.paid,
        }
    }
}

/// Node connections, over every endpoint of every watched network.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionCounts {
    /// Node connections open now: HTTP endpoints whose latest contact, within a minute, answered,
    /// plus connected WebSocket subscriptions. An endpoint never reached, or whose last call
    /// failed, is not counted.
    pub active: u64,
    /// Of those, in good health (≥ 75 of 100; a WebSocket subscription while connected).
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

pub(crate) fn capability(c: stablepay_core::chain::rpc::Capability) -> String {
    use stablepay_core::chain::rpc::Capability;
    match c {
        Capability::Unknown => "unknown",
        Capability::Served => "served",
        Capability::NotServed => "not_served",
        Capability::Lost => "lost",
    }
    .into()
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
    /// This server among those sharing its database, and who leads.
    pub replica: ReplicaStatus,
}

/// A server among those sharing one database (a hub's replicas on PostgreSQL; on SQLite the one
/// server, which leads).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplicaStatus {
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    /// This server's name (`server.replica`, or the host's name and the process id).
    pub name: String,
    /// Whether this server runs the watchers, the expiry sweep and the webhook outbox now.
    pub leader: bool,
    /// The leading server's name, when one leads.
    pub leader_name: Option<String>,
}

impl ReplicaStatus {
    /// What `core` knows of its replica now.
    pub async fn of(core: &stablepay_core::Core) -> Self {
        let info = core.replica.info().await;
        Self {
            database: match core.backend() {
                stablepay_core::store::Backend::Sqlite => "sqlite",
                stablepay_core::store::Backend::Postgres => "postgres",
            },
            name: info.replica,
            leader: info.leader,
            leader_name: info.leader_name,
        }
    }
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
    /// The chain node connection (the first network's; the seed knows one chain).
    pub blockchain: BlockchainSocket,
    /// Beyond the seed: every watched network's node connection, by network id.
    pub networks: BTreeMap<String, BlockchainSocket>,
}

/// `?limit=N&source=frontend|blockchain`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    /// How many messages of each source, newest first (1–500, default 50): a flood on one side
    /// never pushes the other out.
    pub limit: Option<u32>,
    /// `frontend` (POS, display and integrator sockets) or `blockchain` (node connections);
    /// both when absent.
    pub source: Option<String>,
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
    /// The socket session (its `connection_ack`'s `sessionId`), for frontend messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
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
            kind: a.kind.as_str().into(),
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

impl From<LinkStats> for BlockchainSocket {
    fn from(link: LinkStats) -> Self {
        Self {
            is_connected: link.is_connected,
            current_endpoint: link.current_endpoint,
            total_connection_attempts: link.total_connection_attempts,
            reconnect_attempts: link.reconnect_attempts,
            active_subscriptions: link.active_subscriptions,
            last_connection_time: link.last_connection_time.map(rfc3339),
            last_disconnection_time: link.last_disconnection_time.map(rfc3339),
        }
    }
}

/// `?hours=N` (1–720, default 24).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// How far back, hours.
    pub hours: Option<u32>,
}

/// `GET /api/v1/stats/history`: the figures sampled over time, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryResponse {
    /// One per bucket, oldest first: the samples (one per `server.trend_sample_ms`) averaged over
    /// `bucket_seconds` (the range / 360), so a month is as light to draw as a day.
    pub samples: Vec<TrendSampleView>,
    /// Each point's width.
    pub bucket_seconds: u64,
}

/// One sample of the monitoring figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendSampleView {
    /// RFC 3339.
    pub at: String,
    /// API median response time, ms.
    pub api_p50_ms: f64,
    /// API 95th percentile, ms.
    pub api_p95_ms: f64,
    /// Server errors among recent requests, percent.
    pub api_error_rate: f64,
    /// One database round trip, ms.
    pub db_ms: f64,
    /// Median time of the recent statements and write transactions the app ran, ms.
    pub db_p50_ms: f64,
    /// Their 95th percentile, ms.
    pub db_p95_ms: f64,
    /// Mean block → screen latency, ms.
    pub push_latency_ms: f64,
    /// Machine CPU, percent.
    pub cpu_usage: f64,
    /// Machine memory, percent.
    pub memory_usage: f64,
    /// Open customer-facing sockets.
    pub active_sockets: i64,
    /// Watcher lag, blocks.
    pub blocks_behind: i64,
}

impl From<stablepay_core::trends::TrendSample> for TrendSampleView {
    fn from(s: stablepay_core::trends::TrendSample) -> Self {
        Self {
            at: rfc3339(s.at),
            api_p50_ms: round1(s.api_p50_ms),
            api_p95_ms: round1(s.api_p95_ms),
            api_error_rate: round1(s.api_error_rate),
            db_ms: round1(s.db_ms),
            db_p50_ms: round1(s.db_p50_ms),
            db_p95_ms: round1(s.db_p95_ms),
            push_latency_ms: round1(s.push_latency_ms),
            cpu_usage: round1(s.cpu_usage),
            memory_usage: round1(s.memory_usage),
            active_sockets: s.active_sockets,
            blocks_behind: s.blocks_behind,
        }
    }
}
