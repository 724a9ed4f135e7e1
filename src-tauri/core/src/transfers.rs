//! Transfers seen on chain to the receive address, matched or not. Unmatched ones (wrong amount,
//! an exchange withdrawal minus fees, a payment made after the grace window, one sent for a sale
//! that was cancelled or already paid) wait in an inbox where staff can attach one to a payment by
//! hand. Those that matched a sale they could not pay carry its id and why (`related_payment_id`,
//! `reason`).
//!
//! Attach rules: the transfer must be on the payment's network and token contract, to its receive
//! address, still canonical (not removed by a reorg) and its transaction must credit no payment yet;
//! the payment must be `pending` or `expired` (an expired one is marked `late`); staff give a reason.
//! The amount may differ — that is the point of attaching — and is recorded as the payment's
//! `amount_received` (under- or overpaid), with the reason in the audit trail. Attaching is the one
//! way a transfer older than the payment can credit it. The payment then settles through the
//! normal rules (confirmations, finality, a second endpoint). Attaching itself is the payments
//! service's (`Payments::attach`, in `payments/attach.rs`): it changes a payment.

use crate::store::Db;
use alloy_primitives::U256;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, Row};

use crate::{
    address::Address,
    catalog::NetworkId,
    clock::{from_millis, to_millis},
    error::CoreError,
    payments::ObservedTransfer,
};

/// A stored Transfer log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTransfer {
    /// Row id, used to attach it.
    pub id: i64,
    /// Network slug.
    pub network: NetworkId,
    /// Chain id.
    pub chain_id: u64,
    /// Token contract.
    pub token_contract: Address,
    /// Transaction hash.
    pub tx_hash: String,
    /// Log index.
    pub log_index: u64,
    /// Block height.
    pub block_number: u64,
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Amount in base units.
    pub value: U256,
    /// The payment it credits.
    pub payment_id: Option<String>,
    /// The sale it matched but could not pay (cancelled, already paid, older than the transfer).
    pub related_payment_id: Option<String>,
    /// Why it is in the inbox: `paid_after_cancel`, `second_payment`, `before_sale`,
    /// `same_transaction`, or none (no sale asked for this amount).
    pub reason: Option<String>,
    /// Its block left the canonical chain.
    pub removed: bool,
    /// When the watcher stored it.
    pub seen_at: DateTime<Utc>,
}

/// A `transfers` row as stored.
#[derive(sqlx::FromRow)]
struct TransferRow {
    seq: i64,
    network_id: String,
    chain_id: i64,
    token_contract: String,
    tx_hash: String,
    log_index: i64,
    block_number: i64,
    from_address: String,
    to_address: String,
    value_base_units: String,
    payment_id: Option<String>,
    related_payment_id: Option<String>,
    note: Option<String>,
    removed: i64,
    seen_at: i64,
}

impl TryFrom<TransferRow> for StoredTransfer {
    type Error = CoreError;

    fn try_from(r: TransferRow) -> Result<Self, CoreError> {
        let corrupt = |what: &str| CoreError::Corrupt(format!("transfer {}: {what}", r.seq));
        let count = |n: i64, what: &str| u64::try_from(n).map_err(|_| corrupt(what));
        Ok(StoredTransfer {
            network: NetworkId::parse(&r.network_id)?,
            chain_id: count(r.chain_id, "chain id")?,
            token_contract: Address::parse(&r.token_contract)?,
            log_index: count(r.log_index, "log index")?,
            block_number: count(r.block_number, "block number")?,
            from: Address::parse(&r.from_address)?,
            to: Address::parse(&r.to_address)?,
            value: U256::from_str_radix(&r.value_base_units, 10).map_err(|_| corrupt("amount"))?,
            id: r.seq,
            tx_hash: r.tx_hash,
            payment_id: r.payment_id,
            related_payment_id: r.related_payment_id,
            reason: r.note,
            removed: r.removed != 0,
            seen_at: from_millis(r.seen_at),
        })
    }
}

fn map(row: &crate::store::DbRow) -> Result<StoredTransfer, CoreError> {
    StoredTransfer::try_from(TransferRow::from_row(row)?)
}

/// What storing a log found: its row, the payment it already credits, when it was first seen.
#[derive(Debug)]
pub(crate) struct Upserted {
    /// Row id.
    pub(crate) seq: i64,
    /// The payment the log already credits.
    pub(crate) payment_id: Option<String>,
    /// When the log was first stored.
    pub(crate) seen_at: DateTime<Utc>,
}

/// The block hash log `t` was stored with, if it was (the inner `None`: stored without one).
pub(crate) async fn stored_block_hash(
    conn: &mut crate::store::Conn,
    t: &ObservedTransfer,
) -> Result<Option<Option<String>>, CoreError> {
    Ok(sqlx::query_scalar(
        "SELECT block_hash FROM transfers WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3",
    )
    .bind(t.chain_id as i64)
    .bind(t.tx_hash.to_string())
    .bind(t.log_index as i64)
    .fetch_optional(conn)
    .await?)
}

/// When log `t` was first stored, if it was.
pub(crate) async fn first_seen(
    pool: &Db,
    t: &ObservedTransfer,
) -> Result<Option<DateTime<Utc>>, CoreError> {
    let millis: Option<i64> = sqlx::query_scalar(
        "SELECT seen_at FROM transfers WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3",
    )
    .bind(t.chain_id as i64)
    .bind(t.tx_hash.to_string())
    .bind(t.log_index as i64)
    .fetch_optional(pool)
    .await?;
    Ok(millis.map(from_millis))
}

/// Stores log `t` once (unique on chain, tx hash, log index); seen again, its block follows the
/// chain's latest view and it is no longer marked removed.
pub(crate) async fn upsert(
    conn: &mut crate::store::Conn,
    t: &ObservedTransfer,
    now: DateTime<Utc>,
) -> Result<Upserted, CoreError> {
    let row = sqlx::query(
        "INSERT INTO transfers (chain_id, network_id, token_contract, tx_hash, log_index, block_number, block_hash,
            from_address, to_address, value_base_units, seen_at, block_time, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE SET
            block_number = excluded.block_number, block_hash = excluded.block_hash, removed = 0,
            block_time = COALESCE(excluded.block_time, transfers.block_time),
            source = COALESCE(excluded.source, transfers.source)
         RETURNING seq, payment_id, seen_at",
    )
    .bind(t.chain_id as i64)
    .bind(t.network.as_str())
    .bind(t.token_contract.checksummed())
    .bind(t.tx_hash.to_string())
    .bind(t.log_index as i64)
    .bind(t.block_number as i64)
    .bind(t.block_hash.to_string())
    .bind(t.from.checksummed())
    .bind(t.to.checksummed())
    .bind(t.value.to_string())
    .bind(to_millis(now))
    .bind(t.block_time.map(to_millis))
    .bind(&t.source)
    .fetch_one(conn)
    .await?;
    Ok(Upserted {
        seq: row.try_get("seq")?,
        payment_id: row.try_get("payment_id")?,
        seen_at: from_millis(row.try_get("seen_at")?),
    })
}

/// The payment one of the logs of transaction `tx_hash` credits, if any (whatever its log index).
pub(crate) async fn transaction_owner<'c>(
    conn: impl sqlx::AnyExecutor<'c>,
    chain_id: u64,
    tx_hash: &str,
) -> Result<Option<String>, CoreError> {
    Ok(sqlx::query_scalar(
        "SELECT payment_id FROM transfers WHERE chain_id = $1 AND tx_hash = $2 AND payment_id IS NOT NULL LIMIT 1",
    )
    .bind(chain_id as i64)
    .bind(tx_hash)
    .fetch_optional(conn)
    .await?)
}

/// Transfer `seq` now credits payment `id` (and waits in the inbox no more).
pub(crate) async fn mark_credited(
    conn: &mut crate::store::Conn,
    seq: i64,
    id: &crate::payments::PaymentId,
) -> Result<(), CoreError> {
    sqlx::query(
        "UPDATE transfers SET payment_id = $1, related_payment_id = NULL, note = NULL WHERE seq = $2",
    )
    .bind(id.as_str())
    .bind(seq)
    .execute(conn)
    .await?;
    Ok(())
}

/// Staff attach: unmatched transfer `seq`, still on the chain, now credits payment `id`; whether
/// it was still unclaimed.
pub(crate) async fn claim(
    conn: &mut crate::store::Conn,
    seq: i64,
    id: &crate::payments::PaymentId,
) -> Result<bool, CoreError> {
    let claimed = sqlx::query(
        "UPDATE transfers SET payment_id = $1, related_payment_id = NULL, note = NULL
         WHERE seq = $2 AND payment_id IS NULL AND removed = 0",
    )
    .bind(id.as_str())
    .bind(seq)
    .execute(conn)
    .await?;
    Ok(claimed.rows_affected() > 0)
}

/// Transfer `seq` waits in the inbox, linked to the sale it was meant for and why it could not pay it.
pub(crate) async fn note_related(
    conn: &mut crate::store::Conn,
    seq: i64,
    note: &crate::payments::InboxNote,
) -> Result<(), CoreError> {
    sqlx::query("UPDATE transfers SET related_payment_id = $1, note = $2 WHERE seq = $3")
        .bind(note.payment.as_str())
        .bind(note.reason.as_str())
        .bind(seq)
        .execute(conn)
        .await?;
    Ok(())
}

/// The stored transfer `id`.
pub(crate) async fn by_id(pool: &Db, id: i64) -> Result<Option<StoredTransfer>, CoreError> {
    sqlx::query("SELECT * FROM transfers WHERE seq = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(map)
        .transpose()
}

/// The stored transfers: the inbox and what matched.
#[derive(Debug, Clone)]
pub struct Transfers {
    pool: Db,
}

impl Transfers {
    /// Over `pool`.
    pub fn new(pool: Db) -> Self {
        Self { pool }
    }

    /// Stored transfers, newest first; `matched` filters on whether they credit a payment.
    pub async fn list(
        &self,
        matched: Option<bool>,
        limit: u32,
    ) -> Result<Vec<StoredTransfer>, CoreError> {
        let rows = sqlx::query(
        "SELECT * FROM transfers WHERE removed = 0 AND ($1 IS NULL OR (payment_id IS NOT NULL) = $2) ORDER BY seq DESC LIMIT $3",
    )
    .bind(matched)
    .bind(matched)
    .bind(limit.clamp(1, 500) as i64)
    .fetch_all(&self.pool)
    .await?;
        rows.iter().map(map).collect()
    }

    /// How many transfers seen since `since` wait in the inbox linked to a sale they could not pay.
    pub async fn linked_since(&self, since: DateTime<Utc>) -> Result<u64, CoreError> {
        let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM transfers WHERE related_payment_id IS NOT NULL AND payment_id IS NULL
           AND removed = 0 AND note IN ('paid_after_cancel', 'second_payment') AND seen_at >= $1",
    )
    .bind(to_millis(since))
    .fetch_one(&self.pool)
    .await?;
        Ok(n as u64)
    }
}
