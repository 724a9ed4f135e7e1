//! The day's close (issue 19): for a day or a shift (any `[from, to)` window — the till sends its
//! own local midnight), what was sold and what came in. Sales are counted by the state of the
//! payments *created* in the window; money by the payments *paid* in it (a sale rung up before
//! midnight and paid after counts in the next day's takings), per token and network, in token units
//! (what arrived) and in the shop's currency (what was asked, for sales that recorded a price in
//! it). Sales refunded since still count in their day's takings; refunds count on the day they
//! were confirmed on chain, per token and network, in token units and in the shop's currency (their
//! share of the sale's price), and the net is what stayed. Sums are exact: token base units and
//! decimal prices are added as integers, never floats.

use std::collections::BTreeMap;

use alloy_primitives::U256;
use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{
    amount::{DecimalAmount, TokenAmount},
    clock::to_millis,
    error::CoreError,
    payments::PaymentStatus,
    store::Db,
};

/// Scale prices are summed at.
const PRICE_SCALE: usize = 18;

/// Money in through one token on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Takings {
    /// Token symbol.
    pub token: String,
    /// Network slug.
    pub network: String,
    /// Payments paid.
    pub payments: u64,
    /// What arrived, in token units (exact).
    pub received: TokenAmount,
    /// Their prices in the shop's currency (payments that recorded one in it).
    pub fiat: Option<DecimalAmount>,
}

/// Money given back through one token on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundTotal {
    /// Token symbol.
    pub token: String,
    /// Network slug.
    pub network: String,
    /// Refunds confirmed.
    pub refunds: u64,
    /// What went back, in token units (exact).
    pub amount: TokenAmount,
    /// Their worth in the shop's currency (refunds of sales priced in it).
    pub fiat: Option<DecimalAmount>,
}

/// The close of a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub to: DateTime<Utc>,
    /// The shop's currency.
    pub currency: String,
    /// Sales created in the window, by their state now (every state listed, 0 when none).
    pub sales: BTreeMap<&'static str, u64>,
    /// Money in, per token and network, paid in the window.
    pub takings: Vec<Takings>,
    /// All takings in the shop's currency.
    pub fiat_total: Option<DecimalAmount>,
    /// Paid payments without a price in the shop's currency (made before it was set, or without a
    /// fresh rate): their token amounts are in `takings`, not in `fiat_total`.
    pub unpriced: u64,
    /// The tips among the takings, in the shop's currency (`None`: no tips).
    pub tips: Option<DecimalAmount>,
    /// Money given back, per token and network, confirmed in the window.
    pub refunds: Vec<RefundTotal>,
    /// All refunds in the shop's currency (`None`: none priced in it).
    pub refunds_fiat_total: Option<DecimalAmount>,
    /// What stayed, `fiat_total` less `refunds_fiat_total`, as decimal text with at least two
    /// places (`-1.00` when more went back than came in); `None` when neither is known.
    pub net_fiat_total: Option<String>,
}

/// The close from the store.
#[derive(Debug, Clone)]
pub struct Reports {
    pool: Db,
}

impl Reports {
    /// Over `pool`.
    pub fn new(pool: Db) -> Self {
        Self { pool }
    }

    /// The close of `[from, to)` in `currency`.
    pub async fn close(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        currency: &str,
    ) -> Result<Close, CoreError> {
        let (from_ms, to_ms) = (to_millis(from), to_millis(to));
        let mut sales: BTreeMap<&'static str, u64> =
            PaymentStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for row in sqlx::query(
            "SELECT status, COUNT(*) AS n FROM payment_sessions
             WHERE created_at >= $1 AND created_at < $2 GROUP BY status",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?
        {
            let status = PaymentStatus::parse(row.try_get("status")?)?;
            sales.insert(status.as_str(), row.try_get::<i64, _>("n")? as u64);
        }

        let rows = sqlx::query(
            "SELECT token_symbol, network_id, decimals, COALESCE(amount_received, amount_base_units) AS received,
               fiat_amount, fiat_currency, tip
             FROM payment_sessions WHERE status IN ('paid', 'partially_refunded', 'refunded') AND paid_at >= $1 AND paid_at < $2
             ORDER BY network_id, token_symbol",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut takings: BTreeMap<(String, String), (u64, TokenAmount, Option<U256>)> =
            BTreeMap::new();
        let (mut fiat_total, mut unpriced, mut tips) = (None::<U256>, 0, None::<U256>);
        for row in rows {
            let token: String = row.try_get("token_symbol")?;
            let network: String = row.try_get("network_id")?;
            let decimals = u8::try_from(row.try_get::<i64, _>("decimals")?)
                .map_err(|_| CoreError::Corrupt(format!("{token}: decimals")))?;
            let received: String = row.try_get("received")?;
            let received = TokenAmount::from_base_units_str(&received, decimals)
                .map_err(|_| CoreError::Corrupt(format!("{token}: received {received:?}")))?;
            let price = match (
                row.try_get::<Option<String>, _>("fiat_amount")?,
                row.try_get::<Option<String>, _>("fiat_currency")?,
            ) {
                // A price with more decimals than the sums keep counts as unpriced, never rounded.
                (Some(a), Some(c)) if c == currency => DecimalAmount::parse(&a)
                    .map_err(|_| CoreError::Corrupt(format!("fiat amount {a:?}")))?
                    .at_scale(PRICE_SCALE),
                _ => None,
            };
            let tip = row
                .try_get::<Option<String>, _>("tip")?
                .and_then(|j| serde_json::from_str::<crate::payments::Tip>(&j).ok())
                .and_then(|t| t.amount);
            if let (Some(t), Some(_)) = (tip.and_then(|t| t.at_scale(PRICE_SCALE)), &price) {
                tips = Some(tips.unwrap_or_default() + t);
            }
            let entry = takings.entry((network, token)).or_insert((
                0,
                TokenAmount::from_base_units(U256::ZERO, decimals),
                None,
            ));
            entry.0 += 1;
            entry.1 = TokenAmount::from_base_units(
                entry.1.base_units() + received.base_units(),
                decimals,
            );
            match price {
                Some(p) => {
                    entry.2 = Some(entry.2.unwrap_or_default() + p);
                    fiat_total = Some(fiat_total.unwrap_or_default() + p);
                }
                None => unpriced += 1,
            }
        }
        let mut refunds: BTreeMap<(String, String), (u64, TokenAmount, Option<U256>)> =
            BTreeMap::new();
        let mut refunds_fiat = None::<U256>;
        for r in crate::payments::refunds_confirmed_between(&self.pool, from_ms, to_ms).await? {
            let decimals = r.amount.decimals();
            let entry = refunds
                .entry((r.network.to_string(), r.token.to_string()))
                .or_insert((0, TokenAmount::from_base_units(U256::ZERO, decimals), None));
            entry.0 += 1;
            entry.1 = TokenAmount::from_base_units(
                entry.1.base_units() + r.amount.base_units(),
                decimals,
            );
            let priced = r
                .fiat_amount
                .as_ref()
                .and_then(|f| f.at_scale(PRICE_SCALE))
                .filter(|_| r.fiat_currency.as_deref() == Some(currency));
            if let Some(f) = priced {
                entry.2 = Some(entry.2.unwrap_or_default() + f);
                refunds_fiat = Some(refunds_fiat.unwrap_or_default() + f);
            }
        }
        let decimal = |v: Option<U256>| v.and_then(|v| DecimalAmount::from_parts(v, PRICE_SCALE));
        Ok(Close {
            from,
            to,
            currency: currency.to_owned(),
            sales,
            takings: takings
                .into_iter()
                .map(|((network, token), (payments, received, fiat))| Takings {
                    token,
                    network,
                    payments,
                    received,
                    fiat: decimal(fiat),
                })
                .collect(),
            fiat_total: decimal(fiat_total),
            unpriced,
            tips: decimal(tips),
            refunds: refunds
                .into_iter()
                .map(|((network, token), (refunds, amount, fiat))| RefundTotal {
                    token,
                    network,
                    refunds,
                    amount,
                    fiat: decimal(fiat),
                })
                .collect(),
            refunds_fiat_total: decimal(refunds_fiat),
            net_fiat_total: net(fiat_total, refunds_fiat),
        })
    }
}

/// `total − back` at [`PRICE_SCALE`], exactly, as signed decimal text with at least two places.
fn net(total: Option<U256>, back: Option<U256>) -> Option<String> {
    if total.is_none() && back.is_none() {
        return None;
    }
    let (total, back) = (total.unwrap_or_default(), back.unwrap_or_default());
    let (sign, magnitude) = if total >= back {
        ("", total - back)
    } else {
        ("-", back - total)
    };
    Some(match DecimalAmount::from_parts(magnitude, PRICE_SCALE) {
        Some(d) => format!("{sign}{}", d.to_string_scaled(2)),
        None => "0.00".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_net_is_exact_signed_and_absent_when_nothing_was_priced() {
        let at = |s: &str| DecimalAmount::parse(s).unwrap().at_scale(PRICE_SCALE);
        assert_eq!(net(at("142.00"), at("28.405")).as_deref(), Some("113.595"));
        assert_eq!(net(at("10"), at("10")).as_deref(), Some("0.00"));
        assert_eq!(net(None, at("3.5")).as_deref(), Some("-3.50"));
        assert_eq!(net(at("7.1"), None).as_deref(), Some("7.10"));
        assert_eq!(net(None, None), None);
    }
}
