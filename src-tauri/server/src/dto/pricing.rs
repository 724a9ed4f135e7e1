//! The shop's currency and the rates in force, as the API shows them.

use serde::Serialize;
use stablepay_core::pricing::PricingStatus;
use utoipa::ToSchema;

use super::{payments::percent, rfc3339};

/// `GET /api/v1/pricing`: what a sale in the shop's currency is converted at.
#[derive(Debug, Serialize, ToSchema)]
pub struct PricingResponse {
    /// ISO 4217, e.g. `CNY` (`USD` by default).
    pub currency: String,
    /// `fixed`, `coingecko` or `coinbase`.
    pub source: String,
    /// Added to the token amount, percent.
    pub markup_percent: String,
    /// The rate of each token that has one.
    pub rates: Vec<RateView>,
    /// Why the last fetch failed, while it does.
    pub last_error: Option<String>,
    /// The tip choices the customer display offers (`[tips]`), percent; empty: no tips.
    pub tip_choices: Vec<u32>,
}

/// One token's rate.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateView {
    /// Token symbol.
    pub token: String,
    /// Shop-currency units per token unit.
    pub rate: String,
    /// When it was current, RFC 3339 UTC.
    pub rate_at: String,
    /// Older than `pricing.max_age_seconds`: sales in the shop's currency are refused
    /// (`rate_stale`) until it refreshes.
    pub stale: bool,
}

impl From<PricingStatus> for PricingResponse {
    fn from(s: PricingStatus) -> Self {
        Self {
            currency: s.currency,
            source: s.source.into(),
            markup_percent: percent(s.markup_bp),
            rates: s
                .rates
                .into_iter()
                .map(|(token, rate, stale)| RateView {
                    token,
                    rate: rate.value.to_string(),
                    rate_at: rfc3339(rate.at),
                    stale,
                })
                .collect(),
            last_error: s.last_error,
            tip_choices: Vec::new(),
        }
    }
}
