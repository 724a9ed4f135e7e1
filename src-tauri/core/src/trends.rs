//! The dashboard's trends (seed §11.1, §11.3; issue 18): the monitoring figures sampled into the
//! database every `server.trend_sample_ms` (the host runs the sampler; it knows the machine), kept
//! 30 days, so the charts show history — yesterday's too, after a restart — and not only what
//! happened since the page opened. A long range is read in buckets (a week of one-minute samples
//! would be ten thousand points): each bucket averages its samples, except the watcher lag, which
//! keeps its worst.

use crate::store::Db;
use chrono::{DateTime, Duration, Utc};

use crate::{
    clock::{from_millis, to_millis},
    error::CoreError,
};

/// How long samples are kept.
pub const KEPT_DAYS: i64 = 30;

/// One sample.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TrendSample {
    /// When (Unix ms in the store).
    #[sqlx(skip)]
    pub at: DateTime<Utc>,
    /// API median response time over the recent window, ms.
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
    /// Mean block → screen latency of recent pushes, ms.
    pub push_latency_ms: f64,
    /// Machine CPU, percent.
    pub cpu_usage: f64,
    /// Machine memory, percent.
    pub memory_usage: f64,
    /// Open customer-facing sockets.
    pub active_sockets: i64,
    /// The worst network's watcher lag, blocks.
    pub blocks_behind: i64,
}

/// The samples in the store.
#[derive(Debug, Clone)]
pub struct Trends {
    pool: Db,
}

impl Trends {
    /// Over `pool`.
    pub fn new(pool: Db) -> Self {
        Self { pool }
    }

    /// Keeps `s` (a second sample at the same millisecond replaces the first) and forgets samples
    /// older than [`KEPT_DAYS`].
    pub async fn record(&self, s: &TrendSample) -> Result<(), CoreError> {
        sqlx::query(
            "INSERT INTO trend_samples (at, api_p50_ms, api_p95_ms, api_error_rate, db_ms,
               db_p50_ms, db_p95_ms, push_latency_ms, cpu_usage, memory_usage, active_sockets,
               blocks_behind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (at) DO UPDATE SET api_p50_ms = excluded.api_p50_ms,
               api_p95_ms = excluded.api_p95_ms, api_error_rate = excluded.api_error_rate,
               db_ms = excluded.db_ms, db_p50_ms = excluded.db_p50_ms, db_p95_ms = excluded.db_p95_ms,
               push_latency_ms = excluded.push_latency_ms, cpu_usage = excluded.cpu_usage,
               memory_usage = excluded.memory_usage, active_sockets = excluded.active_sockets,
               blocks_behind = excluded.blocks_behind",
        )
        .bind(to_millis(s.at))
        .bind(s.api_p50_ms)
        .bind(s.api_p95_ms)
        .bind(s.api_error_rate)
        .bind(s.db_ms)
        .bind(s.db_p50_ms)
        .bind(s.db_p95_ms)
        .bind(s.push_latency_ms)
        .bind(s.cpu_usage)
        .bind(s.memory_usage)
        .bind(s.active_sockets)
        .bind(s.blocks_behind)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM trend_samples WHERE at < $1")
            .bind(to_millis(s.at - Duration::days(KEPT_DAYS)))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The samples since `from`, oldest first, one per `bucket` (at the bucket's first sample).
    pub async fn since(
        &self,
        from: DateTime<Utc>,
        bucket: std::time::Duration,
    ) -> Result<Vec<TrendSample>, CoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            at: i64,
            #[sqlx(flatten)]
            sample: TrendSample,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT MIN(at) AS at, AVG(api_p50_ms) AS api_p50_ms, AVG(api_p95_ms) AS api_p95_ms,
               AVG(api_error_rate) AS api_error_rate, AVG(db_ms) AS db_ms,
               AVG(db_p50_ms) AS db_p50_ms, AVG(db_p95_ms) AS db_p95_ms,
               AVG(push_latency_ms) AS push_latency_ms, AVG(cpu_usage) AS cpu_usage,
               AVG(memory_usage) AS memory_usage,
               CAST(ROUND(AVG(active_sockets)) AS INTEGER) AS active_sockets,
               MAX(blocks_behind) AS blocks_behind
             FROM trend_samples WHERE at >= $1 GROUP BY (at - $1) / $2 ORDER BY at",
        )
        .bind(to_millis(from))
        .bind((bucket.as_millis() as i64).max(1))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| TrendSample {
                at: from_millis(r.at),
                ..r.sample
            })
            .collect())
    }

    /// The recent statements' and write transactions' times (see [`crate::store::Db`]).
    pub fn query_times(&self) -> crate::telemetry::WindowSummary {
        self.pool.query_times()
    }

    /// How long one database round trip takes now, ms.
    pub async fn database_round_trip(&self) -> Result<f64, CoreError> {
        let started = std::time::Instant::now();
        crate::store::ping(&self.pool).await?;
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    }
}
