//! Moving a counter's SQLite database into a hub's PostgreSQL database (`stablepay-server
//! copy-database`): every row of every table, in one PostgreSQL write transaction, with its ids and
//! sequence numbers as they were — so links between rows, the webhook outbox's cursor and every
//! payment's history stay true, and the hub sells on from where the counter stopped.
//!
//! Only into a hub without sales: two shops' data are never merged ([`CoreError::DatabaseNotEmpty`]).

use std::path::Path;

use futures_util::TryStreamExt;
use sqlx::{any::AnyTypeInfoKind, Row, ValueRef};

use super::{Conn, DbRow, Sql};
use crate::error::CoreError;

/// Every table of the schema, each before the tables whose rows refer to its rows, with the order
/// its rows are read in (`chain_blocks` and `trend_samples` have no rowid). `tokens` keeps its
/// order that way: PostgreSQL numbers them afresh, in insertion order.
const TABLES: &[(&str, &str)] = &[
    ("networks", "rowid"),
    ("tokens", "rowid"),
    ("products", "rowid"),
    ("payment_sessions", "rowid"),
    ("transfers", "rowid"),
    ("chain_cursors", "rowid"),
    ("events", "rowid"),
    ("webhook_endpoints", "rowid"),
    ("webhook_deliveries", "rowid"),
    ("webhook_cursor", "rowid"),
    ("chain_blocks", "network_id, number"),
    ("display_devices", "rowid"),
    ("counters", "rowid"),
    ("trend_samples", "at"),
    ("shop_logo", "rowid"),
    ("refunds", "rowid"),
    ("epusdt_orders", "rowid"),
];

/// Links that cannot be written with their row: a payment may name a transfer (which names its
/// payment) and an earlier payment. They are inserted empty and filled in, by `id`, once every
/// payment and transfer is in.
const LINKS: &[&str] = &["wrong_transfer_id", "remainder_of"];

/// Rows written per `INSERT`, at most (PostgreSQL takes up to 65535 values per statement).
const BATCH_VALUES: usize = 30_000;

/// What a copy wrote: rows per table, in the order they were copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// `(table, rows)` for every table.
    pub tables: Vec<(&'static str, u64)>,
}

impl Copied {
    /// The rows copied into `table`.
    pub fn rows(&self, table: &str) -> Option<u64> {
        self.tables.iter().find(|(t, _)| *t == table).map(|t| t.1)
    }
}

/// Copies every row of the SQLite database at `from` (migrated to the latest schema first) into
/// the PostgreSQL database at `to` (migrated too), in one transaction: either all of it is there
/// or nothing is. Refuses a target that holds payments; a target without any (a hub server was
/// started on it once) is emptied first — what a server writes there by itself (the catalog, chain
/// cursors, figures) is replaced by the counter's. The caller keeps servers off the file
/// (`store::lock`).
pub async fn copy_database(from: &Path, to: &str) -> Result<Copied, CoreError> {
    if !from.is_file() {
        return Err(CoreError::Config(format!(
            "no SQLite database at {}",
            from.display()
        )));
    }
    if !super::is_postgres_url(to) {
        return Err(CoreError::Config(
            "the target must be a PostgreSQL URL (postgres://user:password@host:port/database)"
                .into(),
        ));
    }
    let source = super::open(from).await?;
    known_tables(&mut *source.acquire().await?).await?;
    let target = super::open_postgres(to).await?;

    let mut tx = target.begin_write().await?;
    let payments: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_sessions")
        .fetch_one(&mut *tx)
        .await?;
    if payments > 0 {
        return Err(CoreError::DatabaseNotEmpty {
            database: super::redacted(to),
            payments: payments.unsigned_abs(),
        });
    }
    for (table, _) in TABLES.iter().rev() {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
    }
    // Held for its snapshot: every table is read as of one moment, and nothing writes meanwhile.
    let mut read = source.begin_write().await?;
    let mut copied = Vec::with_capacity(TABLES.len());
    let mut links = Vec::new();
    for &(table, order) in TABLES {
        let later: &[&str] = if table == "payment_sessions" {
            LINKS
        } else {
            &[]
        };
        let rows = copy_table(&mut read, &mut tx, table, order, later, &mut links).await?;
        copied.push((table, rows));
        match table {
            // Its INSERT trigger wrote a `payment.created` event per row; the counter's own events
            // (with their sequence numbers) are copied below.
            "payment_sessions" => {
                sqlx::query("DELETE FROM events").execute(&mut *tx).await?;
            }
            "transfers" => link(&mut tx, &links).await?,
            _ => {}
        }
    }
    restart_sequences(&mut tx).await?;
    tx.commit().await?;
    drop(read);
    Ok(Copied { tables: copied })
}

/// Refuses a SQLite schema with a table this copy does not know (it would be left behind).
async fn known_tables(source: &mut Conn) -> Result<(), CoreError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(source)
    .await?;
    match names.iter().find(|n| !TABLES.iter().any(|(t, _)| t == n)) {
        Some(unknown) => Err(CoreError::Corrupt(format!(
            "the table {unknown} is unknown to the copy: it would not be copied"
        ))),
        None => Ok(()),
    }
}

/// A value as SQLite stored it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// What a PostgreSQL column takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
    Blob,
}

impl Kind {
    fn of(data_type: &str) -> Option<Self> {
        Some(match data_type {
            "bigint" | "integer" | "smallint" => Kind::Int,
            "double precision" | "real" => Kind::Real,
            "text" | "character varying" | "character" => Kind::Text,
            "bytea" => Kind::Blob,
            _ => return None,
        })
    }
}

impl Value {
    /// Column `i` of `row`, by the type of the value SQLite holds (its columns' declared types are
    /// only affinities).
    fn read(row: &DbRow, i: usize) -> Result<Self, sqlx::Error> {
        let raw = row.try_get_raw(i)?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        Ok(match raw.type_info().kind() {
            AnyTypeInfoKind::Null => Value::Null,
            AnyTypeInfoKind::Bool => Value::Int(row.try_get::<bool, _>(i)?.into()),
            AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
                Value::Int(row.try_get(i)?)
            }
            AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => Value::Real(row.try_get(i)?),
            AnyTypeInfoKind::Text => Value::Text(row.try_get(i)?),
            AnyTypeInfoKind::Blob => Value::Blob(row.try_get(i)?),
        })
    }

    /// The value as a `kind` column takes it, when that changes nothing of it.
    fn into_kind(self, kind: Kind) -> Option<Self> {
        Some(match (self, kind) {
            (Value::Null, _) => Value::Null,
            (Value::Int(i), Kind::Int) => Value::Int(i),
            (Value::Int(i), Kind::Real) => Value::Real(i as f64),
            (Value::Int(i), Kind::Text) => Value::Text(i.to_string()),
            (Value::Real(r), Kind::Real) => Value::Real(r),
            (Value::Text(s), Kind::Text) => Value::Text(s),
            (Value::Text(s), Kind::Blob) => Value::Blob(s.into_bytes()),
            (Value::Blob(b), Kind::Blob) => Value::Blob(b),
            _ => return None,
        })
    }

    /// Binds the value into `sql` as a `kind` column's (a NULL is typed by its column).
    fn bind(self, sql: &mut Sql<'_>, kind: Kind) {
        match (self, kind) {
            (Value::Null, Kind::Int) => sql.bind(None::<i64>),
            (Value::Null, Kind::Real) => sql.bind(None::<f64>),
            (Value::Null, Kind::Text) => sql.bind(None::<String>),
            (Value::Null, Kind::Blob) => sql.bind(None::<Vec<u8>>),
            (Value::Int(i), _) => sql.bind(i),
            (Value::Real(r), _) => sql.bind(r),
            (Value::Text(s), _) => sql.bind(s),
            (Value::Blob(b), _) => sql.bind(b),
        };
    }
}

/// A column copied: its name and what PostgreSQL takes in it.
struct Column {
    name: String,
    kind: Kind,
}

/// A payment's links, written once the rows they name are in: its `id` and `(column, value)`.
type Links = Vec<(Value, Vec<(&'static str, Value, Kind)>)>;

/// The columns of `table` to copy: SQLite's, each as PostgreSQL has it. A column PostgreSQL always
/// generates itself is left out; one it does not have is an error (it would be lost).
async fn columns(
    source: &mut Conn,
    target: &mut Conn,
    table: &str,
) -> Result<Vec<Column>, CoreError> {
    let sqlite: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
            .bind(table)
            .fetch_all(&mut *source)
            .await?;
    let postgres: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text, COALESCE(identity_generation::text, '') \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(table)
    .fetch_all(&mut *target)
    .await?;
    let mut out = Vec::with_capacity(sqlite.len());
    for name in sqlite {
        let Some((_, data_type, generated)) = postgres.iter().find(|c| c.0 == name) else {
            return Err(CoreError::Corrupt(format!(
                "{table}.{name} has no column in the PostgreSQL schema"
            )));
        };
        if generated == "ALWAYS" {
            continue;
        }
        let kind = Kind::of(data_type).ok_or_else(|| {
            CoreError::Corrupt(format!(
                "{table}.{name} is {data_type} in PostgreSQL, a type the copy does not write"
            ))
        })?;
        out.push(Column { name, kind });
    }
    Ok(out)
}

/// Copies `table`'s rows in `order`, in batches; the `later` columns are written empty and their
/// values added to `links`. Returns the rows copied.
async fn copy_table(
    source: &mut Conn,
    target: &mut Conn,
    table: &'static str,
    order: &str,
    later: &[&'static str],
    links: &mut Links,
) -> Result<u64, CoreError> {
    let columns = columns(source, target, table).await?;
    let list = columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let key = columns.iter().position(|c| c.name == "id");
    let per_batch = (BATCH_VALUES / columns.len().max(1)).max(1);
    let select = format!("SELECT {list} FROM {table} ORDER BY {order}");
    let mut rows = sqlx::query(&select).fetch(&mut *source);
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_batch);
    let mut copied = 0;
    while let Some(row) = rows.try_next().await? {
        let mut values = Vec::with_capacity(columns.len());
        let mut linked = Vec::new();
        for (i, column) in columns.iter().enumerate() {
            let value = Value::read(&row, i)?
                .into_kind(column.kind)
                .ok_or_else(|| {
                    CoreError::Corrupt(format!(
                        "{table}.{} holds a value PostgreSQL's {:?} column cannot take as it is",
                        column.name, column.kind
                    ))
                })?;
            match later.iter().find(|l| **l == column.name) {
                Some(name) if value != Value::Null => {
                    linked.push((*name, value, column.kind));
                    values.push(Value::Null);
                }
                _ => values.push(value),
            }
        }
        if !linked.is_empty() {
            let id = key
                .map(|k| values[k].clone())
                .ok_or_else(|| CoreError::Corrupt(format!("{table} has no id column")))?;
            links.push((id, linked));
        }
        batch.push(values);
        if batch.len() == per_batch {
            copied += insert(target, table, &list, &columns, &mut batch).await?;
        }
    }
    drop(rows);
    copied += insert(target, table, &list, &columns, &mut batch).await?;
    Ok(copied)
}

/// Writes `batch` (emptied) into `table` with one `INSERT`.
async fn insert(
    target: &mut Conn,
    table: &str,
    list: &str,
    columns: &[Column],
    batch: &mut Vec<Vec<Value>>,
) -> Result<u64, CoreError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let rows = batch.len() as u64;
    let mut sql = Sql::new(format!("INSERT INTO {table} ({list}) VALUES "));
    for (r, values) in batch.drain(..).enumerate() {
        sql.push(if r == 0 { "(" } else { ", (" });
        for (i, (value, column)) in values.into_iter().zip(columns).enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            value.bind(&mut sql, column.kind);
        }
        sql.push(")");
    }
    sql.query().execute(&mut *target).await?;
    Ok(rows)
}

/// Writes the payments' links held back by [`copy_table`].
async fn link(target: &mut Conn, links: &Links) -> Result<(), CoreError> {
    for (id, columns) in links {
        let mut sql = Sql::new("UPDATE payment_sessions SET ");
        for (i, (name, value, kind)) in columns.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&format!("\"{name}\" = "));
            value.clone().bind(&mut sql, *kind);
        }
        sql.push(" WHERE id = ");
        id.clone().bind(&mut sql, Kind::Text);
        sql.query().execute(&mut *target).await?;
    }
    Ok(())
}

/// Moves every identity column's sequence of the copied tables past the largest value copied, so
/// the hub's next row gets a fresh number (and an empty table starts at 1).
async fn restart_sequences(target: &mut Conn) -> Result<(), CoreError> {
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *target)
    .await?;
    for (table, column) in identities {
        if !TABLES.iter().any(|(t, _)| *t == table) {
            continue;
        }
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX(\"{column}\"), 1), \
             MAX(\"{column}\") IS NOT NULL) FROM {table}"
        ))
        .bind(&table)
        .bind(&column)
        .execute(&mut *target)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_table_of_the_sqlite_schema_is_one_the_copy_knows() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::super::open(&dir.path().join("shop.db"))
            .await
            .unwrap();
        let mut conn = db.acquire().await.unwrap();
        known_tables(&mut conn).await.unwrap();
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for (table, _) in TABLES {
            assert!(
                names.iter().any(|n| n == table),
                "{table} is not in the schema"
            );
        }
    }

    #[test]
    fn a_value_changes_column_kind_only_when_nothing_of_it_is_lost() {
        assert_eq!(
            Value::Int(7).into_kind(Kind::Text),
            Some(Value::Text("7".into()))
        );
        assert_eq!(Value::Int(2).into_kind(Kind::Real), Some(Value::Real(2.0)));
        assert_eq!(Value::Null.into_kind(Kind::Blob), Some(Value::Null));
        assert_eq!(Value::Text("10".into()).into_kind(Kind::Int), None);
        assert_eq!(Value::Real(1.5).into_kind(Kind::Int), None);
        assert_eq!(Value::Blob(vec![0xff]).into_kind(Kind::Text), None);
    }

    #[tokio::test]
    async fn a_missing_file_or_a_target_that_is_not_postgres_is_refused_before_anything_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.db");
        let e = copy_database(&missing, "postgres://u@127.0.0.1:1/x")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no SQLite database"), "{e}");
        assert!(!missing.exists(), "no database was made");
        let db = dir.path().join("shop.db");
        std::fs::write(&db, b"").unwrap();
        let e = copy_database(&db, "mysql://x").await.unwrap_err();
        assert!(e.to_string().contains("PostgreSQL URL"), "{e}");
    }
}
