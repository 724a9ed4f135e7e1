//! `GET /metrics`: Prometheus text exposition (format 0.0.4) — payments by status, the block →
//! push latency histogram, chain lag, open sockets, the webhook backlog, API figures. A merchant
//! endpoint: scrape it with the API key as a bearer token when keys are configured.

use std::fmt::Write;

use axum::{
    extract::State, http::header::CONTENT_TYPE, response::IntoResponse, routing::get, Router,
};
use stablepay_core::telemetry::LATENCY_BUCKETS;

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

const STATUSES: [&str; 6] = [
    "pending",
    "confirming",
    "paid",
    "expired",
    "cancelled",
    "failed",
];

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "health", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let core = &state.core;
    let t = &core.telemetry;
    let mut out = String::with_capacity(4096);

    family(
        &mut out,
        "stablepay_payments",
        "gauge",
        "Payments stored, by status.",
    );
    let counts = core.stats.status_counts().await?;
    for status in STATUSES {
        let _ = writeln!(
            out,
            "stablepay_payments{{status=\"{status}\"}} {}",
            counts.get(status).copied().unwrap_or(0)
        );
    }

    family(
        &mut out,
        "stablepay_block_to_push_latency_seconds",
        "histogram",
        "From the watcher learning of a new head to the payment_status_update it caused leaving a socket.",
    );
    let h = t.push_histogram();
    for (bound, n) in LATENCY_BUCKETS.iter().zip(h.buckets) {
        let _ = writeln!(
            out,
            "stablepay_block_to_push_latency_seconds_bucket{{le=\"{bound}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "stablepay_block_to_push_latency_seconds_bucket{{le=\"+Inf\"}} {}",
        h.count
    );
    let _ = writeln!(out, "stablepay_block_to_push_latency_seconds_sum {}", h.sum);
    let _ = writeln!(
        out,
        "stablepay_block_to_push_latency_seconds_count {}",
        h.count
    );

    let links = t.links();
    family(
        &mut out,
        "stablepay_chain_lag_blocks",
        "gauge",
        "Chain head minus the last block the watcher fully processed.",
    );
    for (network, link) in &links {
        let _ = writeln!(
            out,
            "stablepay_chain_lag_blocks{{network=\"{network}\"}} {}",
            link.blocks_behind()
        );
    }
    family(
        &mut out,
        "stablepay_chain_head",
        "gauge",
        "Newest block seen.",
    );
    for (network, link) in &links {
        let _ = writeln!(
            out,
            "stablepay_chain_head{{network=\"{network}\"}} {}",
            link.head
        );
    }
    family(
        &mut out,
        "stablepay_chain_connected",
        "gauge",
        "1 when the network's node answers or its subscriptions are live.",
    );
    for (network, link) in &links {
        let _ = writeln!(
            out,
            "stablepay_chain_connected{{network=\"{network}\"}} {}",
            u8::from(link.is_connected)
        );
    }
    family(
        &mut out,
        "stablepay_chain_reorgs_total",
        "counter",
        "Reorgs detected since start.",
    );
    for (network, link) in &links {
        let _ = writeln!(
            out,
            "stablepay_chain_reorgs_total{{network=\"{network}\"}} {}",
            link.reorgs
        );
    }

    let sockets = t.sockets();
    family(
        &mut out,
        "stablepay_websocket_connections",
        "gauge",
        "Open payment and display sockets.",
    );
    let _ = writeln!(
        out,
        "stablepay_websocket_connections {}",
        sockets.active_connections
    );
    family(
        &mut out,
        "stablepay_websocket_connections_total",
        "counter",
        "Sockets accepted since start.",
    );
    let _ = writeln!(
        out,
        "stablepay_websocket_connections_total {}",
        sockets.total_connections
    );

    family(
        &mut out,
        "stablepay_webhook_backlog",
        "gauge",
        "Webhook deliveries waiting to be delivered.",
    );
    let backlog = core.stats.webhook_backlog().await?;
    let _ = writeln!(out, "stablepay_webhook_backlog {backlog}");

    let api = t.api();
    family(
        &mut out,
        "stablepay_http_requests_total",
        "counter",
        "API requests answered since start.",
    );
    let _ = writeln!(out, "stablepay_http_requests_total {}", api.requests);
    family(
        &mut out,
        "stablepay_http_server_errors_total",
        "counter",
        "API responses with status >= 500 since start.",
    );
    let _ = writeln!(
        out,
        "stablepay_http_server_errors_total {}",
        api.server_errors
    );
    family(
        &mut out,
        "stablepay_alerts_active",
        "gauge",
        "Active alerts.",
    );
    let _ = writeln!(
        out,
        "stablepay_alerts_active {}",
        core.alerts.active().await.len()
    );
    family(
        &mut out,
        "stablepay_uptime_seconds",
        "gauge",
        "Seconds since start.",
    );
    let _ = writeln!(out, "stablepay_uptime_seconds {}", t.uptime().as_secs());

    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    ))
}
