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
//! normal rules (confirmations, finality, a second endpoint).

use alloy_primitives::U256;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{sqlite::SqliteRow, Row, SqlitePool};

use crate::{
    address::Address,
    catalog::NetworkId,
    clock::{from_millis, to_millis},
    error::CoreError,
    events::{self, PaymentEvent, PaymentEventKind},
    payments::{Payment, PaymentId, PaymentStatus, Payments},
};

/// Bounds on an attach reason.
const MAX_REASON_CHARS: usize = 500;

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

fn map(row: &SqliteRow) -> Result<StoredTransfer, CoreError> {
    Ok(StoredTransfer {
        id: row.get("seq"),
        network: NetworkId::parse(row.get("network_id"))?,
        chain_id: row.get::<i64, _>("chain_id") as u64,
        token_contract: Address::parse(row.get("token_contract"))?,
        tx_hash: row.get("tx_hash"),
        log_index: row.get::<i64, _>("log_index") as u64,
        block_number: row.get::<i64, _>("block_number") as u64,
        from: Address::parse(row.get("from_address"))?,
        to: Address::parse(row.get("to_address"))?,
        value: U256::from_str_radix(row.get("value_base_units"), 10).map_err(|_| {
            CoreError::Config(format!(
                "transfer {} has a corrupt amount in the database",
                row.get::<i64, _>("seq")
            ))
        })?,
        payment_id: row.get("payment_id"),
        related_payment_id: row.get("related_payment_id"),
        reason: row.get("note"),
        removed: row.get("removed"),
        seen_at: from_millis(row.get("seen_at")),
    })
}

/// Stored transfers, newest first; `matched` filters on whether they credit a payment.
pub async fn list(
    pool: &SqlitePool,
    matched: Option<bool>,
    limit: u32,
) -> Result<Vec<StoredTransfer>, CoreError> {
    let rows = sqlx::query(
        "SELECT * FROM transfers WHERE removed = 0 AND (? IS NULL OR (payment_id IS NOT NULL) = ?) ORDER BY seq DESC LIMIT ?",
    )
    .bind(matched)
    .bind(matched)
    .bind(limit.clamp(1, 500) as i64)
    .fetch_all(pool)
    .await?;
    rows.iter().map(map).collect()
}

/// How many transfers seen since `since` wait in the inbox linked to a sale they could not pay.
pub async fn linked_since(pool: &SqlitePool, since: DateTime<Utc>) -> Result<u64, CoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM transfers WHERE related_payment_id IS NOT NULL AND payment_id IS NULL
           AND removed = 0 AND note IN ('paid_after_cancel', 'second_payment') AND seen_at >= ?",
    )
    .bind(to_millis(since))
    .fetch_one(pool)
    .await?;
    Ok(n as u64)
}

impl Payments {
    /// Credits `payment` with the unmatched transfer `transfer_id`, for `reason` (rules in the
    /// module doc).
    pub async fn attach(
        &self,
        payment_id: &PaymentId,
        transfer_id: i64,
        reason: &str,
    ) -> Result<Payment, CoreError> {
        let reason = reason.trim();
        if reason.is_empty()
            || reason.chars().count() > MAX_REASON_CHARS
            || reason.chars().any(char::is_control)
        {
            return Err(CoreError::field(
                "reason",
                format!(
                    "say why this transfer pays this payment (1 to {MAX_REASON_CHARS} characters)"
                ),
            ));
        }
        let payment = self.get(payment_id).await?;
        if !matches!(
            payment.status,
            PaymentStatus::Pending | PaymentStatus::Expired
        ) {
            return Err(CoreError::InvalidState {
                status: payment.status.as_str(),
                action: "attach a transfer to",
            });
        }
        let row = sqlx::query("SELECT * FROM transfers WHERE seq = ?")
            .bind(transfer_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(CoreError::TransferNotFound)?;
        let t = map(&row)?;
        let refuse = |reason: &str| Err(CoreError::field("transfer_id", reason.to_string()));
        if t.payment_id.is_some()
            || sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM transfers WHERE chain_id = ? AND tx_hash = ? AND payment_id IS NOT NULL",
            )
            .bind(t.chain_id as i64)
            .bind(&t.tx_hash)
            .fetch_one(self.pool())
            .await?
                > 0
        {
            return Err(CoreError::InvalidState {
                status: "already credited",
                action: "attach this transfer",
            });
        }
        if t.removed {
            return refuse("this transfer's block left the chain");
        }
        if t.network != payment.network
            || t.token_contract != payment.token_contract
            || t.to != payment.pay_to
        {
            return refuse(
                "this transfer is of another token, network or receive address than the payment",
            );
        }
        let now = self.now();
        let mut tx = crate::store::begin_write(self.pool()).await?;
        let credited = sqlx::query(
            "UPDATE payment_sessions SET status = 'confirming', transaction_hash = ?, block_number = ?,
                block_hash = (SELECT block_hash FROM transfers WHERE seq = ?), log_index = ?, confirmations = 0,
                late = (status = 'expired'), closed_at = NULL, amount_received = ?,
                credit_source = (SELECT source FROM transfers WHERE seq = ?), updated_at = ?
             WHERE id = ? AND status IN ('pending', 'expired') AND transaction_hash IS NULL",
        )
        .bind(&t.tx_hash)
        .bind(t.block_number as i64)
        .bind(t.id)
        .bind(t.log_index as i64)
        .bind(t.value.to_string())
        .bind(t.id)
        .bind(to_millis(now))
        .bind(payment.id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.amount_conflict(e, &payment))?
        .rows_affected();
        let claimed = sqlx::query("UPDATE transfers SET payment_id = ?, related_payment_id = NULL, note = NULL WHERE seq = ? AND payment_id IS NULL AND removed = 0")
            .bind(payment.id.as_str())
            .bind(t.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if credited == 0 || claimed == 0 {
            return Err(CoreError::InvalidState {
                status: "changed",
                action: "attach a transfer to",
            });
        }
        let mut after = payment.clone();
        after.status = PaymentStatus::Confirming;
        after.transaction_hash = Some(t.tx_hash.clone());
        after.block_number = Some(t.block_number);
        after.late = payment.status == PaymentStatus::Expired;
        after.amount_received = Some(crate::amount::TokenAmount::from_base_units(
            t.value,
            payment.amount.decimals(),
        ));
        after.updated_at = now;
        let event = PaymentEvent {
            kind: PaymentEventKind::StatusChanged {
                previous: payment.status,
            },
            payment: after,
        };
        let detail = json!({
            "attached_by": "staff",
            "reason": reason,
            "transfer_id": t.id,
            "transaction_hash": t.tx_hash,
            "value_base_units": t.value.to_string(),
            "amount_base_units": payment.amount.base_units().to_string(),
        });
        events::record(&mut tx, &event, Some(detail)).await?;
        tx.commit().await?;
        let updated = self.get(payment_id).await?;
        self.publish(PaymentEvent {
            kind: event.kind,
            payment: updated.clone(),
        });
        Ok(updated)
    }

    /// An expired payment's exact amount may be held by a newer open payment by now: crediting it
    /// would break the one-open-payment-per-amount rule, which the store enforces.
    fn amount_conflict(&self, e: sqlx::Error, payment: &Payment) -> CoreError {
        match &e {
            sqlx::Error::Database(d) if d.message().contains("UNIQUE") => {
                CoreError::AmountHeld(format!(
                    "{} {} on {}",
                    payment.amount.to_decimal_string(2),
                    payment.token,
                    payment.network
                ))
            }
            _ => CoreError::Database(e),
        }
    }
}
