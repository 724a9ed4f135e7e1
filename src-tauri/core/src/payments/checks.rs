//! What the manual check asks of payments: who a transaction already credits, whether a transfer
//! is older than a payment, and the audit row of a failed check (see [`crate::chain::verify`]).

use alloy_primitives::B256;
use serde_json::json;
use sqlx::Row;

use super::{holders::predates, ObservedTransfer, Payment, Payments};
use crate::{
    clock::{from_millis, to_millis},
    error::CoreError,
    events::EventType,
};

impl Payments {
    /// Which payment a transaction credits, if any (whatever its log index).
    pub async fn transaction_owner(
        &self,
        chain_id: u64,
        tx_hash: B256,
    ) -> Result<Option<String>, CoreError> {
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT payment_id FROM transfers WHERE chain_id = ? AND tx_hash = ? AND payment_id IS NOT NULL LIMIT 1",
        )
        .bind(chain_id as i64)
        .bind(tx_hash.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(owner)
    }

    /// Whether `t` lies below `payment`'s lower bound (see [`crate::payments`]).
    pub async fn is_older_than(
        &self,
        t: &ObservedTransfer,
        payment: &Payment,
    ) -> Result<bool, CoreError> {
        let first_seen = sqlx::query(
            "SELECT seen_at FROM transfers WHERE chain_id = ? AND tx_hash = ? AND log_index = ?",
        )
        .bind(t.chain_id as i64)
        .bind(t.tx_hash.to_string())
        .bind(t.log_index as i64)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| r.try_get("seen_at").map(from_millis))
        .transpose()?;
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
        sqlx::query("INSERT INTO events (payment_id, kind, from_status, to_status, detail, at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(payment.id.as_str())
            .bind(EventType::PaymentCheckFailed.as_str())
            .bind(payment.status.as_str())
            .bind(payment.status.as_str())
            .bind(json!({ "reason": reason, "transaction_hash": tx_hash.to_string() }).to_string())
            .bind(to_millis(self.clock.now()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
