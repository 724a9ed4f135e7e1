//! The payment and what describes it: its status, its amounts, a new payment's request.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{IdempotencyKey, PaymentId};
use crate::{
    address::Address,
    amount::{DecimalAmount, TokenAmount},
    catalog::{NetworkId, TokenSymbol},
    eip681,
    error::CoreError,
    products::ProductId,
};

/// Where a payment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    /// Waiting for the customer's transfer.
    Pending,
    /// A matching transfer was seen; waiting for confirmations.
    Confirming,
    /// Settled.
    Paid,
    /// Paid, then part of it given back by a confirmed refund ([`super::Refund`]).
    PartiallyRefunded,
    /// Paid, then all of what it received given back.
    Refunded,
    /// Not paid in time.
    Expired,
    /// Cancelled by the merchant.
    Cancelled,
    /// Can no longer be paid correctly: its token was disabled while it was open (the contract on
    /// chain disagrees with the configuration, so its exact amount means something else). See
    /// [`Payments::fail_open_in_token`].
    Failed,
}

impl PaymentStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [PaymentStatus; 8] = [
        PaymentStatus::Pending,
        PaymentStatus::Confirming,
        PaymentStatus::Paid,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
        PaymentStatus::Expired,
        PaymentStatus::Cancelled,
        PaymentStatus::Failed,
    ];

    /// The API and store spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Confirming => "confirming",
            PaymentStatus::Paid => "paid",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Failed => "failed",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                CoreError::field(
                    "status",
                    format!(
                        "{s:?} is not one of pending, confirming, paid, partially_refunded, refunded, expired, cancelled, failed"
                    ),
                )
            })
    }

    /// Still waiting for money or confirmations.
    pub fn is_open(&self) -> bool {
        matches!(self, PaymentStatus::Pending | PaymentStatus::Confirming)
    }

    /// Was settled: `paid`, or paid and refunded since (in part or whole).
    pub fn was_paid(&self) -> bool {
        matches!(
            self,
            PaymentStatus::Paid | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payment session. Serialized only into the audit trail's snapshots (the API has its own DTO).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Payment {
    /// `pay_` + 128 random bits.
    pub id: PaymentId,
    /// Lifecycle state.
    pub status: PaymentStatus,
    /// Network slug.
    pub network: NetworkId,
    /// Chain id of that network.
    pub chain_id: u64,
    /// Token ticker.
    pub token: TokenSymbol,
    /// Token contract.
    pub token_contract: Address,
    /// Receive address.
    pub pay_to: Address,
    /// The amount the sale asked for.
    pub requested_amount: TokenAmount,
    /// The exact amount to pay (requested + offset_steps × step).
    pub amount: TokenAmount,
    /// k in the unique-amount rule.
    pub offset_steps: u32,
    /// Free text shown to the customer.
    pub description: Option<String>,
    /// The integrator's order id (unique).
    pub order_reference: Option<String>,
    /// The integrator's JSON object.
    pub metadata: Option<Map<String, Value>>,
    /// The product sold, when created from one.
    pub product_id: Option<ProductId>,
    /// The price in the shop's currency and the rate it was converted at (a shop-currency sale),
    /// or what the token amount was worth when the sale was made (`None`: no fresh rate then).
    #[serde(default)]
    pub fiat: Option<crate::pricing::FiatPrice>,
    /// The short sale this payment asks the rest of.
    #[serde(default)]
    pub remainder_of: Option<PaymentId>,
    /// The lines and discount it was rung up as.
    #[serde(default)]
    pub cart: Option<crate::cart::Cart>,
    /// The tip asked of the customer, or chosen.
    #[serde(default)]
    pub tip: Option<super::Tip>,
    /// What confirmed refunds gave back (`None`: nothing).
    #[serde(default)]
    pub refunded: Option<TokenAmount>,
    /// The counter of a hub that made the sale (`None`: made otherwise).
    #[serde(default)]
    pub counter: Option<crate::counters::Counter>,
    /// Confirmations needed before `paid`.
    pub required_confirmations: u32,
    /// Confirmations seen so far.
    pub confirmations: u32,
    /// Crediting transaction.
    pub transaction_hash: Option<String>,
    /// Block of the crediting transaction.
    pub block_number: Option<u64>,
    /// What the crediting transfer carried (differs from `amount` only for a transfer staff
    /// attached by hand).
    pub amount_received: Option<TokenAmount>,
    /// The network's head at creation less [`HEAD_LAG_MARGIN`]: no earlier block credits it
    /// automatically. `None` when no head was known.
    pub start_block: Option<u64>,
    /// Matched after its expiry, within the grace window.
    pub late: bool,
    /// The latest transfer of the wrong amount seen while the sale was open (see
    /// [`WrongAmount`]).
    #[serde(default)]
    pub wrong_amount: Option<WrongAmount>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When an unpaid payment expires.
    pub expires_at: DateTime<Utc>,
    /// When it became `paid`.
    pub paid_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Payment {
    /// The EIP-681 URI the QR code carries.
    pub fn payment_uri(&self) -> String {
        eip681::TransferRequest {
            token: self.token_contract,
            chain_id: self.chain_id,
            to: self.pay_to,
            amount: self.amount.base_units(),
        }
        .to_string()
    }

    /// The URI for wallets that ignore token requests: just the receive address.
    pub fn address_only_uri(&self) -> String {
        eip681::address_only(&self.pay_to, self.chain_id)
    }

    /// How what was received compares with what was asked; `None` until something was received.
    pub fn amount_match(&self) -> Option<AmountMatch> {
        let received = self.amount_received?.base_units();
        let asked = self.amount.base_units();
        Some(match received.cmp(&asked) {
            std::cmp::Ordering::Less => AmountMatch::Underpaid,
            std::cmp::Ordering::Equal => AmountMatch::Exact,
            std::cmp::Ordering::Greater => AmountMatch::Overpaid,
        })
    }
}

/// A transfer to the shop in the sale's token, of another amount than the sale asks, seen while the
/// sale was open: kept in the inbox (it pays nothing by itself), shown on both screens with both
/// figures, and attachable by staff in one click.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WrongAmount {
    /// The inbox transfer's id (for attach).
    pub transfer_id: i64,
    /// What it carried.
    pub amount: TokenAmount,
}

/// What was received against what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountMatch {
    /// Exactly the amount.
    Exact,
    /// Less (an attached transfer, e.g. an exchange withdrawal minus fees).
    Underpaid,
    /// More.
    Overpaid,
}

impl AmountMatch {
    /// The API spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            AmountMatch::Exact => "exact",
            AmountMatch::Underpaid => "underpaid",
            AmountMatch::Overpaid => "overpaid",
        }
    }
}

/// How a new payment is priced.
#[derive(Debug, Clone)]
pub enum Price {
    /// A free amount in token units.
    Amount(DecimalAmount),
    /// A free amount in the shop's currency (`[pricing]`), converted at the current rate.
    Fiat(DecimalAmount),
    /// A product's price.
    Product(ProductId),
}

/// A request to create a payment; fields other than price, token and network are optional.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Amount or product.
    pub price: Price,
    /// Token ticker.
    pub token: TokenSymbol,
    /// Network slug.
    pub network: NetworkId,
    /// Shown to the customer; defaults to the product name.
    pub description: Option<String>,
    /// The integrator's unique order id.
    pub order_reference: Option<String>,
    /// Lifetime in seconds, overriding `payments.expiry_seconds`.
    pub expires_in: Option<u64>,
    /// The integrator's JSON object, returned as given.
    pub metadata: Option<Map<String, Value>>,
    /// Replays with the same key return the same payment.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The short sale this payment asks the rest of ([`Payments::request_remainder`]).
    pub remainder_of: Option<PaymentId>,
    /// The lines and discount the sale is made of; its price is then the cart's total, in the
    /// shop's currency (`Price::Fiat`).
    pub cart: Option<crate::cart::Cart>,
    /// Ask the customer for a tip before the amount is fixed (`[tips]` set, a shop-currency price).
    pub ask_tip: bool,
    /// The rate to convert a shop-currency price at, instead of the shop's current one (an order
    /// that names its own, e.g. through the epusdt protocol).
    pub rate: Option<DecimalAmount>,
    /// The counter making the sale (its key's).
    pub counter: Option<crate::counters::Counter>,
}

/// Bounds on free-text fields.
const MAX_DESCRIPTION_CHARS: usize = 500;

const MAX_ORDER_REFERENCE_CHARS: usize = 128;

const MAX_METADATA_BYTES: usize = 4096;

const MIN_EXPIRES_IN: u64 = 30;

const MAX_EXPIRES_IN: u64 = 7 * 24 * 3600;

impl NewPayment {
    pub(super) fn check(&self) -> Result<(), CoreError> {
        if let Some(cart) = &self.cart {
            cart.check()?;
            if !matches!(&self.price, Price::Fiat(total) if Some(total) == cart.total().as_ref()) {
                return Err(CoreError::field(
                    "fiat_amount",
                    format!(
                        "must be the cart's total ({}) or left out",
                        cart.total()
                            .map(|t| t.to_string_scaled(2))
                            .unwrap_or_default()
                    ),
                ));
            }
        }
        if let Some(d) = &self.description {
            if d.chars().count() > MAX_DESCRIPTION_CHARS {
                return Err(CoreError::field(
                    "description",
                    format!("at most {MAX_DESCRIPTION_CHARS} characters"),
                ));
            }
        }
        if let Some(r) = &self.order_reference {
            if r.is_empty()
                || r.chars().count() > MAX_ORDER_REFERENCE_CHARS
                || r.chars().any(char::is_control)
            {
                return Err(CoreError::field(
                    "order_reference",
                    format!("1 to {MAX_ORDER_REFERENCE_CHARS} printable characters"),
                ));
            }
        }
        if let Some(e) = self.expires_in {
            if !(MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(&e) {
                return Err(CoreError::field(
                    "expires_in",
                    format!("seconds between {MIN_EXPIRES_IN} and {MAX_EXPIRES_IN}"),
                ));
            }
        }
        if let Some(m) = &self.metadata {
            if Value::Object(m.clone()).to_string().len() > MAX_METADATA_BYTES {
                return Err(CoreError::field(
                    "metadata",
                    format!("at most {MAX_METADATA_BYTES} bytes of JSON"),
                ));
            }
        }
        Ok(())
    }

    /// A digest of everything that defines the request, to tell a replay from a different request
    /// under the same idempotency key.
    pub(super) fn fingerprint(&self) -> String {
        let price = match &self.price {
            Price::Amount(a) => serde_json::json!({ "amount": a.to_string() }),
            Price::Fiat(a) => serde_json::json!({ "fiat_amount": a.to_string() }),
            Price::Product(p) => serde_json::json!({ "product_id": p.as_str() }),
        };
        let canonical = serde_json::json!({
            "price": price,
            "token": self.token.as_str(),
            "network": self.network.as_str(),
            "description": self.description,
            "order_reference": self.order_reference,
            "expires_in": self.expires_in,
            "metadata": self.metadata,
            "cart": self.cart,
            "ask_tip": self.ask_tip,
            "rate": self.rate.as_ref().map(|r| r.to_string()),
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// The result of a create call.
#[derive(Debug, Clone)]
pub struct Created {
    /// The payment.
    pub payment: Payment,
    /// True when an earlier request with the same idempotency key created it.
    pub replayed: bool,
}
