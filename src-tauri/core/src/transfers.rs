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

use alloy_primitives::U256;
use chrono::{DateTime, Utc};
use sqlx::{sqlite::SqliteRow, FromRow, SqlitePool};

use crate::{
    address::Address,
    catalog::NetworkId,
    clock::{from_millis, to_millis},
    error::CoreError,
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
    removed: bool,
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
            removed: r.removed,
            seen_at: from_millis(r.seen_at),
        })
    }
}

fn map(row: &SqliteRow) -> Result<StoredTransfer, CoreError> {
    StoredTransfer::try_from(TransferRow::from_row(row)?)
}

/// The stored transfer `id`.
pub(crate) async fn by_id(pool: &SqlitePool, id: i64) -> Result<Option<StoredTransfer>, CoreError> {
    sqlx::query("SELECT * FROM transfers WHERE seq = ?")
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
    pool: SqlitePool,
}

impl Transfers {
    /// Over `pool`.
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Stored transfers, newest first; `matched` filters on whether they credit a payment.
    pub async fn list(
        &self,
        matched: Option<bool>,
        limit: u32,
    ) -> Result<Vec<StoredTransfer>, CoreError> {
        let rows = sqlx::query(
        "SELECT * FROM transfers WHERE removed = 0 AND (? IS NULL OR (payment_id IS NOT NULL) = ?) ORDER BY seq DESC LIMIT ?",
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
           AND removed = 0 AND note IN ('paid_after_cancel', 'second_payment') AND seen_at >= ?",
    )
    .bind(to_millis(since))
    .fetch_one(&self.pool)
    .await?;
        Ok(n as u64)
    }
}
