//! The day's close as the API shows it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stablepay_core::reports::Close;
use utoipa::{IntoParams, ToSchema};

use super::{payments::DISPLAY_SCALE, rfc3339};

/// `GET /api/v1/reports/close`: the window.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CloseQuery {
    /// Start, RFC 3339 (inclusive): the till's local midnight, or a shift's start.
    pub from: String,
    /// End, RFC 3339 (exclusive); at most 31 days after `from`.
    pub to: String,
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
}

/// The close of a day or a shift.
#[derive(Debug, Serialize, ToSchema)]
pub struct CloseResponse {
    /// RFC 3339 UTC.
    pub from: String,
    /// RFC 3339 UTC.
    pub to: String,
    /// The shop's currency.
    pub currency: String,
    /// Sales created in the window by their state now: every state, 0 when none.
    pub sales: BTreeMap<String, u64>,
    /// Money in (payments paid in the window) per token and network.
    pub takings: Vec<TakingsView>,
    /// All takings in the shop's currency (null when none recorded a price in it).
    pub fiat_total: Option<String>,
    /// Paid payments without a price in the shop's currency (only in the token figures).
    pub unpriced: u64,
    /// The tips among the takings, shop currency (null: none).
    pub tips: Option<String>,
    /// Money given back (refunds confirmed in the window) per token and network.
    pub refunds: Vec<RefundTotalView>,
    /// All refunds in the shop's currency (null: none priced in it).
    pub refunds_fiat_total: Option<String>,
    /// What stayed: `fiat_total` less `refunds_fiat_total` (null when neither is known).
    pub net_fiat_total: Option<String>,
}

/// Money given back through one token on one network.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundTotalView {
    /// Token symbol.
    pub token: String,
    /// Network slug.
    pub network: String,
    /// Refunds confirmed.
    pub refunds: u64,
    /// What went back, token units (decimal).
    pub amount: String,
    /// Its worth in the shop's currency.
    pub fiat: Option<String>,
}

/// Money in through one token on one network.
#[derive(Debug, Serialize, ToSchema)]
pub struct TakingsView {
    /// Token symbol.
    pub token: String,
    /// Network slug.
    pub network: String,
    /// Payments paid.
    pub payments: u64,
    /// What arrived, token units (decimal).
    pub received: String,
    /// Their prices in the shop's currency (decimal, 2 places at least).
    pub fiat: Option<String>,
}

impl From<Close> for CloseResponse {
    fn from(c: Close) -> Self {
        Self {
            from: rfc3339(c.from),
            to: rfc3339(c.to),
            currency: c.currency,
            sales: c
                .sales
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            takings: c
                .takings
                .into_iter()
                .map(|t| TakingsView {
                    token: t.token,
                    network: t.network,
                    payments: t.payments,
                    received: t.received.to_decimal_string(DISPLAY_SCALE),
                    fiat: t.fiat.map(|f| f.to_string_scaled(2)),
                })
                .collect(),
            net_fiat_total: c.net_fiat_total,
            fiat_total: c.fiat_total.map(|f| f.to_string_scaled(2)),
            unpriced: c.unpriced,
            tips: c.tips.map(|t| t.to_string_scaled(2)),
            refunds: c
                .refunds
                .into_iter()
                .map(|r| RefundTotalView {
                    token: r.token,
                    network: r.network,
                    refunds: r.refunds,
                    amount: r.amount.to_decimal_string(DISPLAY_SCALE),
                    fiat: r.fiat.map(|f| f.to_string_scaled(2)),
                })
                .collect(),
            refunds_fiat_total: c.refunds_fiat_total.map(|f| f.to_string_scaled(2)),
        }
    }
}

impl CloseResponse {
    /// As CSV: one line per token and network, then the total.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("from,to,token,network,payments,received,currency,amount\n");
        for t in &self.takings {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                self.from,
                self.to,
                t.token,
                t.network,
                t.payments,
                t.received,
                self.currency,
                t.fiat.as_deref().unwrap_or("")
            ));
        }
        for r in &self.refunds {
            out.push_str(&format!(
                "{},{},{},{},{},-{},{},{}\n",
                self.from,
                self.to,
                r.token,
                r.network,
                r.refunds,
                r.amount,
                self.currency,
                r.fiat
                    .as_deref()
                    .map(|f| format!("-{f}"))
                    .unwrap_or_default()
            ));
        }
        let paid: u64 = self.takings.iter().map(|t| t.payments).sum();
        out.push_str(&format!(
            "{},{},total,,{paid},,{},{}\n",
            self.from,
            self.to,
            self.currency,
            self.net_fiat_total.as_deref().unwrap_or("")
        ));
        out
    }
}
