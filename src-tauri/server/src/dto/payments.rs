//! Payments on the wire: what `POST /payments` takes, what every route and socket shows of a
//! payment (a customer sees it without the shop's `metadata` and `order_reference`), the list's
//! query and page, and the bodies of the manual check and of staff attach.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use stablepay_core::{
    amount::DecimalAmount,
    catalog::{NetworkId, TokenSymbol},
    counters::CounterId,
    payments::{IdempotencyKey, NewPayment, Payment, PaymentFilter, PaymentStatus, Price},
    products::ProductId,
    CoreError,
};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::{Caller, Permission},
    dto::rfc3339,
    error::ApiError,
    state::AppState,
};

/// Amounts are shown with at least this many decimals ("10.00").
pub(crate) const DISPLAY_SCALE: usize = 2;

/// Body of `POST /api/v1/payments`: give `amount` or `product_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentRequest {
    /// Amount in token units as a decimal string, e.g. `"10.50"` (not a JSON number: money is exact).
    #[schema(example = "10.00")]
    pub amount: Option<String>,
    /// Price the payment from this product instead of `amount`.
    pub product_id: Option<String>,
    /// Instead of `amount`: the price in the shop's currency (`[pricing] currency`), a decimal
    /// string, converted at the current rate (plus the markup) and rounded up to the amount step.
    /// Refused with `rate_stale` when the rate is older than `pricing.max_age_seconds`.
    #[schema(example = "35.50")]
    pub fiat_amount: Option<String>,
    /// Token symbol, e.g. `USDT`.
    #[schema(example = "USDT")]
    pub token: String,
    /// Network slug; defaults to the first configured network (`bsc`).
    #[schema(example = "bsc")]
    pub network: Option<String>,
    /// Shown to the customer (≤ 500 characters); defaults to the product name.
    pub description: Option<String>,
    /// Your order id; unique across payments.
    pub order_reference: Option<String>,
    /// Lifetime in seconds (30 – 604800); defaults to `payments.expiry_seconds`.
    pub expires_in: Option<u64>,
    /// Your JSON object (≤ 4 KiB), returned as given.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// A cart: the lines the sale is made of, prices in the shop's currency; the sale's price is
    /// their total less `discount` (give `fiat_amount` too and it must be that total; `amount` and
    /// `product_id` cannot be given with it).
    pub items: Option<Vec<ItemRequest>>,
    /// Off the cart's subtotal: `{"amount": "5.00"}` or `{"percent": "10"}`.
    pub discount: Option<DiscountRequest>,
    /// `true` (with `[tips] choices` set, and a price in the shop's currency): the customer display
    /// offers the tip choices before the QR code; the amount is fixed once one is chosen
    /// (`POST /payments/{id}/tip`). Until then the sale has no amount to pay.
    pub ask_tip: Option<bool>,
    /// `true`: show the new payment on the customer display at once (it then follows it, as a sale
    /// opened from the till) — for sales rung up by another system. Not repeated when an
    /// idempotent retry answers the payment already created.
    pub show_on_display: Option<bool>,
}

/// A sale's tip.
#[derive(Debug, Serialize, ToSchema)]
pub struct TipView {
    /// The percentages offered.
    pub choices: Vec<u32>,
    /// The price before the tip, shop currency.
    pub base: String,
    /// The chosen percentage (0: no tip); null while the customer chooses.
    pub percent: Option<u32>,
    /// The tip, shop currency.
    pub amount: Option<String>,
}

/// `POST /api/v1/payments/{id}/tip`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TipChoice {
    /// One of the offered percentages, or 0 for no tip.
    pub percent: u32,
}

/// One line of a cart.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    /// What (1–120 characters).
    pub name: String,
    /// How many (1–9999).
    pub quantity: u32,
    /// Price of one in the shop's currency, a decimal string.
    pub unit_price: String,
    /// The product, when the line is one.
    pub product_id: Option<String>,
}

/// A discount: exactly one of the two.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountRequest {
    /// An amount in the shop's currency.
    pub amount: Option<String>,
    /// A percentage of the subtotal (0–100, up to 2 decimals).
    pub percent: Option<String>,
}

/// One line of a sale's cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    /// What.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// Price of one, shop currency.
    pub unit_price: String,
    /// quantity × unit price.
    pub amount: String,
    /// The product, when the line is one.
    pub product_id: Option<String>,
}

/// A sale's cart: its lines, subtotal and discount.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartView {
    /// The lines.
    pub items: Vec<ItemView>,
    /// Σ line amounts.
    pub subtotal: String,
    /// What the discount took off (0 without one).
    pub discount: String,
    /// The discount's percentage, when it was one.
    pub discount_percent: Option<String>,
    /// What was asked: subtotal − discount (the sale's `fiat_amount`).
    pub total: String,
}

impl From<&stablepay_core::cart::Cart> for CartView {
    fn from(c: &stablepay_core::cart::Cart) -> Self {
        let money = |d: Option<DecimalAmount>| d.map_or("0.00".into(), |d| d.to_string_scaled(2));
        Self {
            items: c
                .lines
                .iter()
                .map(|l| {
                    let line = stablepay_core::cart::Cart {
                        lines: vec![l.clone()],
                        discount: None,
                    };
                    ItemView {
                        name: l.name.clone(),
                        quantity: l.quantity,
                        unit_price: l.unit_price.to_string_scaled(2),
                        amount: money(line.subtotal()),
                        product_id: l.product_id.clone(),
                    }
                })
                .collect(),
            subtotal: money(c.subtotal()),
            discount: money(c.discount_amount()),
            discount_percent: match &c.discount {
                Some(stablepay_core::cart::Discount::Percent(p)) => Some(p.to_string()),
                _ => None,
            },
            total: money(c.total()),
        }
    }
}

/// The counter a sale was made at.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CounterView {
    /// `ctr_` + 24 hex digits.
    pub id: String,
    /// Its name when the sale was made.
    pub name: String,
}

/// A payment session as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentResponse {
    /// `pay_` + 32 hex digits.
    pub id: String,
    /// `pending`, `confirming`, `paid`, `partially_refunded`, `refunded`, `expired`, `cancelled`
    /// or `failed`.
    pub status: String,
    /// The exact amount to pay (requested + unique offset), decimal.
    #[schema(example = "10.01")]
    pub amount: String,
    /// The amount the sale asked for, decimal.
    pub requested_amount: String,
    /// `amount` in token base units, decimal integer.
    pub amount_base_units: String,
    /// Token symbol.
    pub token: String,
    /// Token contract (EIP-55).
    pub token_contract: String,
    /// Token decimals.
    pub decimals: u8,
    /// Network slug.
    pub network: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// Receive address (EIP-55).
    pub pay_to: String,
    /// EIP-681 URI for the QR code.
    pub payment_uri: String,
    /// `ethereum:<pay_to>@<chain_id>`, for wallets that ignore token requests.
    pub address_only_uri: String,
    /// Confirmations seen.
    pub confirmations: u32,
    /// Confirmations needed for `paid`.
    pub required_confirmations: u32,
    /// Crediting transaction, once seen.
    pub transaction_hash: Option<String>,
    /// Its block.
    pub block_number: Option<u64>,
    /// What the crediting transfer carried, decimal; null until something was received. Differs
    /// from `amount` only for a transfer staff attached by hand.
    pub amount_received: Option<String>,
    /// `exact`, `underpaid` or `overpaid`; null until something was received.
    pub amount_match: Option<String>,
    /// What confirmed refunds gave back, decimal; null when nothing was refunded.
    pub refunded_amount: Option<String>,
    /// The network's head block at creation (less a small margin): transfers mined before it never
    /// pay this payment automatically. Null when no head was known.
    pub start_block: Option<u64>,
    /// Matched after expiry, within the grace window.
    pub late: bool,
    /// While the sale is open: the latest transfer of another amount seen for it (too little or too
    /// much; it paid nothing). Staff may attach it (`transfer_id`) to accept what arrived.
    pub wrong_amount: Option<WrongAmountView>,
    /// Shown to the customer.
    pub description: Option<String>,
    /// Your order id.
    pub order_reference: Option<String>,
    /// Your JSON object.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// Product it was priced from.
    pub product_id: Option<String>,
    /// The price in the shop's currency (a `fiat_amount` sale), or what the token amount was worth
    /// when the sale was made; null when no fresh rate was known.
    pub fiat_amount: Option<String>,
    /// ISO 4217, e.g. `CNY`.
    pub fiat_currency: Option<String>,
    /// Shop-currency units per token unit, as the source gave it.
    pub rate: Option<String>,
    /// `fixed`, `coingecko` or `coinbase`.
    pub rate_source: Option<String>,
    /// When the rate was current, RFC 3339 UTC.
    pub rate_at: Option<String>,
    /// The markup added to the token amount, percent (`"1.5"`); `"0"` for none.
    pub rate_markup_percent: Option<String>,
    /// The short sale this payment asks the rest of.
    pub remainder_of: Option<String>,
    /// The cart it was rung up as (null for a sale of one amount).
    pub cart: Option<CartView>,
    /// The tip asked of the customer (`percent` null while they choose: no amount to pay yet), or
    /// chosen.
    pub tip: Option<TipView>,
    /// A sale credited with less than it asked: what is missing and its remainder (in
    /// `GET /payments/{id}` and the remainder's answer; null elsewhere and for other sales).
    pub shortfall: Option<ShortfallView>,
    /// The counter of the hub that made the sale (null for a sale made otherwise, and for customers).
    pub counter: Option<CounterView>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
    /// RFC 3339 UTC, once paid.
    pub paid_at: Option<String>,
}

impl PaymentResponse {
    /// The payment as a customer may see it: without the shop's `metadata` and `order_reference`.
    pub fn for_customer(p: &Payment) -> Self {
        Self {
            metadata: None,
            order_reference: None,
            counter: None,
            ..Self::from(p)
        }
    }

    /// Whole for those who may read sales, else as a customer sees it.
    pub fn for_caller(p: &Payment, caller: &Caller) -> Self {
        if caller.may(Permission::ReadSales) {
            Self::from(p)
        } else {
            Self::for_customer(p)
        }
    }
}

impl From<&Payment> for PaymentResponse {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id.to_string(),
            status: p.status.to_string(),
            amount: p.amount.to_decimal_string(DISPLAY_SCALE),
            requested_amount: p.requested_amount.to_decimal_string(DISPLAY_SCALE),
            amount_base_units: p.amount.base_units().to_string(),
            token: p.token.to_string(),
            token_contract: p.token_contract.to_string(),
            decimals: p.amount.decimals(),
            network: p.network.to_string(),
            chain_id: p.chain_id,
            pay_to: p.pay_to.to_string(),
            payment_uri: p.payment_uri(),
            address_only_uri: p.address_only_uri(),
            confirmations: p.confirmations,
            required_confirmations: p.required_confirmations,
            transaction_hash: p.transaction_hash.clone(),
            block_number: p.block_number,
            amount_received: p
                .amount_received
                .map(|a| a.to_decimal_string(DISPLAY_SCALE)),
            amount_match: p.amount_match().map(|m| m.as_str().to_string()),
            refunded_amount: p.refunded.map(|a| a.to_decimal_string(DISPLAY_SCALE)),
            start_block: p.start_block,
            late: p.late,
            wrong_amount: p
                .wrong_amount
                .as_ref()
                .filter(|_| p.status == PaymentStatus::Pending)
                .map(|w| WrongAmountView {
                    transfer_id: w.transfer_id,
                    amount: w.amount.to_decimal_string(DISPLAY_SCALE),
                    amount_base_units: w.amount.base_units().to_string(),
                }),
            description: p.description.clone(),
            order_reference: p.order_reference.clone(),
            metadata: p.metadata.clone(),
            product_id: p.product_id.as_ref().map(|id| id.to_string()),
            fiat_amount: p.fiat.as_ref().map(|f| f.amount.to_string_scaled(2)),
            fiat_currency: p.fiat.as_ref().map(|f| f.currency.clone()),
            rate: p.fiat.as_ref().map(|f| f.rate.value.to_string()),
            rate_source: p.fiat.as_ref().map(|f| f.rate.source.clone()),
            rate_at: p.fiat.as_ref().map(|f| rfc3339(f.rate.at)),
            rate_markup_percent: p.fiat.as_ref().map(|f| percent(f.markup_bp)),
            remainder_of: p.remainder_of.as_ref().map(|id| id.to_string()),
            cart: p.cart.as_ref().map(CartView::from),
            tip: p.tip.as_ref().map(|t| TipView {
                choices: t.choices.clone(),
                base: t.base.to_string_scaled(2),
                percent: t.percent,
                amount: t.amount.as_ref().map(|a| a.to_string_scaled(2)),
            }),
            shortfall: None,
            counter: p.counter.as_ref().map(|c| CounterView {
                id: c.id.to_string(),
                name: c.name.clone(),
            }),
            created_at: rfc3339(p.created_at),
            expires_at: rfc3339(p.expires_at),
            paid_at: p.paid_at.map(rfc3339),
        }
    }
}

/// Hundredths of a percent as a percentage: 150 → `"1.5"`.
pub(crate) fn percent(bp: u32) -> String {
    let (whole, hundredths) = (bp / 100, bp % 100);
    match hundredths {
        0 => whole.to_string(),
        h if h % 10 == 0 => format!("{whole}.{}", h / 10),
        h => format!("{whole}.{h:02}"),
    }
}

/// The cart of `items` less `discount`, prices parsed.
fn cart(
    items: Vec<ItemRequest>,
    discount: Option<DiscountRequest>,
) -> Result<stablepay_core::cart::Cart, ApiError> {
    use stablepay_core::cart::{Cart, CartLine, Discount};
    let money = |field: &str, s: &str| {
        DecimalAmount::parse(s).map_err(|e| ApiError::InvalidField(format!("{field}: {e}")))
    };
    let lines = items
        .into_iter()
        .enumerate()
        .map(|(i, it)| {
            Ok(CartLine {
                name: it.name.trim().to_owned(),
                quantity: it.quantity,
                unit_price: money(&format!("items[{i}].unit_price"), &it.unit_price)?,
                product_id: it.product_id,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let discount = match discount {
        None => None,
        Some(DiscountRequest {
            amount: Some(a),
            percent: None,
        }) => Some(Discount::Amount(money("discount.amount", &a)?)),
        Some(DiscountRequest {
            amount: None,
            percent: Some(p),
        }) => Some(Discount::Percent(money("discount.percent", &p)?)),
        Some(_) => {
            return Err(ApiError::InvalidField(
                "discount: give either amount or percent".into(),
            ))
        }
    };
    Ok(Cart { lines, discount })
}

impl CreatePaymentRequest {
    pub(crate) async fn parse(
        self,
        headers: &HeaderMap,
        state: &AppState,
    ) -> Result<NewPayment, ApiError> {
        let cart = self
            .items
            .map(|items| cart(items, self.discount))
            .transpose()?;
        if cart.is_some() && (self.amount.is_some() || self.product_id.is_some()) {
            return Err(ApiError::InvalidField(
                "items: a cart is priced by its lines; leave amount and product_id out".into(),
            ));
        }
        let fiat_amount =
            match (&cart, self.fiat_amount) {
                (Some(c), None) => Some(c.total().map(|t| t.to_string()).ok_or_else(|| {
                    ApiError::InvalidField("discount: leaves nothing to pay".into())
                })?),
                (_, given) => given,
            };
        let price = match (self.amount, self.product_id, fiat_amount) {
            (Some(a), None, None) => {
                Price::Amount(DecimalAmount::parse(&a).map_err(CoreError::from)?)
            }
            (None, Some(p), None) => Price::Product(ProductId::parse(&p)?),
            (None, None, Some(f)) => {
                Price::Fiat(DecimalAmount::parse(&f).map_err(CoreError::from)?)
            }
            (None, None, None) => {
                return Err(ApiError::InvalidField(
                    "amount, fiat_amount or product_id is required".into(),
                ))
            }
            _ => {
                return Err(ApiError::InvalidField(
                    "give one of amount, fiat_amount and product_id, not several".into(),
                ))
            }
        };
        let network = match self.network {
            Some(n) => NetworkId::parse(&n)?,
            None => state
                .core
                .catalog
                .networks()
                .await
                .first()
                .map(|n| n.id.clone())
                .ok_or_else(|| CoreError::UnknownNetwork(String::new()))?,
        };
        let idempotency_key = match headers.get("idempotency-key") {
            Some(v) => Some(IdempotencyKey::parse(v.to_str().unwrap_or("\u{0}"))?),
            None => None,
        };
        Ok(NewPayment {
            price,
            token: TokenSymbol::parse(&self.token)?,
            network,
            description: self.description,
            order_reference: self.order_reference,
            expires_in: self.expires_in,
            metadata: self.metadata,
            idempotency_key,
            remainder_of: None,
            cart,
            ask_tip: self.ask_tip == Some(true),
            rate: None,
            counter: None,
        })
    }
}

/// Filters for listing payments.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Comma-separated statuses, e.g. `pending,confirming`.
    pub status: Option<String>,
    /// Token symbol.
    pub token: Option<String>,
    /// Network slug.
    pub network: Option<String>,
    /// Only the sales of this counter (`ctr_…`).
    pub counter: Option<String>,
    /// Created at or after (RFC 3339).
    pub from: Option<String>,
    /// Created before (RFC 3339).
    pub to: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

impl ListQuery {
    pub(crate) fn parse(self) -> Result<PaymentFilter, ApiError> {
        let time =
            |field: &'static str, v: Option<String>| -> Result<Option<DateTime<Utc>>, ApiError> {
                v.map(|s| {
                    DateTime::parse_from_rfc3339(&s)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| {
                            ApiError::InvalidQuery(format!(
                                "{field}: {s:?} is not an RFC 3339 time like 2026-01-31T00:00:00Z"
                            ))
                        })
                })
                .transpose()
            };
        let statuses = match self.status {
            Some(s) => s
                .split(',')
                .filter(|s| !s.is_empty())
                .map(PaymentStatus::parse)
                .collect::<Result<_, _>>()?,
            None => vec![],
        };
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::InvalidQuery(
                "limit: must be between 1 and 200".into(),
            ));
        }
        Ok(PaymentFilter {
            statuses,
            token: self.token.as_deref().map(TokenSymbol::parse).transpose()?,
            network: self.network.as_deref().map(NetworkId::parse).transpose()?,
            counter: self.counter.as_deref().map(counter_query).transpose()?,
            created_from: time("from", self.from)?,
            created_to: time("to", self.to)?,
            cursor: self.cursor,
            limit,
        })
    }
}

/// A `counter=` query parameter.
pub(crate) fn counter_query(s: &str) -> Result<CounterId, ApiError> {
    CounterId::parse(s).map_err(|_| {
        ApiError::InvalidQuery(format!(
            "counter: {s:?} is not a counter id (ctr_ and 24 hex digits)"
        ))
    })
}

/// A page of payments, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentPage {
    /// The payments.
    pub payments: Vec<PaymentResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Which URI a QR code carries.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// `transfer` (default: EIP-681 token transfer with the exact amount) or `address` (address only).
    pub kind: Option<String>,
    /// PNG pixels per module, 1–32 (default 8).
    pub scale: Option<u32>,
}

impl QrQuery {
    pub(crate) fn uri(&self, p: &Payment) -> Result<String, ApiError> {
        match self.kind.as_deref() {
            None | Some("transfer") => Ok(p.payment_uri()),
            Some("address") => Ok(p.address_only_uri()),
            Some(other) => Err(ApiError::InvalidQuery(format!(
                "kind: {other:?} is not transfer or address"
            ))),
        }
    }
}

/// Body of `POST /payments/{id}/process`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessRequest {
    /// The transaction that pays the payment, `0x` + 64 hex digits.
    pub transaction_hash: String,
}

/// Body of `POST /payments/{id}/attach`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachRequest {
    /// `id` of an unmatched transfer from `GET /api/v1/transfers?matched=false`.
    pub transfer_id: i64,
    /// Why this transfer pays this payment (1–500 characters), kept in the audit trail.
    #[schema(example = "exchange withdrawal, fee deducted")]
    pub reason: String,
}

/// What a sale credited with too little still lacks, and the payment asking for it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShortfallView {
    /// Missing, decimal (asked − received).
    pub missing: String,
    /// The payment asking the rest (`POST /payments/{id}/remainder`), once requested.
    pub remainder_id: Option<String>,
    /// Its exact amount to pay.
    pub remainder_amount: Option<String>,
    /// Its status.
    pub remainder_status: Option<String>,
    /// The remainder was paid: the sale is paid in full, over two transfers.
    pub paid_in_full: bool,
}

impl From<stablepay_core::payments::Shortfall> for ShortfallView {
    fn from(s: stablepay_core::payments::Shortfall) -> Self {
        Self {
            missing: s.missing.to_decimal_string(DISPLAY_SCALE),
            paid_in_full: s.settled(),
            remainder_id: s.remainder.as_ref().map(|r| r.id.to_string()),
            remainder_amount: s
                .remainder
                .as_ref()
                .map(|r| r.amount.to_decimal_string(DISPLAY_SCALE)),
            remainder_status: s.remainder.map(|r| r.status.to_string()),
        }
    }
}

/// A transfer of the wrong amount seen for an open sale.
#[derive(Debug, Serialize, ToSchema)]
pub struct WrongAmountView {
    /// The inbox transfer's id (`POST /payments/{id}/attach` takes it).
    pub transfer_id: i64,
    /// What it carried, decimal (the token's display scale).
    pub amount: String,
    /// The same in base units.
    pub amount_base_units: String,
}
