//! The store. By default SQLite (`database.path`): one file, WAL, foreign keys on, migrated on open, readable by its owner only
//! (it holds webhook secrets): the file is made 0600 before SQLite opens it, so its WAL and
//! shared-memory files, which SQLite creates with the database's mode, are too — and used by one
//! server at a time: [`lock`] takes an exclusive lock on `<database>.lock` (an OS file lock, released when the
//! process dies however it dies), so a second server on the same file refuses to start instead of
//! running a second watcher and a second unique-amount lock beside the first.
//!
//! With `database.url` it is PostgreSQL instead ([`open_postgres`]), shared by any number of servers:
//! there the database itself keeps them apart (write transactions serialize on an advisory lock,
//! [`Db::begin_write`]; one server leads the background work, `crate::leader`). Both run the same
//! SQL ([`db`]); each has its own migrations (`migrations/` and `migrations/postgres/`), which
//! arrive at the same schema.

use std::{
    fs::{File, OpenOptions, TryLockError},
    io::{Read, Seek, Write},
    path::{Path, PathBuf},
    sync::Mutex,
    time::Duration,
};

use sqlx::{any::AnyPoolOptions, Executor};

use crate::error::CoreError;

mod copy;
mod db;

pub use copy::{copy_database, Copied};
pub use db::{Backend, Conn, Db, DbRow, Sql, WriteTx};

/// The SQLite schema, embedded at compile time from the repository's `migrations/` folder.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// The PostgreSQL schema, from `migrations/postgres/`.
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// A path as the path part of a `sqlite://` URL (sqlx percent-decodes it).
fn url_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The held lock on a database; released by [`DatabaseLock::release`] or when dropped.
#[derive(Debug)]
pub struct DatabaseLock {
    file: Mutex<Option<File>>,
    /// The lock file.
    pub path: PathBuf,
}

impl DatabaseLock {
    /// Lets another server use the database.
    pub fn release(&self) {
        if let Some(file) = self.file.lock().expect("lock file mutex").take() {
            let _ = file.unlock();
        }
    }
}

/// Takes the exclusive lock of the database at `db`; refuses with a message naming the lock file
/// (and the process holding it) when another server has it.
pub fn lock(db: &Path) -> Result<DatabaseLock, CoreError> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut file = private(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
    )
    .open(&path)
    .map_err(|e| CoreError::Storage {
        path: db.display().to_string(),
        reason: format!("cannot open the lock file {}: {e}", path.display()),
    })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(CoreError::DatabaseInUse {
                path: db.display().to_string(),
                lock: path.display().to_string(),
                holder: if holder.is_empty() {
                    "another process".into()
                } else {
                    format!("process {holder}")
                },
            });
        }
        Err(TryLockError::Error(e)) => {
            return Err(CoreError::Storage {
                path: db.display().to_string(),
                reason: format!("cannot lock {}: {e}", path.display()),
            })
        }
    }
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{}", std::process::id());
    let _ = file.flush();
    Ok(DatabaseLock {
        file: Mutex::new(Some(file)),
        path,
    })
}

/// Options that create a file readable and writable by its owner only.
pub fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600)
    }
    #[cfg(not(unix))]
    options
}

/// Makes an existing file readable and writable by its owner only.
pub fn restrict(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if path.exists() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Opens (creating if missing) and migrates the database at `path`.
pub async fn open(path: &Path) -> Result<Db, CoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            CoreError::Config(format!(
                "database.path: cannot create folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    // Made (or tightened) 0600 before SQLite opens it; its -wal and -shm follow its mode.
    let keep_private = |p: &Path| {
        restrict(p).map_err(|e| CoreError::Storage {
            path: path.display().to_string(),
            reason: format!("cannot make {} private: {e}", p.display()),
        })
    };
    if !path.exists() {
        private(OpenOptions::new().write(true).create(true).truncate(false))
            .open(path)
            .map_err(|e| CoreError::Storage {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        keep_private(Path::new(&name))?;
    }
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", url_path(path));
    let pool = AnyPoolOptions::new()
        // One writer at a time anyway (SQLite); each connection is a worker thread, and on a
        // 2-core till 4 of them serve more reads per second than 8 (BENCHMARKS.md).
        .max_connections(4)
        // A local file does not drop connections: skip the ping sqlx sends on every acquire (each
        // statement is a round trip to the connection's worker thread; this halves a GET's).
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _| {
            Box::pin(async move {
                // WAL + NORMAL: a commit survives a process crash (kill -9); only an OS crash can
                // lose the last ones.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                )
                .await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(Db::new(pool, Backend::Sqlite))
}

/// Connects to (and migrates) the PostgreSQL database at `url`; a database that does not answer
/// is reported with the URL, its password hidden.
pub async fn open_postgres(url: &str) -> Result<Db, CoreError> {
    sqlx::any::install_default_drivers();
    let unreachable = |e: sqlx::Error| CoreError::Storage {
        path: redacted(url),
        reason: e.to_string(),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(unreachable)?;
    POSTGRES_MIGRATOR.run(&pool).await?;
    Ok(Db::new(pool, Backend::Postgres))
}

/// Whether `url` names a PostgreSQL database (what `database.url` and `copy-database --to` take).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` with its password (if any) replaced by `***`, for messages and logs.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Begins a transaction that writes (see [`Db::begin_write`]).
pub async fn begin_write(db: &Db) -> Result<WriteTx, sqlx::Error> {
    db.begin_write().await
}

/// A cheap query proving the database answers (for `/health`).
pub async fn ping(db: &Db) -> Result<(), CoreError> {
    sqlx::query("SELECT 1").execute(db).await?;
    Ok(())
}

/// A stored block number and hash, read back as they were written; anything else is a corrupt row.
pub(crate) fn block(
    row: &DbRow,
    number: &str,
    hash: &str,
) -> Result<(u64, alloy_primitives::B256), CoreError> {
    use sqlx::Row;
    let n: i64 = row.try_get(number)?;
    let h: String = row.try_get(hash)?;
    let n = u64::try_from(n).map_err(|_| CoreError::Corrupt(format!("block number {n}")))?;
    let h = h
        .parse()
        .map_err(|_| CoreError::Corrupt(format!("block hash {h:?}")))?;
    Ok((n, h))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::{migrate::Migrator, sqlite::SqliteConnectOptions, ConnectOptions, Connection};

    use super::*;

    #[test]
    fn a_database_url_is_shown_with_its_password_hidden_and_a_path_is_escaped_for_sqlx() {
        assert_eq!(
            redacted("postgres://shop:s3cr@t@db:5432/stablepay"),
            "postgres://shop:***@db:5432/stablepay"
        );
        assert_eq!(
            redacted("postgres://shop@db/stablepay"),
            "postgres://shop@db/stablepay"
        );
        assert_eq!(
            url_path(Path::new("/tmp/a shop/#1?.db")),
            "/tmp/a%20shop/%231%3F.db"
        );
    }

    /// The migration that rebuilt `payment_sessions` for the refund statuses.
    const REFUND_STATUSES: i64 = 20261202000013;

    #[tokio::test]
    async fn a_database_from_before_refunds_keeps_every_sale_and_its_links_through_the_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let before = Migrator {
            migrations: Cow::Owned(
                MIGRATOR
                    .migrations
                    .iter()
                    .filter(|m| m.version < REFUND_STATUSES)
                    .cloned()
                    .collect(),
            ),
            ..Migrator::DEFAULT
        };
        let mut old = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .foreign_keys(true)
            .connect()
            .await
            .unwrap();
        before.run(&mut old).await.unwrap();
        for statement in [
            "INSERT INTO networks (id, chain_id, name, rpc_urls, ws_urls, explorer_url, enabled, source, updated_at)
             VALUES ('bsc', 56, 'BSC', '[]', '[]', '', 1, 'config', 1)",
            "INSERT INTO payment_sessions (seq, id, status, network_id, chain_id, token_symbol, token_contract, decimals,
               pay_to, requested_base_units, amount_base_units, offset_steps, required_confirmations, created_at,
               expires_at, updated_at, fiat_amount, tip)
             VALUES (7, 'pay_a', 'paid', 'bsc', 56, 'USDT', '0xT', 18, '0xP', '1', '1', 0, 1, 1, 2, 3, '7.10', '{}')",
            "INSERT INTO payment_sessions (seq, id, status, network_id, chain_id, token_symbol, token_contract, decimals,
               pay_to, requested_base_units, amount_base_units, offset_steps, required_confirmations, created_at,
               expires_at, updated_at, remainder_of)
             VALUES (9, 'pay_b', 'pending', 'bsc', 56, 'USDT', '0xT', 18, '0xP', '1', '2', 0, 1, 1, 2, 3, 'pay_a')",
            "INSERT INTO transfers (chain_id, network_id, token_contract, tx_hash, log_index, block_number, block_hash,
               from_address, to_address, value_base_units, payment_id, seen_at)
             VALUES (56, 'bsc', '0xT', '0x1', 0, 1, '0xB', '0xC', '0xP', '1', 'pay_a', 1)",
        ] {
            sqlx::query(statement).execute(&mut old).await.unwrap();
        }
        old.close().await.unwrap();

        let db = open(&path).await.unwrap();
        type Sale = (i64, String, String, Option<String>, Option<String>);
        let sales: Vec<Sale> = sqlx::query_as(
            "SELECT seq, id, status, remainder_of, fiat_amount FROM payment_sessions ORDER BY seq",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        assert_eq!(
            sales,
            vec![
                (7, "pay_a".into(), "paid".into(), None, Some("7.10".into())),
                (
                    9,
                    "pay_b".into(),
                    "pending".into(),
                    Some("pay_a".into()),
                    None
                ),
            ]
        );
        let created: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE kind = 'payment.created'")
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(created, 2, "the rebuild wrote no new events");
        let dangling: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(&db)
                .await
                .unwrap();
        assert!(dangling.is_empty(), "{dangling:?}");
        sqlx::query("UPDATE payment_sessions SET status = 'refunded' WHERE id = 'pay_a'")
            .execute(&db)
            .await
            .unwrap();
        assert!(
            sqlx::query("DELETE FROM payment_sessions WHERE id = 'pay_a'")
                .execute(&db)
                .await
                .is_err(),
            "foreign keys still hold"
        );
        assert!(
            sqlx::query("UPDATE payment_sessions SET status = 'lost' WHERE id = 'pay_b'")
                .execute(&db)
                .await
                .is_err(),
            "the status check still holds"
        );
    }
}
