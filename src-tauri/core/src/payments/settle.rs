//! From chain observations to payment states: every Transfer log to the receive address is stored
//! once (unique on chain, tx hash, log index); a log whose value equals a held exact amount credits
//! that payment (`confirming`) when it passes the payment's lower bound; confirmations, finality and
//! a second endpoint settle it (`paid`); a log whose block left the canonical chain, or that a
//! second endpoint says is not there, un-credits it (`pending`, event `payment.reverted`). A paid
//! payment is never un-paid.
//!
//! Exactly once: one transaction hash credits at most one payment, whatever its log index (a reorg
//! may re-include it at another). A transfer that matches a sale it cannot credit — cancelled, already
//! paid, or older than the sale — waits in the inbox linked to that sale, and never pays another.

use alloy_primitives::B256;
use serde_json::json;
use sqlx::Row;

use super::{query, OpenCredit, Payment, PaymentId, PaymentStatus, Payments, Settlement, Uncredit};
use crate::{
    catalog::NetworkId,
    clock::to_millis,
    error::CoreError,
    events::{self, PaymentEvent, PaymentEventKind},
};

impl Payments {
    /// Confirming payments on a network, with where their credit sits.
    pub async fn open_credits(&self, network: &NetworkId) -> Result<Vec<OpenCredit>, CoreError> {
        let rows = sqlx::query("SELECT id, block_hash, transaction_hash, credit_source FROM payment_sessions WHERE network_id = $1 AND status = 'confirming'")
            .bind(network.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for row in rows {
            let id = PaymentId::from_store(row.try_get("id")?);
            let hash: String = row.try_get("block_hash")?;
            let tx_hash: String = row.try_get("transaction_hash")?;
            if let (Some(payment), Ok(block_hash), Ok(tx_hash)) = (
                query::by_id(&self.pool, &id).await?,
                hash.parse(),
                tx_hash.parse(),
            ) {
                out.push(OpenCredit {
                    payment,
                    block_hash,
                    tx_hash,
                    source: row.try_get("credit_source")?,
                });
            }
        }
        Ok(out)
    }

    /// Takes a credit back: the log is marked removed and the payment returns to `pending`, so the
    /// amount can be paid (or the log re-included) again. Publishes `payment.reverted`.
    pub async fn uncredit(
        &self,
        payment: &Payment,
        why: &Uncredit,
    ) -> Result<Option<Payment>, CoreError> {
        let now = self.clock.now();
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let Some(before) = query::by_id_in(&mut tx, &payment.id).await? else {
            return Ok(None);
        };
        if before.status != PaymentStatus::Confirming {
            return Ok(None);
        }
        let (reason, note) = match why {
            Uncredit::Reorg => ("reorg", None),
            Uncredit::NotConfirmed { .. } => ("not_confirmed", Some("not_confirmed")),
        };
        sqlx::query(
            "UPDATE transfers SET removed = 1, payment_id = NULL, note = COALESCE($1, note) WHERE payment_id = $2",
        )
        .bind(note)
        .bind(payment.id.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE payment_sessions SET status = 'pending', transaction_hash = NULL, block_number = NULL, block_hash = NULL,
                log_index = NULL, confirmations = 0, late = 0, amount_received = NULL, credit_source = NULL, updated_at = $1
             WHERE id = $2",
        )
        .bind(to_millis(now))
        .bind(payment.id.as_str())
        .execute(&mut *tx)
        .await?;
        let after = query::by_id_in(&mut tx, &payment.id)
            .await?
            .ok_or(CoreError::PaymentNotFound)?;
        let event = PaymentEvent {
            kind: PaymentEventKind::StatusChanged {
                previous: PaymentStatus::Confirming,
            },
            payment: after,
        };
        let contradicted_by = match why {
            Uncredit::NotConfirmed { by } => Some(by.as_str()),
            Uncredit::Reorg => None,
        };
        events::record(
            &mut tx,
            &event,
            Some(json!({
                "reason": reason,
                "orphaned_transaction": before.transaction_hash,
                "contradicted_by": contradicted_by,
            })),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(payment = %payment.id, reason, "credit taken back; payment back to pending");
        let payment = event.payment.clone();
        self.events.publish(event);
        Ok(Some(payment))
    }

    /// Marks stored logs in the given (number, hash) blocks, which left the chain, as removed.
    /// The logs of credited payments are handled by [`Payments::uncredit`].
    pub async fn remove_orphaned_logs(
        &self,
        network: &NetworkId,
        orphaned: &[(u64, B256)],
    ) -> Result<u64, CoreError> {
        let mut n = 0;
        for (number, hash) in orphaned {
            n += sqlx::query("UPDATE transfers SET removed = 1 WHERE network_id = $1 AND block_number = $2 AND block_hash = $3 AND payment_id IS NULL")
                .bind(network.as_str())
                .bind(*number as i64)
                .bind(hash.to_string())
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(n)
    }

    /// Distinct (block number, block hash) of stored, non-removed logs at or above `from_block`.
    pub async fn recent_log_blocks(
        &self,
        network: &NetworkId,
        from_block: u64,
    ) -> Result<Vec<(u64, B256)>, CoreError> {
        let rows = sqlx::query("SELECT DISTINCT block_number, block_hash FROM transfers WHERE network_id = $1 AND block_number >= $2 AND removed = 0")
            .bind(network.as_str())
            .bind(from_block as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| crate::store::block(r, "block_number", "block_hash"))
            .collect()
    }

    /// Records `confirmations` for a confirming payment and, when `settled`, makes it `paid`.
    pub async fn confirm(
        &self,
        payment: &Payment,
        confirmations: u32,
        settled: Option<&Settlement>,
    ) -> Result<Option<Payment>, CoreError> {
        if let Some(settlement) = settled {
            sqlx::query("UPDATE payment_sessions SET confirmations = $1 WHERE id = $2 AND status = 'confirming'")
                .bind(confirmations as i64)
                .bind(payment.id.as_str())
                .execute(&self.pool)
                .await?;
            let mut current = payment.clone();
            current.confirmations = confirmations;
            let detail = json!({
                "confirmations": confirmations,
                "confirmed_by": settlement.confirmed_by,
                "single_source": settlement.single_source,
            });
            return self
                .transition_with(
                    &current,
                    PaymentStatus::Confirming,
                    PaymentStatus::Paid,
                    Some(detail),
                )
                .await;
        }
        if confirmations == payment.confirmations {
            return Ok(None);
        }
        let now = self.clock.now();
        let changed = sqlx::query("UPDATE payment_sessions SET confirmations = $1, updated_at = $2 WHERE id = $3 AND status = 'confirming'")
            .bind(confirmations as i64)
            .bind(to_millis(now))
            .bind(payment.id.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let mut updated = payment.clone();
        updated.confirmations = confirmations;
        updated.updated_at = now;
        self.events.publish(PaymentEvent {
            kind: PaymentEventKind::Progress,
            payment: updated.clone(),
        });
        Ok(Some(updated))
    }
}
