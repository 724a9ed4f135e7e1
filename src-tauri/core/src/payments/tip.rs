//! Tips (issue 19): a sale priced in the shop's currency may ask the customer for a tip before its
//! amount is fixed. The customer display then offers `[tips] choices` (and "no tip") instead of the
//! QR code; the choice adds the tip to the shop-currency price, converts it at the rate the sale
//! recorded, and takes a new unique exact amount — before anyone was shown one to pay.

use alloy_primitives::U256;

use super::{query, Payment, PaymentId, PaymentStatus, Payments};
use crate::{
    amount::DecimalAmount,
    error::CoreError,
    events::{PaymentEvent, PaymentEventKind},
};

/// A sale's tip: asked (no `percent` yet) or chosen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tip {
    /// The percentages offered.
    pub choices: Vec<u32>,
    /// The price before the tip, shop currency.
    pub base: DecimalAmount,
    /// The chosen percentage (0: no tip); `None` while the customer chooses.
    pub percent: Option<u32>,
    /// The tip, shop currency (none for 0 %).
    pub amount: Option<DecimalAmount>,
}

impl Tip {
    /// Asked, not chosen yet: the sale has no amount to show.
    pub fn pending(&self) -> bool {
        self.percent.is_none()
    }
}

/// `base × percent / 100`, half up to the cent, and `base` + that.
fn with_tip(base: &DecimalAmount, percent: u32) -> (Option<DecimalAmount>, DecimalAmount) {
    let (digits, scale) = base.parts();
    let ten = |n: usize| U256::from(10u8).pow(U256::from(n));
    let (cents, rest) = (digits * U256::from(percent)).div_rem(ten(scale));
    let cents = if rest * U256::from(2u8) >= ten(scale) && !rest.is_zero() {
        cents + U256::from(1u8)
    } else {
        cents
    };
    let tip = DecimalAmount::from_parts(cents, 2);
    let s = scale.max(2);
    let total = digits * ten(s - scale) + cents * ten(s - 2);
    (
        tip,
        DecimalAmount::from_parts(total, s).unwrap_or_else(|| base.clone()),
    )
}

impl Payments {
    /// The customer's tip choice for sale `id` (0: no tip): the price grows by it, and the sale
    /// takes its exact amount at the rate it recorded. Only while the tip is asked and nothing was
    /// received.
    pub async fn choose_tip(&self, id: &PaymentId, percent: u32) -> Result<Payment, CoreError> {
        let _one_at_a_time = self.create_lock.lock().await;
        let sale = self.get(id).await?;
        let refuse = || CoreError::InvalidState {
            status: sale.status.as_str(),
            action: "add a tip to (only an open sale still asking for one)",
        };
        let (Some(tip), Some(fiat)) = (sale.tip.clone(), sale.fiat.clone()) else {
            return Err(refuse());
        };
        if sale.status != PaymentStatus::Pending || !tip.pending() || sale.amount_received.is_some()
        {
            return Err(refuse());
        }
        if percent != 0 && !tip.choices.contains(&percent) {
            return Err(CoreError::field(
                "percent",
                format!("one of {:?}, or 0 for no tip", tip.choices),
            ));
        }
        let (amount, total) = with_tip(&tip.base, percent);
        let mut next = sale.clone();
        next.tip = Some(Tip {
            percent: Some(percent),
            amount: amount.filter(|_| percent > 0),
            ..tip
        });
        if percent > 0 {
            let decimals = sale.amount.decimals();
            let step = self.rules.amount_step.to_token(decimals)?;
            let requested = crate::pricing::token_amount(
                &total,
                &fiat.rate.value,
                fiat.markup_bp,
                decimals,
                step,
            )
            .ok_or(CoreError::AmountTooLarge(total.to_string()))?;
            let (k, exact) = self
                .free_amount(
                    &sale.network,
                    &sale.token,
                    &sale.pay_to,
                    requested,
                    self.clock.now(),
                )
                .await?;
            next.requested_amount = requested;
            next.amount = exact;
            next.offset_steps = k;
            next.fiat = Some(crate::pricing::FiatPrice {
                amount: total,
                ..fiat
            });
        }
        next.updated_at = self.clock.now();
        if !query::set_tip(&self.pool, &next).await? {
            return Err(refuse());
        }
        let updated = self.get(id).await?;
        self.events.publish(PaymentEvent {
            kind: PaymentEventKind::Progress,
            payment: updated.clone(),
        });
        Ok(updated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tip_is_a_percentage_of_the_price_rounded_half_up_to_the_cent() {
        let base = DecimalAmount::parse("44.99").unwrap();
        let (tip, total) = with_tip(&base, 10);
        assert_eq!(tip.unwrap().to_string(), "4.5", "4.499 → 4.50");
        assert_eq!(total.to_string_scaled(2), "49.49");
        let (tip, total) = with_tip(&DecimalAmount::parse("35.5").unwrap(), 15);
        assert_eq!(
            (tip.unwrap().to_string(), total.to_string_scaled(2)),
            ("5.33".into(), "40.83".into())
        );
    }
}
