//! The handle every store service holds: the connection pool, timing what it runs. Each statement
//! run on the pool (from the first row asked for to the last one read, connection wait included)
//! and each write transaction (from `BEGIN IMMEDIATE` to its commit, counted as one unit of work)
//! goes into a window of recent timings — the dashboard's database query time (p50/p95), measured
//! on the queries the app really runs, not on a ping.

use std::{
    ops::{Deref, DerefMut},
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{future::BoxFuture, stream::BoxStream, FutureExt, StreamExt};
use sqlx::{
    pool::PoolConnection,
    sqlite::{SqliteConnection, SqliteQueryResult, SqliteRow, SqliteStatement, SqliteTypeInfo},
    Describe, Either, Execute, Executor, Sqlite, SqlitePool, Transaction,
};

use crate::telemetry::{Window, WindowSummary};

/// Timings kept for the percentiles.
const KEPT: usize = 2000;

/// The pool and its timings; cheap to clone (clones share both).
#[derive(Debug, Clone)]
pub struct Db {
    pool: SqlitePool,
    times: Arc<Window>,
}

impl Db {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            times: Arc::new(Window::new(KEPT)),
        }
    }

    /// The recent statements' and write transactions' times; `flagged_percent` is the share that
    /// failed.
    pub fn query_times(&self) -> WindowSummary {
        self.times.summary()
    }

    /// A connection of the pool, for statements that need one connection (not timed one by one).
    pub async fn acquire(&self) -> Result<PoolConnection<Sqlite>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// Begins a transaction that writes. `BEGIN IMMEDIATE` takes the write lock up front, so a
    /// transaction that reads before it writes waits its turn (busy timeout) instead of failing with
    /// "database is locked" when another connection commits between its read and its first write.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let started = Instant::now();
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx {
            tx,
            timing: Timing::new(&self.times, started),
        })
    }

    fn timing(&self) -> Timing {
        Timing::new(&self.times, Instant::now())
    }
}

/// A write transaction: statements run on `&mut *tx`; [`WriteTx::commit`] ends it, dropping it
/// rolls it back. Its time, begin to end, is recorded once.
#[derive(Debug)]
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    timing: Timing,
}

impl WriteTx {
    /// Commits.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let done = self.tx.commit().await;
        self.timing.failed = done.is_err();
        done
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

/// Records the time since `started` when dropped (finished, failed or abandoned alike).
#[derive(Debug)]
struct Timing {
    times: Arc<Window>,
    started: Instant,
    failed: bool,
}

impl Timing {
    fn new(times: &Arc<Window>, started: Instant) -> Self {
        Self {
            times: times.clone(),
            started,
            failed: false,
        }
    }

    fn took(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for Timing {
    fn drop(&mut self) {
        self.times.record(self.took(), self.failed);
    }
}

impl<'c> Executor<'c> for &'c Db {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        let mut timing = self.timing();
        self.pool
            .fetch_many(query)
            .map(move |step| {
                // The whole guard moves into the stream (not just its flag): it records when the
                // stream is dropped, after the last row.
                let timing = &mut timing;
                timing.failed |= step.is_err();
                step
            })
            .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        let mut timing = self.timing();
        self.pool
            .fetch_optional(query)
            .map(move |row| {
                let timing = &mut timing;
                timing.failed = row.is_err();
                row
            })
            .boxed()
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<SqliteStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.pool.describe(sql)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> Db {
        // One connection: each in-memory connection is a database of its own.
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1);
        Db::new(pool.connect("sqlite::memory:").await.unwrap())
    }

    #[tokio::test]
    async fn every_statement_run_on_the_pool_is_timed_whichever_way_it_is_read() {
        let db = db().await;
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&db)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (1), (2)")
            .execute(&db)
            .await
            .unwrap();
        let all: Vec<(i64,)> = sqlx::query_as("SELECT x FROM t")
            .fetch_all(&db)
            .await
            .unwrap();
        let one: i64 = sqlx::query_scalar("SELECT x FROM t LIMIT 1")
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!((all.len(), one), (2, 1));
        let times = db.query_times();
        assert_eq!(times.count, 4);
        assert_eq!(times.flagged_percent, 0.0);
        assert!(
            times.p95_ms >= times.p50_ms && times.p50_ms > 0.0,
            "{times:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_statement_is_timed_and_counted_as_failed() {
        let db = db().await;
        assert!(sqlx::query("SELECT * FROM missing")
            .fetch_optional(&db)
            .await
            .is_err());
        assert!(sqlx::query("SELECT * FROM missing")
            .execute(&db)
            .await
            .is_err());
        let times = db.query_times();
        assert_eq!((times.count, times.flagged_percent), (2, 100.0));
    }

    #[tokio::test]
    async fn a_write_transaction_is_timed_once_whether_committed_or_dropped() {
        let db = db().await;
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&db)
            .await
            .unwrap();
        let mut tx = db.begin_write().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let tx = db.begin_write().await.unwrap();
        drop(tx);
        assert_eq!(
            db.query_times().count,
            3,
            "the table, then two transactions"
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
}
