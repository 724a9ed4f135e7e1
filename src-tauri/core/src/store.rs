//! The SQLite store: one file, WAL, foreign keys on, migrated on open.

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Sqlite, SqlitePool, Transaction,
};

use crate::error::CoreError;

/// The schema, embedded at compile time from the repository's `migrations/` folder.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Opens (creating if missing) and migrates the database at `path`.
pub async fn open(path: &Path) -> Result<SqlitePool, CoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            CoreError::Config(format!(
                "database.path: cannot create folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // WAL + NORMAL: a commit survives a process crash (kill -9); only an OS crash can lose the last ones.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        // One writer at a time anyway (SQLite); each connection is a worker thread, and on a
        // 2-core till 4 of them serve more reads per second than 8 (BENCHMARKS.md).
        .max_connections(4)
        // A local file does not drop connections: skip the ping sqlx sends on every acquire (each
        // statement is a round trip to the connection's worker thread; this halves a GET's).
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Begins a transaction that writes. `BEGIN IMMEDIATE` takes the write lock up front, so a
/// transaction that reads before it writes waits its turn (busy timeout) instead of failing with
/// "database is locked" when another connection commits between its read and its first write.
pub async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// A cheap query proving the database answers (for `/health`).
pub async fn ping(pool: &SqlitePool) -> Result<(), CoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}
