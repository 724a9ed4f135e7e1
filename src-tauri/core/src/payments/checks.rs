//! What the manual check asks of payments: who a transaction already credits, whether a transfer
//! is older than a payment, and the audit row of a failed check (see [`crate::chain::verify`]).

use alloy_primitives::B256;
use serde_json::json;

use super::{holders::predates, ObservedTransfer, Payment, Payments};
use crate::{clock::to_millis, error::CoreError, events::EventType};

impl Payments {
    /// Which payment a transaction credits, if any (whatever its log index).
    pub async fn transaction_owner(
        &self,
        chain_id: u64,
        tx_hash: B256,
    ) -> Result<Option<String>, CoreError> {
        crate::transfers::transaction_owner(&self.pool, chain_id, &tx_hash.to_string()).await
    }

    /// Whether `t` lies below `payment`'s lower bound (see [`crate::payments`]).
    pub async fn is_older_than(
        &self,
        t: &ObservedTransfer,
        payment: &Payment,
    ) -> Result<bool, CoreError> {
        let first_seen = crate::transfers::first_seen(&self.pool, t).await?;
        Ok(predates(
            t,
            first_seen,
            payment.start_block,
            payment.created_at,
        ))
    }

    /// Writes a failed manual check to the audit trail (counted by stats).
    pub async fn record_check_failure(
        &self,
        payment: &Payment,
        tx_hash: B256,
        reason: &str,
    ) -> Result<(), CoreError> {
        // In a write transaction: events take their sequence numbers in commit order.
        let mut tx = self.pool.begin_write().await?;
        sqlx::query("INSERT INTO events (payment_id, kind, from_status, to_status, detail, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(payment.id.as_str())
            .bind(EventType::PaymentCheckFailed.as_str())
            .bind(payment.status.as_str())
            .bind(payment.status.as_str())
            .bind(json!({ "reason": reason, "transaction_hash": tx_hash.to_string() }).to_string())
            .bind(to_millis(self.clock.now()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
