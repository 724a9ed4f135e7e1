//! `[pricing]`: the shop's currency and where its rate to the stablecoins comes from.
//!
//! ```toml
//! [pricing]
//! currency = "CNY"          # ISO 4217; default USD
//! source = "coingecko"      # fixed | coingecko | coinbase
//! rate = "7.10"             # fixed only: shop-currency units per token unit
//! markup_percent = "1.5"    # added to the token amount (live rates)
//! refresh_seconds = 60
//! max_age_seconds = 600     # an older rate refuses new sales (never a stale price)
//! ```

use std::time::Duration;

use super::{bad, is_url, section};
use crate::{amount::DecimalAmount, error::CoreError};

section! {
    /// `[pricing]` as written.
    struct RawPricing {
        currency: String = "USD".into(),
        source: String = "fixed".into(),
        rate: String = "1".into(),
        markup_percent: String = "0".into(),
        refresh_seconds: u64 = 60,
        max_age_seconds: u64 = 600,
        coingecko_url: String = "https://api.coingecko.com".into(),
        coinbase_url: String = "https://api.coinbase.com".into(),
    }
}

/// Where rates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateSource {
    /// One rate for every token, set by the owner; never stale.
    Fixed(DecimalAmount),
    /// CoinGecko's `simple/price` (per token, with its own update time).
    CoinGecko {
        /// The API's base URL.
        url: String,
    },
    /// Coinbase's `exchange-rates` (per token).
    Coinbase {
        /// The API's base URL.
        url: String,
    },
}

impl RateSource {
    /// `fixed`, `coingecko` or `coinbase`: what payments record as their `rate_source`.
    pub fn name(&self) -> &'static str {
        match self {
            RateSource::Fixed(_) => "fixed",
            RateSource::CoinGecko { .. } => "coingecko",
            RateSource::Coinbase { .. } => "coinbase",
        }
    }
}

/// `[pricing]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingConfig {
    /// ISO 4217 code, upper case (`USD`, `CNY`, `HKD`, `EUR`, …).
    pub currency: String,
    /// Where the rate comes from.
    pub source: RateSource,
    /// Added to the token amount of a shop-currency price, in hundredths of a percent (0–5000).
    pub markup_bp: u32,
    /// How often a live rate is fetched.
    pub refresh: Duration,
    /// A live rate older than this refuses new shop-currency sales.
    pub max_age: Duration,
}

impl Default for PricingConfig {
    fn default() -> Self {
        RawPricing::default()
            .try_into()
            .expect("the defaults are valid")
    }
}

/// `"1.5"` → 150 hundredths of a percent.
fn basis_points(s: &str) -> Option<u32> {
    let (int, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if int.is_empty()
        || frac.len() > 2
        || !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int: u32 = int.parse().ok()?;
    let frac: u32 = format!("{frac:0<2}").parse().ok()?;
    int.checked_mul(100)?.checked_add(frac)
}

impl TryFrom<RawPricing> for PricingConfig {
    type Error = CoreError;

    fn try_from(p: RawPricing) -> Result<Self, CoreError> {
        let currency = p.currency.trim().to_ascii_uppercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad(
                "pricing.currency",
                format!("{:?} is not an ISO 4217 code like CNY or USD", p.currency),
            ));
        }
        let url = |key: &str, u: &str| {
            if is_url(u, &["http://", "https://"]) {
                Ok(u.trim_end_matches('/').to_owned())
            } else {
                Err(bad(key, format!("{u:?} is not an http(s) URL")))
            }
        };
        let source = match p.source.as_str() {
            "fixed" => RateSource::Fixed(DecimalAmount::parse(p.rate.trim()).map_err(|e| {
                bad(
                    "pricing.rate",
                    format!("{e} (shop-currency units per token unit, e.g. \"7.10\")"),
                )
            })?),
            "coingecko" => RateSource::CoinGecko {
                url: url("pricing.coingecko_url", &p.coingecko_url)?,
            },
            "coinbase" => RateSource::Coinbase {
                url: url("pricing.coinbase_url", &p.coinbase_url)?,
            },
            other => {
                return Err(bad(
                    "pricing.source",
                    format!("{other:?} is not one of fixed, coingecko, coinbase"),
                ))
            }
        };
        let markup_bp = basis_points(&p.markup_percent)
            .filter(|bp| *bp <= 5000)
            .ok_or_else(|| {
                bad(
                    "pricing.markup_percent",
                    "must be a percentage from 0 to 50 with at most 2 decimals, e.g. \"1.5\"",
                )
            })?;
        if !(10..=86_400).contains(&p.refresh_seconds) {
            return Err(bad(
                "pricing.refresh_seconds",
                "must be between 10 and 86400",
            ));
        }
        if p.max_age_seconds < p.refresh_seconds || p.max_age_seconds > 7 * 86_400 {
            return Err(bad(
                "pricing.max_age_seconds",
                "must be at least refresh_seconds and at most 604800 (7 days)",
            ));
        }
        Ok(PricingConfig {
            currency,
            source,
            markup_bp,
            refresh: Duration::from_secs(p.refresh_seconds),
            max_age: Duration::from_secs(p.max_age_seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pricing(toml: &str) -> Result<PricingConfig, CoreError> {
        let raw: RawPricing = toml::from_str(toml).unwrap();
        raw.try_into()
    }

    #[test]
    fn the_default_is_us_dollars_at_one_to_one() {
        let p = PricingConfig::default();
        assert_eq!(p.currency, "USD");
        assert_eq!(
            p.source,
            RateSource::Fixed(DecimalAmount::parse("1").unwrap())
        );
        assert_eq!(p.markup_bp, 0);
    }

    #[test]
    fn a_live_source_with_a_markup_is_read_in_hundredths_of_a_percent() {
        let p = pricing("currency = \"cny\"\nsource = \"coingecko\"\nmarkup_percent = \"1.5\"")
            .unwrap();
        assert_eq!(p.currency, "CNY");
        assert_eq!(p.markup_bp, 150);
        assert_eq!(p.source.name(), "coingecko");
    }

    #[test]
    fn bad_pricing_names_the_key() {
        for (toml, key) in [
            ("currency = \"yuan\"", "pricing.currency"),
            ("source = \"binance\"", "pricing.source"),
            ("rate = \"0\"", "pricing.rate"),
            ("markup_percent = \"60\"", "pricing.markup_percent"),
            ("markup_percent = \"-1\"", "pricing.markup_percent"),
            ("max_age_seconds = 5", "pricing.max_age_seconds"),
            (
                "source = \"coinbase\"\ncoinbase_url = \"ftp://x\"",
                "pricing.coinbase_url",
            ),
        ] {
            let e = pricing(toml).unwrap_err().to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
    }
}
