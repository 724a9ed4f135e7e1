//! The epusdt protocol (and BEpusdt's `trade_type` extension), so a shop system that already
//! speaks it (dujiaoka and its kin) can point at StablePay unchanged (issue 20).
//!
//! - **Signature**: every non-empty parameter but `signature`, sorted by name, as `k=v` joined by
//!   `&`, then the API token appended, MD5, lower-case hex. Values are read as epusdt's Go server
//!   reads them: strings as they are, numbers in their shortest form (`42`, `28.88`), booleans as
//!   `true`/`false`; empty strings and nulls take no part.
//! - **Orders**: an order is an ordinary payment — priced in the shop's currency, its `order_id`
//!   the payment's order reference, its `trade_id` the payment id (unguessable: it is also the
//!   hosted checkout's address) — plus what the protocol remembers (`epusdt_orders`). The same
//!   `order_id` answers the same order; with another amount or trade type it is refused.
//! - **Callbacks**: on paid (`status` 2) and on expiry (`status` 3) the order's `notify_url` gets
//!   the protocol's JSON, signed the same way, through the webhook outbox (retries, the delivery
//!   log, redelivery) until it answers `ok`. The token proves the shop system, so its
//!   `notify_url` is treated like a webhook from the config file (it may be on this machine).
//! - **Trade types**: `<token>.<network>` for every enabled token: `usdt.bep20`, `usdc.bep20`,
//!   `fdusd.bep20`, `busd.bep20` on BNB Smart Chain, `.erc20` on Ethereum, `.polygon`,
//!   `.arbitrum`, `.base`, `.opbnb`; another network's own id. Missing: `usdt.bep20`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use serde_json::{Map, Value};
use sqlx::Row;

use crate::{
    amount::DecimalAmount,
    catalog::{Catalog, NetworkId, TokenSymbol},
    clock::to_millis,
    config::compat::EpusdtConfig,
    error::CoreError,
    payments::{NewPayment, Payment, PaymentId, PaymentStatus, Payments, Price},
    store::Db,
};

/// The trade type of an order that names none.
pub const DEFAULT_TRADE_TYPE: &str = "usdt.bep20";
/// The URL of the outbox endpoint standing for every order's own `notify_url`.
pub const CALLBACKS_ENDPOINT: &str = "epusdt:notify_url";
/// Shortest and longest order lifetime, seconds (epusdt's own minimum is 60).
const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 60..=86_400;

/// Why the protocol refuses a request: its `status_code` and message.
#[derive(Debug, thiserror::Error)]
pub enum EpusdtError {
    /// The protocol is off (no `[compat.epusdt] token`).
    #[error("the epusdt protocol is off: set [compat.epusdt] token in the configuration")]
    Off,
    /// The body is not a JSON object or a form.
    #[error("cannot read the parameters: {0}")]
    Unreadable(String),
    /// No signature, or not the right one.
    #[error("signature error")]
    Signature,
    /// A required parameter is missing.
    #[error("parameter {0} is missing")]
    Missing(&'static str),
    /// A parameter is malformed.
    #[error("parameter {field} is invalid: {reason}")]
    Invalid {
        /// Which.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Not a trade type this shop takes.
    #[error("trade type {given} is not supported here; supported: {supported}")]
    TradeType {
        /// As given.
        given: String,
        /// The ones there are.
        supported: String,
    },
    /// The `order_id` already belongs to an order with another amount or trade type.
    #[error("order {0} already exists with another amount or trade type; do not create it twice")]
    Exists(String),
    /// No such order.
    #[error("order not found")]
    NotFound,
    /// The order cannot be cancelled (it is no longer waiting for payment).
    #[error("order {trade_id} is {status}: only an order waiting for payment can be cancelled")]
    NotCancellable {
        /// The order.
        trade_id: String,
        /// Its payment's status.
        status: &'static str,
    },
    /// The sale could not be made (no rate, amount out of range, …).
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl EpusdtError {
    /// epusdt's `status_code` for it.
    pub fn status_code(&self) -> u32 {
        match self {
            EpusdtError::Signature => 401,
            EpusdtError::Exists(_) => 10002,
            EpusdtError::NotFound => 10008,
            EpusdtError::Unreadable(_) | EpusdtError::Missing(_) => 10009,
            EpusdtError::Core(CoreError::RateUnavailable { .. } | CoreError::RateStale { .. }) => {
                10006
            }
            EpusdtError::Core(
                CoreError::InvalidAmount(_)
                | CoreError::AmountTooLarge(_)
                | CoreError::AmountSlotsExhausted(_),
            ) => 10004,
            _ => 400,
        }
    }
}

/// A parameter's text as epusdt signs it; `None` when it takes no part (empty, null, a list).
pub fn value_text(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            // Go's shortest form: 28.88, 100 (not 100.0).
            (_, _, Some(f)) => {
                let s = f.to_string();
                s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
            }
            _ => return None,
        },
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// The signature of `params` with `token`.
pub fn sign(params: &Map<String, Value>, token: &str) -> String {
    let sorted: BTreeMap<&str, String> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "signature")
        .filter_map(|(k, v)| value_text(v).map(|t| (k.as_str(), t)))
        .collect();
    let joined = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(Md5::digest(format!("{joined}{token}").as_bytes()))
}

/// Whether `given` is `params`' signature with `token` (compared in constant time).
fn signed(params: &Map<String, Value>, token: &str) -> bool {
    let Some(given) = params.get("signature").and_then(Value::as_str) else {
        return false;
    };
    let expected = sign(params, token);
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The trade type suffix of `network`.
fn suffix(network: &NetworkId) -> &str {
    match network.as_str() {
        "bsc" => "bep20",
        "ethereum" => "erc20",
        other => other,
    }
}

/// A decimal as epusdt writes amounts: no trailing zeros (`42`, `28.88`).
fn plain(d: &DecimalAmount) -> String {
    without_trailing_zeros(d.to_string_scaled(0))
}

/// `4.0600` → `4.06`, `42.00` → `42`.
fn without_trailing_zeros(s: String) -> String {
    match s.split_once('.') {
        Some((int, frac)) if !frac.trim_end_matches('0').is_empty() => {
            format!("{int}.{}", frac.trim_end_matches('0'))
        }
        Some((int, _)) => int.to_owned(),
        None => s,
    }
}

/// An epusdt order: a payment and what the protocol remembers of it.
#[derive(Debug, Clone)]
pub struct Order {
    /// The payment (its id is the `trade_id`).
    pub payment: Payment,
    /// `usdt.bep20`, …
    pub trade_type: String,
    /// The shop-currency amount as the shop system sent it.
    pub amount: String,
    /// Where callbacks go.
    pub notify_url: String,
    /// Where the hosted checkout sends the customer once paid (an allowed host).
    pub redirect_url: Option<String>,
}

impl Order {
    /// `data` of the create answer at `now`, as epusdt shapes it; `payment_url` under `base`;
    /// `expiration_time` in seconds from now, as BEpusdt writes it.
    pub fn data(&self, base: &str, now: DateTime<Utc>) -> Value {
        let remaining = (self.payment.expires_at - now).num_seconds().max(0);
        serde_json::json!({
            "trade_id": self.payment.id,
            "order_id": self.payment.order_reference,
            "amount": number(&self.amount),
            "actual_amount": number(&plain_amount(&self.payment)),
            "token": self.payment.pay_to.checksummed(),
            "expiration_time": remaining,
            "payment_url": format!("{}/pay/checkout-counter/{}", base.trim_end_matches('/'), self.payment.id),
        })
    }

    /// The callback body for `status` (2 paid, 3 expired), signed with `token`.
    pub fn callback(&self, status: u8, token: &str) -> String {
        let mut params = Map::new();
        params.insert(
            "trade_id".into(),
            Value::String(self.payment.id.to_string()),
        );
        params.insert(
            "order_id".into(),
            Value::String(self.payment.order_reference.clone().unwrap_or_default()),
        );
        params.insert("amount".into(), number(&self.amount));
        params.insert("actual_amount".into(), number(&plain_amount(&self.payment)));
        params.insert(
            "token".into(),
            Value::String(self.payment.pay_to.checksummed()),
        );
        params.insert(
            "block_transaction_id".into(),
            Value::String(
                self.payment
                    .transaction_hash
                    .clone()
                    .filter(|_| status == 2)
                    .unwrap_or_default(),
            ),
        );
        params.insert("status".into(), Value::from(status));
        let signature = sign(&params, token);
        params.insert("signature".into(), Value::String(signature));
        Value::Object(params).to_string()
    }
}

/// What the payment asks, in token units without trailing zeros.
fn plain_amount(p: &Payment) -> String {
    without_trailing_zeros(p.amount.to_decimal_string(0))
}

/// A decimal text as a JSON number written exactly so (its signed form).
fn number(text: &str) -> Value {
    serde_json::from_str::<serde_json::Number>(text)
        .map(Value::Number)
        .unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The protocol's service.
#[derive(Debug, Clone)]
pub struct Epusdt {
    config: Option<EpusdtConfig>,
    payments: Payments,
    catalog: Catalog,
    pool: Db,
}

impl Epusdt {
    /// Over the shop's payments; `config` `None`: off.
    pub fn new(
        config: Option<EpusdtConfig>,
        payments: Payments,
        catalog: Catalog,
        pool: Db,
    ) -> Self {
        Self {
            config,
            payments,
            catalog,
            pool,
        }
    }

    fn config(&self) -> Result<&EpusdtConfig, EpusdtError> {
        self.config.as_ref().ok_or(EpusdtError::Off)
    }

    /// Checks `params`' signature.
    pub fn verify(&self, params: &Map<String, Value>) -> Result<(), EpusdtError> {
        if signed(params, &self.config()?.token) {
            Ok(())
        } else {
            Err(EpusdtError::Signature)
        }
    }

    /// The trade types this shop takes, and the token and network of each.
    pub async fn trade_types(&self) -> Vec<(String, TokenSymbol, NetworkId)> {
        let mut types: Vec<_> = self
            .catalog
            .tokens()
            .await
            .into_iter()
            .map(|t| {
                (
                    format!(
                        "{}.{}",
                        t.symbol.as_str().to_ascii_lowercase(),
                        suffix(&t.network)
                    ),
                    t.symbol,
                    t.network,
                )
            })
            .collect();
        types.sort_by(|a, b| a.0.cmp(&b.0));
        types
    }

    /// `POST /api/v1/order/create-transaction` with signed `params`.
    pub async fn create(&self, params: &Map<String, Value>) -> Result<Order, EpusdtError> {
        self.verify(params)?;
        let config = self.config()?;
        let text = |key: &'static str| params.get(key).and_then(value_text);
        let order_id = text("order_id").ok_or(EpusdtError::Missing("order_id"))?;
        let amount_text = text("amount").ok_or(EpusdtError::Missing("amount"))?;
        let notify_url = text("notify_url").ok_or(EpusdtError::Missing("notify_url"))?;
        let amount = DecimalAmount::parse(&amount_text).map_err(|e| EpusdtError::Invalid {
            field: "amount",
            reason: e.to_string(),
        })?;
        if amount.at_scale(2).is_none() {
            return Err(EpusdtError::Invalid {
                field: "amount",
                reason: "at most 2 decimals, at least 0.01".into(),
            });
        }
        if !crate::config::is_url(&notify_url, &["http://", "https://"]) || notify_url.len() > 2000
        {
            return Err(EpusdtError::Invalid {
                field: "notify_url",
                reason: "an http:// or https:// URL".into(),
            });
        }
        let redirect_url = text("redirect_url");
        if let Some(r) = &redirect_url {
            check_redirect(r, &config.redirect_hosts)?;
        }
        let trade_type = text("trade_type").unwrap_or_else(|| DEFAULT_TRADE_TYPE.into());
        let types = self.trade_types().await;
        let (token, network) = types
            .iter()
            .find(|(t, _, _)| *t == trade_type)
            .map(|(_, s, n)| (s.clone(), n.clone()))
            .ok_or_else(|| EpusdtError::TradeType {
                given: trade_type.clone(),
                supported: types
                    .iter()
                    .map(|(t, _, _)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let timeout = match text("timeout") {
            None => None,
            Some(t) => Some(
                t.parse::<u64>()
                    .ok()
                    .filter(|t| TIMEOUT_RANGE.contains(t))
                    .ok_or_else(|| EpusdtError::Invalid {
                        field: "timeout",
                        reason: format!(
                            "seconds from {} to {}",
                            TIMEOUT_RANGE.start(),
                            TIMEOUT_RANGE.end()
                        ),
                    })?,
            ),
        };
        let rate = match text("rate") {
            None => None,
            Some(r) => Some(self.rate(&r, &token)?),
        };
        if let Some(existing) = self.same_order(&order_id).await? {
            return if existing.amount == plain(&amount) && existing.trade_type == trade_type {
                Ok(existing)
            } else {
                Err(EpusdtError::Exists(order_id))
            };
        }
        let created = self
            .payments
            .create(NewPayment {
                price: Price::Fiat(amount.clone()),
                token,
                network,
                description: Some(order_id.clone()),
                order_reference: Some(order_id.clone()),
                expires_in: timeout,
                metadata: None,
                idempotency_key: None,
                remainder_of: None,
                cart: None,
                ask_tip: false,
                rate,
                counter: None,
            })
            .await;
        let payment = match created {
            Ok(c) => c.payment,
            // Made meanwhile by a second request with the same order id.
            Err(CoreError::OrderReferenceTaken(_)) => {
                return self
                    .same_order(&order_id)
                    .await?
                    .ok_or(EpusdtError::Exists(order_id))
            }
            Err(e) => return Err(e.into()),
        };
        sqlx::query(
            "INSERT INTO epusdt_orders (payment_id, trade_type, amount, notify_url, redirect_url, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(payment.id.as_str())
        .bind(&trade_type)
        .bind(plain(&amount))
        .bind(&notify_url)
        .bind(&redirect_url)
        .bind(to_millis(payment.created_at))
        .execute(&self.pool)
        .await
        .map_err(CoreError::from)?;
        tracing::info!(order = %order_id, payment = %payment.id, trade_type, "epusdt order created");
        Ok(Order {
            payment,
            trade_type,
            amount: plain(&amount),
            notify_url,
            redirect_url,
        })
    }

    /// `POST /api/v1/order/cancel-transaction` with signed `params`.
    pub async fn cancel(&self, params: &Map<String, Value>) -> Result<String, EpusdtError> {
        self.verify(params)?;
        let trade_id = params
            .get("trade_id")
            .and_then(value_text)
            .ok_or(EpusdtError::Missing("trade_id"))?;
        let order = self.order(&trade_id).await?.ok_or(EpusdtError::NotFound)?;
        if order.payment.status != PaymentStatus::Pending {
            return Err(EpusdtError::NotCancellable {
                trade_id,
                status: order.payment.status.as_str(),
            });
        }
        self.payments.cancel(&order.payment.id).await?;
        Ok(trade_id)
    }

    /// The order whose `trade_id` (payment id) is `trade_id`, if it is one.
    pub async fn order(&self, trade_id: &str) -> Result<Option<Order>, CoreError> {
        let Ok(id) = PaymentId::parse(trade_id) else {
            return Ok(None);
        };
        let payment = match self.payments.get(&id).await {
            Ok(p) => p,
            Err(CoreError::PaymentNotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        order_of(&self.pool, payment).await
    }

    /// Where the hosted checkout may send the customer of payment `id` once paid: the order's
    /// `redirect_url` while its host is still allowed.
    pub async fn redirect_for(&self, id: &PaymentId) -> Result<Option<String>, CoreError> {
        let Some(config) = &self.config else {
            return Ok(None);
        };
        let Some(order) = self.order(id.as_str()).await? else {
            return Ok(None);
        };
        Ok(order
            .redirect_url
            .filter(|r| check_redirect(r, &config.redirect_hosts).is_ok()))
    }

    async fn same_order(&self, order_id: &str) -> Result<Option<Order>, EpusdtError> {
        let Some(p) = self.payments.by_order_reference(order_id).await? else {
            return Ok(None);
        };
        match self.order(p.id.as_str()).await? {
            Some(o) => Ok(Some(o)),
            // A payment of our own API carries this reference: not an epusdt order to answer.
            None => Err(EpusdtError::Exists(order_id.to_owned())),
        }
    }

    /// The rate an order names: `7.4` (that rate), `~1.02` (the current one × 1.02), `+0.3` /
    /// `-0.2` (the current one plus or minus).
    fn rate(&self, given: &str, token: &TokenSymbol) -> Result<DecimalAmount, EpusdtError> {
        let invalid = |reason: &str| EpusdtError::Invalid {
            field: "rate",
            reason: reason.into(),
        };
        let parse = |s: &str| {
            DecimalAmount::parse(s).map_err(|_| invalid("a number like 7.4, ~1.02, +0.3 or -0.2"))
        };
        let scale = 18;
        let at = |d: &DecimalAmount| {
            d.at_scale(scale)
                .ok_or_else(|| invalid("too many decimals"))
        };
        let result = if let Some(f) = given.strip_prefix('~').or(given.strip_prefix('～')) {
            let current = at(&self.payments.pricing().rate_value(token.as_str())?)?;
            let factor = at(&parse(f)?)?;
            let ten = alloy_primitives::U256::from(10u8).pow(alloy_primitives::U256::from(scale));
            current.checked_mul(factor).map(|v| v / ten)
        } else if let Some(a) = given.strip_prefix('+') {
            let current = at(&self.payments.pricing().rate_value(token.as_str())?)?;
            current.checked_add(at(&parse(a)?)?)
        } else if let Some(a) = given.strip_prefix('-') {
            let current = at(&self.payments.pricing().rate_value(token.as_str())?)?;
            current.checked_sub(at(&parse(a)?)?)
        } else {
            return parse(given);
        };
        result
            .filter(|v| !v.is_zero())
            .and_then(|v| DecimalAmount::from_parts(v, scale))
            .ok_or_else(|| invalid("the adjusted rate must stay above zero"))
    }
}

/// The epusdt order of `payment` (as it was at an event), if it is one.
pub(crate) async fn order_of(pool: &Db, payment: Payment) -> Result<Option<Order>, CoreError> {
    let row = sqlx::query(
        "SELECT trade_type, amount, notify_url, redirect_url FROM epusdt_orders WHERE payment_id = $1",
    )
    .bind(payment.id.as_str())
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Order {
        payment,
        trade_type: row.try_get("trade_type")?,
        amount: row.try_get("amount")?,
        notify_url: row.try_get("notify_url")?,
        redirect_url: row.try_get("redirect_url")?,
    }))
}

/// Refuses a `redirect_url` whose host is not in `[compat.epusdt] redirect_hosts`.
fn check_redirect(url: &str, allowed: &[String]) -> Result<(), EpusdtError> {
    let host = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{}:{p}", h.to_ascii_lowercase()),
                None => h.to_ascii_lowercase(),
            })
        })
        .ok_or_else(|| EpusdtError::Invalid {
            field: "redirect_url",
            reason: "an http:// or https:// URL".into(),
        })?;
    let bare = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
    if allowed.iter().any(|a| *a == host || *a == bare) {
        Ok(())
    } else {
        Err(EpusdtError::Invalid {
            field: "redirect_url",
            reason: format!(
                "its host {host} is not in [compat.epusdt] redirect_hosts of this shop"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_documented_example_signs_to_the_documented_signature() {
        let params = json!({
            "order_id": "20220201030210321",
            "amount": 42,
            "notify_url": "http://example.com/notify",
            "redirect_url": "http://example.com/redirect",
        });
        assert_eq!(
            sign(params.as_object().unwrap(), "epusdt_password_xasddawqe"),
            "1cd4b52df5587cfb1968b0c0c6e156cd"
        );
    }

    #[test]
    fn empty_values_and_the_signature_itself_take_no_part_and_numbers_sign_in_their_shortest_form()
    {
        let bare = json!({"order_id": "1", "amount": 28.88});
        let padded = json!({"order_id": "1", "amount": 28.88, "redirect_url": "", "rate": null, "signature": "x"});
        let token = "t0123456789abcdef";
        assert_eq!(
            sign(bare.as_object().unwrap(), token),
            sign(padded.as_object().unwrap(), token)
        );
        assert_eq!(value_text(&json!(100.0)).as_deref(), Some("100"));
        assert_eq!(value_text(&json!(28.88)).as_deref(), Some("28.88"));
        assert_eq!(value_text(&json!("")), None);
        let mut signed_params = bare.as_object().unwrap().clone();
        signed_params.insert("signature".into(), json!(sign(&signed_params, token)));
        assert!(signed(&signed_params, token));
        assert!(!signed(&signed_params, "another token value"));
    }

    #[test]
    fn a_redirect_goes_only_to_an_allowed_host() {
        let allowed = vec!["shop.example.com".to_string(), "127.0.0.1:8088".to_string()];
        assert!(check_redirect("https://shop.example.com/done?o=1", &allowed).is_ok());
        assert!(check_redirect("http://127.0.0.1:8088/r", &allowed).is_ok());
        assert!(check_redirect("http://127.0.0.1:9999/r", &allowed).is_err());
        assert!(check_redirect("https://evil.example/phish", &allowed).is_err());
        assert!(check_redirect("javascript:alert(1)", &allowed).is_err());
    }

    #[test]
    fn amounts_are_written_without_trailing_zeros() {
        assert_eq!(plain(&DecimalAmount::parse("42.00").unwrap()), "42");
        assert_eq!(plain(&DecimalAmount::parse("28.80").unwrap()), "28.8");
    }
}
