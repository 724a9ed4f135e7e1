//! The handle every store service holds: the connection pool (SQLite or PostgreSQL, through
//! sqlx's `Any` driver: the same SQL runs on both), timing what it runs. Each statement run on the
//! pool (from the first row asked for to the last one read, connection wait included) and each
//! write transaction (from its `BEGIN` to its commit, counted as one unit of work) goes into a
//! window of recent timings — the dashboard's database query time (p50/p95), measured on the
//! queries the app really runs, not on a ping.
//!
//! SQL text is written once for both backends: placeholders are `$1`, `$2`, … (SQLite reads `$N`
//! as the N-th argument too); SQL put together at run time is built with [`Sql`], which numbers
//! them as values are bound; booleans are stored and bound as integers (0/1), as SQLite has them.

use std::{
    ops::{Deref, DerefMut},
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{future::BoxFuture, stream::BoxStream, FutureExt, StreamExt};
use sqlx::{
    any::{AnyArguments, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo},
    pool::PoolConnection,
    Any, AnyConnection, AnyPool, Arguments, Describe, Either, Encode, Execute, Executor,
    Transaction, Type,
};

use crate::telemetry::{Window, WindowSummary};

/// One connection of the store, whichever the backend (what a transaction derefs to).
pub type Conn = AnyConnection;
/// One row read from the store.
pub type DbRow = AnyRow;

/// Which database the store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file beside the app (`database.path`): one server at a time.
    Sqlite,
    /// A PostgreSQL database (`database.url`): any number of servers.
    Postgres,
}

/// The key of the PostgreSQL transaction-scoped advisory lock every write transaction takes: writes
/// serialize across every server on the database as they do on SQLite's one writer, so what a
/// transaction reads before it writes is still true when it commits, and rows get their sequence
/// numbers in commit order (the outbox and the sockets follow `events.seq`). Reads never wait.
const WRITE_LOCK: i64 = 0x5354_4250_5752; // "STBPWR"

/// SQL put together at run time (filters, lists of values), its placeholders numbered as the values
/// are bound: `Sql::new("SELECT … WHERE a = ").bind(x).push(" AND b IN ").list(ys)`.
#[derive(Default)]
pub struct Sql<'q> {
    text: String,
    args: AnyArguments<'q>,
    count: usize,
}

impl<'q> Sql<'q> {
    /// Starts with `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Appends `text` as it is.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        self.count += 1;
        self.text.push('$');
        self.text.push_str(&self.count.to_string());
        // Encoding into the `Any` buffer does not fail for the types the store binds.
        let _ = self.args.add(value);
        self
    }

    /// Appends `(v1, v2, …)`, one placeholder per value.
    pub fn list<T, I>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator<Item = T>,
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        self.text.push('(');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self.text.push(')');
        self
    }

    /// The statement, ready to run.
    pub fn query(&mut self) -> sqlx::query::Query<'_, Any, AnyArguments<'_>> {
        sqlx::query_with(&self.text, std::mem::take(&mut self.args))
    }
}

/// Timings kept for the percentiles.
const KEPT: usize = 2000;

/// The pool and its timings; cheap to clone (clones share both).
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    times: Arc<Window>,
}

impl Db {
    pub(crate) fn new(pool: AnyPool, backend: Backend) -> Self {
        Self {
            pool,
            backend,
            times: Arc::new(Window::new(KEPT)),
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// `sqlite` when the store is SQLite, `postgres` otherwise: for the few statements whose SQL
    /// differs (dates, JSON).
    pub fn pick<'a>(&self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        match self.backend {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// The recent statements' and write transactions' times; `flagged_percent` is the share that
    /// failed.
    pub fn query_times(&self) -> WindowSummary {
        self.times.summary()
    }

    /// A connection of the pool, for statements that need one connection (not timed one by one).
    pub async fn acquire(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// Begins a transaction that writes. On SQLite `BEGIN IMMEDIATE` takes the write lock up front,
    /// so a transaction that reads before it writes waits its turn (busy timeout) instead of failing
    /// with "database is locked" when another connection commits between its read and its first
    /// write; on PostgreSQL the transaction takes [`WRITE_LOCK`] first, to the same effect across
    /// servers.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let started = Instant::now();
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
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
    tx: Transaction<'static, Any>,
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
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
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
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
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
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
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
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
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
        sqlx::any::install_default_drivers();
        // One connection: each in-memory connection is a database of its own.
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1);
        Db::new(
            pool.connect("sqlite::memory:").await.unwrap(),
            Backend::Sqlite,
        )
    }

    #[tokio::test]
    async fn sql_built_at_run_time_numbers_its_placeholders_as_values_are_bound() {
        use sqlx::Row;
        let db = db().await;
        let mut q = Sql::new("SELECT ");
        q.bind(2_i64)
            .push(" * ")
            .bind(3_i64)
            .push(" IN ")
            .list([5_i64, 6, 7]);
        assert_eq!(q.text, "SELECT $1 * $2 IN ($3, $4, $5)");
        let row = q.query().fetch_one(&db).await.unwrap();
        assert_eq!(row.get::<i64, _>(0), 1, "6 is in the list");
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
