//! Staff attach: crediting a payment by hand with an unmatched transfer from the inbox (rules in
//! [`crate::transfers`]).

use serde_json::json;

use super::{Payment, PaymentId, PaymentStatus, Payments};
use crate::{
    clock::to_millis,
    error::CoreError,
    events::{self, PaymentEvent, PaymentEventKind},
};

/// Bounds on an attach reason.
const MAX_REASON_CHARS: usize = 500;

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
        let t = crate::transfers::by_id(&self.pool, transfer_id)
            .await?
            .ok_or(CoreError::TransferNotFound)?;
        let refuse = |reason: &str| Err(CoreError::field("transfer_id", reason.to_string()));
        if t.payment_id.is_some()
            || sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM transfers WHERE chain_id = ? AND tx_hash = ? AND payment_id IS NOT NULL",
            )
            .bind(t.chain_id as i64)
            .bind(&t.tx_hash)
            .fetch_one(&self.pool)
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
        let now = self.clock.now();
        let mut tx = crate::store::begin_write(&self.pool).await?;
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
        self.events.publish(PaymentEvent {
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
