//! Prices in the shop's currency (issue 19): the rate from a [`RateSource`] (fixed, or fetched from
//! a public price API every `pricing.refresh_seconds`), and the token amount of a shop-currency
//! price. A live rate older than `pricing.max_age_seconds` refuses new shop-currency sales
//! (`rate_stale`) — a sale is never priced from a stale rate.
//!
//! Rounding: the token amount is `price ÷ rate × (1 + markup)`, always rounded **up** to the
//! payments' amount step (`payments.amount_step`); the unique offset is added after that, so the
//! customer pays at least the price. A token-priced sale records what it is worth in the shop's
//! currency at the current rate (if one is fresh), rounded half up to cents, without the markup.

mod providers;

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use alloy_primitives::U256;
use chrono::{DateTime, Utc};

pub use self::providers::fetch;
use crate::{
    amount::{DecimalAmount, TokenAmount},
    clock::Clock,
    config::pricing::{PricingConfig, RateSource},
    error::CoreError,
};

/// One token's rate: shop-currency units per token unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    /// e.g. `7.1234` (CNY per USDT).
    pub value: DecimalAmount,
    /// `fixed`, `coingecko`, `coinbase`.
    pub source: String,
    /// When the source says it was current (or when it was fetched, for sources that do not say).
    pub at: DateTime<Utc>,
}

/// What a shop-currency amount is, or was, worth: recorded on the payment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FiatPrice {
    /// In the shop's currency.
    pub amount: DecimalAmount,
    /// ISO 4217.
    pub currency: String,
    /// The rate used.
    pub rate: Rate,
    /// The markup applied, hundredths of a percent.
    pub markup_bp: u32,
}

/// The rates in force and how to get new ones; cheap to clone.
#[derive(Debug, Clone)]
pub struct Pricing {
    config: PricingConfig,
    clock: Arc<dyn Clock>,
    started: DateTime<Utc>,
    rates: Arc<RwLock<HashMap<String, Rate>>>,
    last_error: Arc<RwLock<Option<String>>>,
}

/// The pricing state, for Settings and the monitoring.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingStatus {
    /// ISO 4217.
    pub currency: String,
    /// `fixed`, `coingecko`, `coinbase`.
    pub source: &'static str,
    /// Markup, hundredths of a percent.
    pub markup_bp: u32,
    /// Each token's rate, whether it is too old to sell at.
    pub rates: Vec<(String, Rate, bool)>,
    /// The last fetch's failure, if the last fetch failed.
    pub last_error: Option<String>,
}

impl Pricing {
    /// With no live rate yet (a fixed rate is in force at once).
    pub fn new(config: PricingConfig, clock: Arc<dyn Clock>) -> Self {
        let started = clock.now();
        Self {
            config,
            clock,
            started,
            rates: Arc::default(),
            last_error: Arc::default(),
        }
    }

    /// The shop's currency.
    pub fn currency(&self) -> &str {
        &self.config.currency
    }

    /// `token`'s rate if there is one, stale or not.
    fn any_rate(&self, token: &str) -> Option<Rate> {
        match &self.config.source {
            RateSource::Fixed(value) => Some(Rate {
                value: value.clone(),
                source: "fixed".into(),
                at: self.started,
            }),
            _ => self.rates.read().expect("rates lock").get(token).cloned(),
        }
    }

    fn is_stale(&self, rate: &Rate) -> bool {
        rate.source != "fixed"
            && (self.clock.now() - rate.at).to_std().unwrap_or_default() > self.config.max_age
    }

    /// `token`'s rate to sell at: refused when there is none or it is too old.
    pub fn rate(&self, token: &str) -> Result<Rate, CoreError> {
        let source = self.config.source.name();
        let rate = self
            .any_rate(token)
            .ok_or_else(|| CoreError::RateUnavailable {
                token: token.to_owned(),
                rate_source: source.into(),
                reason: self.last_error.read().expect("error lock").clone(),
            })?;
        if self.is_stale(&rate) {
            return Err(CoreError::RateStale {
                rate_source: source.into(),
                age_seconds: (self.clock.now() - rate.at).num_seconds().max(0) as u64,
                max_seconds: self.config.max_age.as_secs(),
            });
        }
        Ok(rate)
    }

    /// The token amount for `price` in the shop's currency, rounded up to `step`, and what to
    /// record.
    pub fn quote(
        &self,
        token: &str,
        price: &DecimalAmount,
        decimals: u8,
        step: TokenAmount,
    ) -> Result<(TokenAmount, FiatPrice), CoreError> {
        let rate = self.rate(token)?;
        self.priced(price, rate, self.config.markup_bp, decimals, step)
    }

    /// [`Self::quote`] at `rate` (source `order`: the order named it), without the shop's markup.
    pub fn quote_at(
        &self,
        price: &DecimalAmount,
        rate: &DecimalAmount,
        decimals: u8,
        step: TokenAmount,
    ) -> Result<(TokenAmount, FiatPrice), CoreError> {
        let rate = Rate {
            value: rate.clone(),
            source: "order".into(),
            at: self.clock.now(),
        };
        self.priced(price, rate, 0, decimals, step)
    }

    fn priced(
        &self,
        price: &DecimalAmount,
        rate: Rate,
        markup_bp: u32,
        decimals: u8,
        step: TokenAmount,
    ) -> Result<(TokenAmount, FiatPrice), CoreError> {
        let amount = token_amount(price, &rate.value, markup_bp, decimals, step)
            .ok_or(CoreError::AmountTooLarge(price.to_string()))?;
        Ok((
            amount,
            FiatPrice {
                amount: price.clone(),
                currency: self.config.currency.clone(),
                rate,
                markup_bp,
            },
        ))
    }

    /// The current rate of `token`'s value (fresh), for an order that adjusts it.
    pub fn rate_value(&self, token: &str) -> Result<DecimalAmount, CoreError> {
        Ok(self.rate(token)?.value)
    }

    /// What `amount` of `token` is worth in the shop's currency now, if a fresh rate is known.
    pub fn value_of(&self, token: &str, amount: TokenAmount) -> Option<FiatPrice> {
        let rate = self.rate(token).ok()?;
        Some(FiatPrice {
            amount: fiat_value(amount, &rate.value)?,
            currency: self.config.currency.clone(),
            rate,
            markup_bp: 0,
        })
    }

    /// Fetches the live rates of `tokens` once (a fixed source has nothing to fetch). A failure
    /// keeps the previous rates, which age towards `max_age`.
    pub async fn refresh(&self, client: &reqwest::Client, tokens: &[String]) -> Result<(), String> {
        if matches!(self.config.source, RateSource::Fixed(_)) {
            return Ok(());
        }
        let fetched = fetch(
            client,
            &self.config.source,
            &self.config.currency,
            tokens,
            self.clock.now(),
        )
        .await;
        match fetched {
            Ok(rates) => {
                self.rates.write().expect("rates lock").extend(rates);
                *self.last_error.write().expect("error lock") = None;
                Ok(())
            }
            Err(e) => {
                *self.last_error.write().expect("error lock") = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Refreshes every `pricing.refresh_seconds` until aborted (the host spawns this).
    pub async fn run(self, tokens: Vec<String>) {
        if matches!(self.config.source, RateSource::Fixed(_)) {
            return;
        }
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let mut tick = tokio::time::interval(self.config.refresh);
        loop {
            tick.tick().await;
            if let Err(e) = self.refresh(&client, &tokens).await {
                tracing::warn!(source = self.config.source.name(), error = %e, "no new rate");
            }
        }
    }

    /// The rates in force, for Settings and the monitoring.
    pub fn status(&self, tokens: &[String]) -> PricingStatus {
        PricingStatus {
            currency: self.config.currency.clone(),
            source: self.config.source.name(),
            markup_bp: self.config.markup_bp,
            rates: tokens
                .iter()
                .filter_map(|t| {
                    self.any_rate(t)
                        .map(|r| (t.clone(), r.clone(), self.is_stale(&r)))
                })
                .collect(),
            last_error: self.last_error.read().expect("error lock").clone(),
        }
    }
}

fn pow10(n: usize) -> Option<U256> {
    U256::from(10u8).checked_pow(U256::from(n))
}

/// `⌈a / b⌉`.
fn div_up(a: U256, b: U256) -> U256 {
    let (q, r) = a.div_rem(b);
    if r.is_zero() {
        q
    } else {
        q + U256::from(1u8)
    }
}

/// `price ÷ rate × (1 + markup_bp / 10000)` in base units, rounded up to a multiple of `step`.
pub(crate) fn token_amount(
    price: &DecimalAmount,
    rate: &DecimalAmount,
    markup_bp: u32,
    decimals: u8,
    step: TokenAmount,
) -> Option<TokenAmount> {
    let (pd, ps) = price.parts();
    let (rd, rs) = rate.parts();
    let numerator = pd
        .checked_mul(pow10(decimals as usize + rs)?)?
        .checked_mul(U256::from(10_000 + markup_bp))?;
    let denominator = rd
        .checked_mul(pow10(ps)?)?
        .checked_mul(U256::from(10_000u32))?;
    let base = div_up(numerator, denominator);
    let step = step.base_units().max(U256::from(1u8));
    let base = div_up(base, step).checked_mul(step)?;
    Some(TokenAmount::from_base_units(base, decimals))
}

/// `amount × rate`, rounded half up to cents.
fn fiat_value(amount: TokenAmount, rate: &DecimalAmount) -> Option<DecimalAmount> {
    let (rd, rs) = rate.parts();
    let cents = amount
        .base_units()
        .checked_mul(rd)?
        .checked_mul(U256::from(100u8))?;
    let scale = pow10(amount.decimals() as usize + rs)?;
    let (q, r) = cents.div_rem(scale);
    let rounded = if r.checked_mul(U256::from(2u8))? >= scale {
        q + U256::from(1u8)
    } else {
        q
    };
    DecimalAmount::from_parts(rounded, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn d(s: &str) -> DecimalAmount {
        DecimalAmount::parse(s).unwrap()
    }
    fn step(decimals: u8) -> TokenAmount {
        d("0.01").to_token(decimals).unwrap()
    }

    #[test]
    fn a_shop_currency_price_is_divided_by_the_rate_and_rounded_up_to_the_step() {
        // 35.50 CNY at 7.10 CNY/USDT = exactly 5 USDT.
        let five = token_amount(&d("35.50"), &d("7.10"), 0, 18, step(18)).unwrap();
        assert_eq!(five.to_decimal_string(2), "5.00");
        // 10 CNY at 7.1234 = 1.40382…, up to 1.41 (never below the price).
        let up = token_amount(&d("10"), &d("7.1234"), 0, 18, step(18)).unwrap();
        assert_eq!(up.to_decimal_string(2), "1.41");
        // A 1.5 % markup: 35.50 / 7.10 × 1.015 = 5.075 → 5.08; on a 6-decimal token too.
        let marked = token_amount(&d("35.50"), &d("7.10"), 150, 6, step(6)).unwrap();
        assert_eq!(marked.to_decimal_string(2), "5.08");
        assert_eq!(marked.base_units(), U256::from(5_080_000u64));
    }

    #[test]
    fn a_token_amount_is_worth_its_rate_in_cents_rounded_half_up() {
        let amount = d("5.005").to_token(18).unwrap();
        assert_eq!(fiat_value(amount, &d("1")).unwrap().to_string(), "5.01");
        assert_eq!(
            fiat_value(d("2").to_token(6).unwrap(), &d("7.1234"))
                .unwrap()
                .to_string(),
            "14.25"
        );
    }

    #[test]
    fn a_live_rate_past_its_age_refuses_to_price_and_a_fixed_one_never_does() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let live = Pricing::new(
            PricingConfig {
                source: RateSource::Coinbase {
                    url: "http://x".into(),
                },
                ..PricingConfig::default()
            },
            clock.clone(),
        );
        assert_eq!(live.rate("USDT").unwrap_err().code(), "rate_unavailable");
        live.rates.write().unwrap().insert(
            "USDT".into(),
            Rate {
                value: d("7.1"),
                source: "coinbase".into(),
                at: clock.now(),
            },
        );
        assert!(live.rate("USDT").is_ok());
        clock.advance(chrono::Duration::seconds(601));
        let e = live.rate("USDT").unwrap_err();
        assert_eq!(e.code(), "rate_stale");
        assert!(e.to_string().contains("601"), "{e}");

        let fixed = Pricing::new(PricingConfig::default(), clock.clone());
        clock.advance(chrono::Duration::days(400));
        assert_eq!(fixed.rate("USDT").unwrap().value, d("1"));
    }
}
