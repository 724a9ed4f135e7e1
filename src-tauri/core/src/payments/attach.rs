//! Staff attach: crediting a payment by hand with an unmatched transfer from the inbox (rules in
//! [`crate::transfers`]).

use serde_json::json;

use super::{query, Payment, PaymentId, PaymentStatus, Payments};
use crate::{
    error::CoreError,
    events::{self, PaymentEvent, PaymentEventKind},
    transfers::{self, StoredTransfer},
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
        let reason = check_reason(reason)?;
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
        let t = transfers::by_id(&self.pool, transfer_id)
            .await?
            .ok_or(CoreError::TransferNotFound)?;
        self.check_attachable(&payment, &t).await?;
        let now = self.clock.now();
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let credited = query::credit_by_hand(&mut tx, &payment.id, &t, now)
            .await
            .map_err(|e| self.amount_conflict(e, &payment))?;
        let claimed = transfers::claim(&mut tx, t.id, &payment.id).await?;
        if !credited || !claimed {
            return Err(CoreError::InvalidState {
                status: "changed",
                action: "attach a transfer to",
            });
        }
        let event = PaymentEvent {
            kind: PaymentEventKind::StatusChanged {
                previous: payment.status,
            },
            payment: query::by_id_in(&mut tx, &payment.id)
                .await?
                .ok_or(CoreError::PaymentNotFound)?,
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
        let updated = event.payment.clone();
        self.events.publish(event);
        Ok(updated)
    }

    /// Whether `t` may pay `payment`: not credited (nor another log of its transaction), still on
    /// the chain, and of the payment's token, network and receive address.
    async fn check_attachable(
        &self,
        payment: &Payment,
        t: &StoredTransfer,
    ) -> Result<(), CoreError> {
        let refuse = |reason: &str| Err(CoreError::field("transfer_id", reason.to_string()));
        if t.payment_id.is_some()
            || transfers::transaction_owner(&self.pool, t.chain_id, &t.tx_hash)
                .await?
                .is_some()
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
        Ok(())
    }

    /// An expired payment's exact amount may be held by a newer open payment by now: crediting it
    /// would break the one-open-payment-per-amount rule, which the store enforces.
    fn amount_conflict(&self, e: sqlx::Error, payment: &Payment) -> CoreError {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => CoreError::AmountHeld(format!(
                "{} {} on {}",
                payment.amount.to_decimal_string(2),
                payment.token,
                payment.network
            )),
            _ => CoreError::Database(e),
        }
    }
}

/// The attach reason, trimmed: 1 to [`MAX_REASON_CHARS`] characters, no control characters.
fn check_reason(reason: &str) -> Result<&str, CoreError> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON_CHARS
        || reason.chars().any(char::is_control)
    {
        return Err(CoreError::field(
            "reason",
            format!("say why this transfer pays this payment (1 to {MAX_REASON_CHARS} characters)"),
        ));
    }
    Ok(reason)
}
