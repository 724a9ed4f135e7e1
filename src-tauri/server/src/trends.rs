//! The trend sampler: every `server.trend_sample_ms`, the monitoring figures (API times and errors,
//! the database's query times and one round trip, block → screen latency, the machine's load, open sockets, watcher lag)
//! go into the database (`stablepay_core::trends`), for the dashboard's charts.

use stablepay_core::{telemetry::LinkStats, trends::TrendSample};

use crate::state::AppState;

/// Samples until aborted; the first sample after one interval.
pub(crate) async fn run(state: AppState) {
    let every = state.core.config.server.trend_sample;
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let sample = sample(&state).await;
        if let Err(e) = state.core.trends.record(&sample).await {
            tracing::warn!(error = %e, "a trend sample was not kept");
        }
    }
}

async fn sample(state: &AppState) -> TrendSample {
    let core = &state.core;
    let api = core.telemetry.api().recent;
    let machine = state.system.sample(&core.config.database.path).await;
    let queries = core.trends.query_times();
    TrendSample {
        at: core.clock.now(),
        api_p50_ms: api.p50_ms,
        api_p95_ms: api.p95_ms,
        api_error_rate: api.flagged_percent,
        db_ms: core.trends.database_round_trip().await.unwrap_or(-1.0),
        db_p50_ms: queries.p50_ms,
        db_p95_ms: queries.p95_ms,
        push_latency_ms: core.telemetry.push_latency().mean_ms,
        cpu_usage: machine.cpu_percent,
        memory_usage: machine.memory_percent,
        active_sockets: core.telemetry.sockets().active_connections as i64,
        blocks_behind: core
            .telemetry
            .links()
            .values()
            .map(LinkStats::blocks_behind)
            .max()
            .unwrap_or(0) as i64,
    }
}
