//! The rest of a short payment (issue 19): a sale credited by hand with a transfer below its
//! amount (an exchange withdrawal minus its fee) can ask for what is missing — a new payment for the
//! remainder, with its own unique exact amount, linked to the sale (`remainder_of`). The sale is
//! paid in full once its remainder is paid; both transfers stay recorded, one on each.

use super::{query, AmountMatch, NewPayment, Payment, PaymentId, PaymentStatus, Payments, Price};
use crate::{amount::DecimalAmount, error::CoreError, payments::IdempotencyKey};

/// A short sale and what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    /// What is missing, token units (asked − received).
    pub missing: crate::amount::TokenAmount,
    /// The payment asking for it, once requested.
    pub remainder: Option<Payment>,
}

impl Shortfall {
    /// Paid in full: the remainder was paid.
    pub fn settled(&self) -> bool {
        self.remainder
            .as_ref()
            .is_some_and(|r| r.status == PaymentStatus::Paid)
    }
}

impl Payments {
    /// What `payment` still lacks, when it was credited with less than it asked.
    pub async fn shortfall(&self, payment: &Payment) -> Result<Option<Shortfall>, CoreError> {
        if payment.amount_match() != Some(AmountMatch::Underpaid) {
            return Ok(None);
        }
        let received = payment.amount_received.unwrap_or(payment.amount);
        let missing = crate::amount::TokenAmount::from_base_units(
            payment.amount.base_units() - received.base_units(),
            payment.amount.decimals(),
        );
        let remainder = query::remainder_of(&self.pool, &payment.id).await?;
        Ok(Some(Shortfall { missing, remainder }))
    }

    /// Asks for the rest of short sale `id`: a payment for what is missing, in the same token on
    /// the same network. Asking again answers the same remainder while it is open or paid; an
    /// expired or cancelled one is replaced.
    pub async fn request_remainder(&self, id: &PaymentId) -> Result<Payment, CoreError> {
        let sale = self.get(id).await?;
        let refuse = || CoreError::InvalidState {
            status: sale.status.as_str(),
            action: "ask for the rest of (only a sale credited with less than it asked has one)",
        };
        if !matches!(sale.status, PaymentStatus::Confirming | PaymentStatus::Paid) {
            return Err(refuse());
        }
        let shortfall = self.shortfall(&sale).await?.ok_or_else(refuse)?;
        if let Some(r) = shortfall.remainder.filter(|r| {
            matches!(
                r.status,
                PaymentStatus::Pending | PaymentStatus::Confirming | PaymentStatus::Paid
            )
        }) {
            return Ok(r);
        }
        let missing = DecimalAmount::parse(&shortfall.missing.to_decimal_string(0))?;
        let created = self
            .create(NewPayment {
                price: Price::Amount(missing),
                token: sale.token.clone(),
                network: sale.network.clone(),
                description: Some(match &sale.description {
                    Some(d) => format!("{d} (rest)"),
                    None => "Rest of a sale".into(),
                }),
                order_reference: None,
                expires_in: None,
                metadata: None,
                idempotency_key: None::<IdempotencyKey>,
                remainder_of: Some(sale.id.clone()),
                cart: None,
                ask_tip: false,
                rate: None,
                // The rest is asked at the counter that made the sale.
                counter: sale.counter.clone(),
            })
            .await?;
        Ok(created.payment)
    }
}
