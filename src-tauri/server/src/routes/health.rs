//! `GET /health`: liveness plus a database round trip, for load balancers and the desktop shell.

use axum::{extract::State, http::StatusCode, Json};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{dto::stats::ReplicaStatus, state::AppState};

/// Health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// `ok` or `error`.
    pub database: &'static str,
    /// Server version.
    pub version: &'static str,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Which server this is among those sharing the database, and who leads (for a balancer).
    pub replica: ReplicaStatus,
}

/// Is the server up and the database answering?
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = Health), (status = 503, description = "Database unavailable", body = Health)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let db_ok = state.core.database_ok().await;
    let health = Health {
        status: if db_ok { "ok" } else { "unavailable" },
        database: if db_ok { "ok" } else { "error" },
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.started.elapsed().as_secs(),
        replica: ReplicaStatus::of(&state.core).await,
    };
    (
        if db_ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(health),
    )
}
