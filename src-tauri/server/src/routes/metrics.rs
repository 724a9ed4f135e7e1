//! `GET /metrics`: OpenMetrics text (what Prometheus scrapes), written by `prometheus-client` from the same
//! telemetry and store figures the JSON stats read — payments by status, the block → push latency
//! histogram, chain lag, open sockets, the webhook backlog, API figures. A merchant endpoint:
//! scrape it with the API key as a bearer token when keys are configured.
//!
//! Every series carries a `replica` label (this server's name among a hub's replicas).
//!
//! Each scrape builds a fresh registry from the figures of that moment (the figures are the
//! telemetry's; nothing here keeps state of its own).

use axum::{
    extract::State, http::header::CONTENT_TYPE, response::IntoResponse, routing::get, Router,
};
use prometheus_client::{
    encoding::{text::encode, EncodeMetric, MetricEncoder, NoLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, MetricType, TypedMetric},
    registry::Registry,
};
use stablepay_core::{
    payments::PaymentStatus,
    telemetry::{HistogramData, LATENCY_BUCKETS},
};

use crate::{
    auth::{Permission, Require},
    error::ApiError,
    state::AppState,
};

/// The route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route_layer(Require(Permission::Monitor))
}

type Labels = Vec<(&'static str, String)>;

/// The telemetry's latency histogram (cumulative buckets, kept by the core) as a Prometheus one.
#[derive(Debug)]
struct Latency(HistogramData);

impl TypedMetric for Latency {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Latency {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // The encoder sums buckets itself: hand it each bucket's own count, +Inf last.
        let mut below = 0;
        let mut buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
            .iter()
            .zip(self.0.buckets)
            .map(|(bound, cumulative)| {
                let own = cumulative - below;
                below = cumulative;
                (*bound, own)
            })
            .collect();
        buckets.push((f64::MAX, self.0.count - below));
        encoder.encode_histogram::<NoLabelSet>(self.0.sum, self.0.count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

fn gauge(value: u64) -> Gauge {
    let g = Gauge::default();
    g.set(i64::try_from(value).unwrap_or(i64::MAX));
    g
}

fn counter(value: u64) -> Counter {
    let c = Counter::default();
    c.inc_by(value);
    c
}

/// Per-network gauges of the watchers' view.
fn per_network(
    links: &std::collections::BTreeMap<String, stablepay_core::telemetry::LinkStats>,
    value: impl Fn(&stablepay_core::telemetry::LinkStats) -> u64,
) -> Family<Labels, Gauge> {
    let family = Family::<Labels, Gauge>::default();
    for (network, link) in links {
        family
            .get_or_create(&vec![("network", network.clone())])
            .set(i64::try_from(value(link)).unwrap_or(i64::MAX));
    }
    family
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "health", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, description = "OpenMetrics text format", content_type = "application/openmetrics-text")))]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let core = &state.core;
    let t = &core.telemetry;
    let counts = core.stats.status_counts().await?;
    let backlog = core.stats.webhook_backlog().await?;
    let alerts = core.alerts.active().await.len() as u64;
    let links = t.links();
    let sockets = t.sockets();
    let api = t.api();

    // Every series names the replica it comes from (a hub's servers are scraped one by one); the
    // payment counts come from the shared database, so every replica reports the same.
    let mut r = Registry::with_labels(
        [("replica".into(), core.replica.name().to_string().into())].into_iter(),
    );
    r.register(
        "stablepay_replica_leader",
        "1 while this server runs the watchers, the expiry sweep and the webhook outbox",
        gauge(u64::from(core.replica.is_leader())),
    );
    let payments = Family::<Labels, Gauge>::default();
    for status in PaymentStatus::ALL {
        let n = counts.get(status.as_str()).copied().unwrap_or(0);
        payments
            .get_or_create(&vec![("status", status.as_str().to_string())])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    r.register("stablepay_payments", "Payments stored, by status", payments);
    r.register(
        "stablepay_block_to_push_latency_seconds",
        "From the watcher learning of a new head to the payment_status_update it caused leaving a socket",
        Latency(t.push_histogram()),
    );
    register_chain(&mut r, &links);
    r.register(
        "stablepay_websocket_connections",
        "Open payment and display sockets",
        gauge(sockets.active_connections),
    );
    r.register(
        "stablepay_websocket_connections_accepted",
        "Sockets accepted since start",
        counter(sockets.total_connections),
    );
    r.register(
        "stablepay_webhook_backlog",
        "Webhook deliveries waiting to be delivered",
        gauge(backlog),
    );
    r.register(
        "stablepay_http_requests",
        "API requests answered since start",
        counter(api.requests),
    );
    r.register(
        "stablepay_http_server_errors",
        "API responses with status >= 500 since start",
        counter(api.server_errors),
    );
    r.register("stablepay_alerts_active", "Active alerts", gauge(alerts));
    r.register(
        "stablepay_uptime_seconds",
        "Seconds since start",
        gauge(t.uptime().as_secs()),
    );

    let mut out = String::with_capacity(4096);
    encode(&mut out, &r).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    ))
}

/// The per-network chain figures: lag, head, connection, reorgs.
fn register_chain(
    r: &mut Registry,
    links: &std::collections::BTreeMap<String, stablepay_core::telemetry::LinkStats>,
) {
    r.register(
        "stablepay_chain_lag_blocks",
        "Chain head minus the last block the watcher fully processed",
        per_network(links, |l| l.blocks_behind()),
    );
    r.register(
        "stablepay_chain_head",
        "Newest block seen",
        per_network(links, |l| l.head),
    );
    r.register(
        "stablepay_chain_connected",
        "1 when the network's node answers or its subscriptions are live",
        per_network(links, |l| u64::from(l.is_connected)),
    );
    let reorgs = Family::<Labels, Counter>::default();
    for (network, link) in links {
        reorgs
            .get_or_create(&vec![("network", network.clone())])
            .inc_by(link.reorgs);
    }
    r.register(
        "stablepay_chain_reorgs",
        "Reorgs detected since start",
        reorgs,
    );
}
