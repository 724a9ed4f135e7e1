//! SQL for payments. Rows map to [`Payment`] here and nowhere else.

use std::collections::HashSet;

use crate::store::Db;
use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::store::Sql;

use super::{
    holders::Holds,
    row::{map, COLUMNS},
    IdempotencyKey, Payment, PaymentId, PaymentStatus,
};
use crate::{
    address::Address,
    amount::TokenAmount,
    catalog::{NetworkId, TokenSymbol},
    clock::to_millis,
    error::CoreError,
    transfers::StoredTransfer,
};

/// Filters for listing payments; all optional.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    /// Only these statuses.
    pub statuses: Vec<PaymentStatus>,
    /// Only this token.
    pub token: Option<TokenSymbol>,
    /// Only this network.
    pub network: Option<NetworkId>,
    /// Only the sales of this counter.
    pub counter: Option<crate::counters::CounterId>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Continue after this cursor (from a previous page).
    pub cursor: Option<String>,
    /// Page size, 1–200.
    pub limit: u32,
}

/// One page of payments, newest first.
#[derive(Debug, Clone)]
pub struct Page {
    /// The payments.
    pub items: Vec<Payment>,
    /// Pass as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Writes `p`'s chosen tip and its new amounts, while it is still pending with nothing received;
/// `false` when it no longer is.
pub(super) async fn set_tip(pool: &Db, p: &Payment) -> Result<bool, CoreError> {
    let done = sqlx::query(
        "UPDATE payment_sessions SET requested_base_units = $1, amount_base_units = $2, offset_steps = $3,
           fiat_amount = $4, tip = $5, updated_at = $6
         WHERE id = $7 AND status = 'pending' AND amount_received IS NULL",
    )
    .bind(p.requested_amount.base_units().to_string())
    .bind(p.amount.base_units().to_string())
    .bind(p.offset_steps as i64)
    .bind(p.fiat.as_ref().map(|f| f.amount.to_string()))
    .bind(p.tip.as_ref().map(|t| serde_json::to_string(t).unwrap_or_default()))
    .bind(to_millis(p.updated_at))
    .bind(p.id.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The newest payment asking the rest of `sale`.
pub(super) async fn remainder_of(
    pool: &Db,
    sale: &PaymentId,
) -> Result<Option<Payment>, CoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payment_sessions WHERE remainder_of = $1 ORDER BY seq DESC LIMIT 1"
    );
    sqlx::query(&sql)
        .bind(sale.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(map)
        .transpose()
}

pub(super) async fn by_id(pool: &Db, id: &PaymentId) -> Result<Option<Payment>, CoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payment_sessions WHERE id = $1");
    sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(map)
        .transpose()
}

/// Puts transfer `seq`, which carried `base_units`, on open sale `id` as its wrong amount; `false`
/// when the sale is no longer pending.
pub(super) async fn show_wrong_amount(
    conn: &mut crate::store::Conn,
    id: &PaymentId,
    seq: i64,
    base_units: &str,
    now: DateTime<Utc>,
) -> Result<bool, CoreError> {
    let shown = sqlx::query(
        "UPDATE payment_sessions SET wrong_transfer_id = $1, wrong_amount_base_units = $2, updated_at = $3
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(seq)
    .bind(base_units)
    .bind(to_millis(now))
    .bind(id.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(shown > 0)
}

pub(super) async fn by_id_in(
    conn: &mut crate::store::Conn,
    id: &PaymentId,
) -> Result<Option<Payment>, CoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payment_sessions WHERE id = $1");
    sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(map)
        .transpose()
}

pub(super) async fn by_idempotency_key(
    pool: &Db,
    key: &IdempotencyKey,
) -> Result<Option<(Payment, String)>, CoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, request_fingerprint FROM payment_sessions WHERE idempotency_key = $1"
    );
    match sqlx::query(&sql)
        .bind(key.as_str())
        .fetch_optional(pool)
        .await?
    {
        Some(row) => Ok(Some((
            map(&row)?,
            row.try_get::<Option<String>, _>("request_fingerprint")?
                .unwrap_or_default(),
        ))),
        None => Ok(None),
    }
}

pub(super) async fn order_reference_taken(pool: &Db, reference: &str) -> Result<bool, CoreError> {
    Ok(
        sqlx::query("SELECT 1 FROM payment_sessions WHERE order_reference = $1")
            .bind(reference)
            .fetch_optional(pool)
            .await?
            .is_some(),
    )
}

/// Which of `candidates` are held (see [`Holds`]).
pub(super) async fn held_amounts(
    pool: &Db,
    network: &NetworkId,
    token: &TokenSymbol,
    pay_to: &Address,
    candidates: &[TokenAmount],
    holds: &Holds,
) -> Result<HashSet<String>, CoreError> {
    let mut q = Sql::new("SELECT amount_base_units FROM payment_sessions WHERE network_id = ");
    q.bind(network.as_str())
        .push(" AND token_symbol = ")
        .bind(token.as_str())
        .push(" AND pay_to = ")
        .bind(pay_to.checksummed())
        .push(" AND ");
    holds.push_condition(&mut q);
    q.push(" AND amount_base_units IN ")
        .list(candidates.iter().map(|c| c.base_units().to_string()));
    let rows = q.query().fetch_all(pool).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?)
}

/// The watcher's cursor on `network`, if it has one.
pub(super) async fn cursor_block(pool: &Db, network: &NetworkId) -> Result<Option<u64>, CoreError> {
    let n: Option<i64> =
        sqlx::query_scalar("SELECT block_number FROM chain_cursors WHERE network_id = $1")
            .bind(network.as_str())
            .fetch_optional(pool)
            .await?;
    Ok(n.map(|n| n as u64))
}

/// Inserts a new payment; the `payment_sessions_created` trigger writes its `payment.created` event.
pub(super) async fn insert(
    conn: impl sqlx::AnyExecutor<'_>,
    p: &Payment,
    idempotency_key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payment_sessions (id, status, network_id, chain_id, token_symbol, token_contract, decimals, pay_to,
            requested_base_units, amount_base_units, offset_steps, description, order_reference, metadata, product_id,
            idempotency_key, request_fingerprint, required_confirmations, confirmations, late, start_block, created_at, expires_at, updated_at,
            fiat_amount, fiat_currency, rate, rate_source, rate_at, rate_markup_bp, remainder_of, items, tip, counter_id, counter_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0, 0, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33)",
    )
    .bind(p.id.as_str())
    .bind(p.status.as_str())
    .bind(p.network.as_str())
    .bind(p.chain_id as i64)
    .bind(p.token.as_str())
    .bind(p.token_contract.checksummed())
    .bind(p.amount.decimals() as i64)
    .bind(p.pay_to.checksummed())
    .bind(p.requested_amount.base_units().to_string())
    .bind(p.amount.base_units().to_string())
    .bind(p.offset_steps as i64)
    .bind(&p.description)
    .bind(&p.order_reference)
    .bind(p.metadata.as_ref().map(|m| serde_json::Value::Object(m.clone()).to_string()))
    .bind(p.product_id.as_ref().map(|id| id.as_str().to_string()))
    .bind(idempotency_key.map(|k| k.as_str().to_string()))
    .bind(fingerprint)
    .bind(p.required_confirmations as i64)
    .bind(p.start_block.map(|b| b as i64))
    .bind(to_millis(p.created_at))
    .bind(to_millis(p.expires_at))
    .bind(to_millis(p.updated_at))
    .bind(p.fiat.as_ref().map(|f| f.amount.to_string()))
    .bind(p.fiat.as_ref().map(|f| f.currency.clone()))
    .bind(p.fiat.as_ref().map(|f| f.rate.value.to_string()))
    .bind(p.fiat.as_ref().map(|f| f.rate.source.clone()))
    .bind(p.fiat.as_ref().map(|f| to_millis(f.rate.at)))
    .bind(p.fiat.as_ref().map(|f| i64::from(f.markup_bp)))
    .bind(p.remainder_of.as_ref().map(|id| id.as_str().to_string()))
    .bind(p.cart.as_ref().map(|c| serde_json::to_string(c).unwrap_or_default()))
    .bind(p.tip.as_ref().map(|t| serde_json::to_string(t).unwrap_or_default()))
    .bind(p.counter.as_ref().map(|c| c.id.as_str().to_string()))
    .bind(p.counter.as_ref().map(|c| c.name.clone()))
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn pending_due(pool: &Db, now: DateTime<Utc>) -> Result<Vec<Payment>, CoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payment_sessions WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT 500");
    sqlx::query(&sql)
        .bind(to_millis(now))
        .fetch_all(pool)
        .await?
        .iter()
        .map(map)
        .collect()
}

/// Open (`pending` or `confirming`) payments in one token.
pub(super) async fn open_in_token(
    pool: &Db,
    network: &NetworkId,
    symbol: &TokenSymbol,
) -> Result<Vec<Payment>, CoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payment_sessions
         WHERE network_id = $1 AND token_symbol = $2 AND status IN ('pending', 'confirming') ORDER BY seq"
    ))
    .bind(network.as_str())
    .bind(symbol.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter().map(map).collect()
}

/// Marks payment `id` credited by log `t` (`confirming`, no confirmations yet).
pub(super) async fn credit(
    conn: &mut crate::store::Conn,
    id: &PaymentId,
    t: &super::ObservedTransfer,
    late: bool,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    sqlx::query(
        "UPDATE payment_sessions SET status = 'confirming', transaction_hash = $1, block_number = $2, block_hash = $3,
            log_index = $4, confirmations = 0, late = $5, closed_at = NULL, amount_received = $6, credit_source = $7,
            updated_at = $8
         WHERE id = $9",
    )
    .bind(t.tx_hash.to_string())
    .bind(t.block_number as i64)
    .bind(t.block_hash.to_string())
    .bind(t.log_index as i64)
    .bind(i64::from(late))
    .bind(t.value.to_string())
    .bind(&t.source)
    .bind(to_millis(now))
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks payment `id` credited by hand with stored transfer `t` (`confirming`; late if it had
/// expired), only while it is still open to it; whether it was.
pub(super) async fn credit_by_hand(
    conn: &mut crate::store::Conn,
    id: &PaymentId,
    t: &StoredTransfer,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE payment_sessions SET status = 'confirming', transaction_hash = $1, block_number = $2,
            block_hash = (SELECT block_hash FROM transfers WHERE seq = $3), log_index = $4, confirmations = 0,
            late = CASE WHEN status = 'expired' THEN 1 ELSE 0 END, closed_at = NULL, amount_received = $5,
            credit_source = (SELECT source FROM transfers WHERE seq = $6), updated_at = $7
         WHERE id = $8 AND status IN ('pending', 'expired') AND transaction_hash IS NULL",
    )
    .bind(&t.tx_hash)
    .bind(t.block_number as i64)
    .bind(t.id)
    .bind(t.log_index as i64)
    .bind(t.value.to_string())
    .bind(t.id)
    .bind(to_millis(now))
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() > 0)
}

pub(super) async fn list(pool: &Db, f: &PaymentFilter) -> Result<Page, CoreError> {
    let limit = f.limit.clamp(1, 200) as i64;
    let mut q = Sql::new(format!(
        "SELECT {COLUMNS} FROM payment_sessions WHERE 1 = 1"
    ));
    if !f.statuses.is_empty() {
        q.push(" AND status IN ")
            .list(f.statuses.iter().map(|s| s.as_str()));
    }
    if let Some(t) = &f.token {
        q.push(" AND token_symbol = ").bind(t.as_str());
    }
    if let Some(n) = &f.network {
        q.push(" AND network_id = ").bind(n.as_str());
    }
    if let Some(c) = &f.counter {
        q.push(" AND counter_id = ").bind(c.as_str());
    }
    if let Some(from) = f.created_from {
        q.push(" AND created_at >= ").bind(to_millis(from));
    }
    if let Some(to) = f.created_to {
        q.push(" AND created_at < ").bind(to_millis(to));
    }
    if let Some(cursor) = &f.cursor {
        let seq: i64 = cursor
            .parse()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| CoreError::field("cursor", "not a cursor returned by this API"))?;
        q.push(" AND seq < ").bind(seq);
    }
    q.push(" ORDER BY seq DESC LIMIT ").bind(limit + 1);
    let rows = q.query().fetch_all(pool).await?;
    let more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = if more {
        rows.last()
            .map(|r| r.try_get::<i64, _>("seq").map(|s| s.to_string()))
            .transpose()?
    } else {
        None
    };
    Ok(Page {
        items: rows.iter().map(map).collect::<Result<_, _>>()?,
        next_cursor,
    })
}
