//! A `payment_sessions` row and its mapping to [`Payment`]: here and nowhere else. A stored value
//! that does not parse is [`CoreError::Corrupt`], never a default.

use sqlx::FromRow;

use super::{Payment, PaymentId, PaymentStatus, WrongAmount};
use crate::{
    address::Address,
    amount::{DecimalAmount, TokenAmount},
    catalog::{NetworkId, TokenSymbol},
    clock::from_millis,
    counters::{Counter, CounterId},
    error::CoreError,
    pricing::{FiatPrice, Rate},
    products::ProductId,
};

/// The columns [`PaymentRow`] reads.
pub(super) const COLUMNS: &str = "seq, id, status, network_id, chain_id, token_symbol, token_contract, decimals, pay_to,
    requested_base_units, amount_base_units, offset_steps, description, order_reference, metadata, product_id,
    required_confirmations, confirmations, transaction_hash, block_number, amount_received, start_block,
    late, created_at, expires_at, paid_at, updated_at, wrong_transfer_id, wrong_amount_base_units,
    fiat_amount, fiat_currency, rate, rate_source, rate_at, rate_markup_bp, remainder_of, items, tip, refunded_base_units, counter_id, counter_name";

/// A `payment_sessions` row as stored.
#[derive(sqlx::FromRow)]
pub(super) struct PaymentRow {
    id: String,
    status: String,
    network_id: String,
    chain_id: i64,
    token_symbol: String,
    token_contract: String,
    decimals: i64,
    pay_to: String,
    requested_base_units: String,
    amount_base_units: String,
    offset_steps: i64,
    description: Option<String>,
    order_reference: Option<String>,
    metadata: Option<String>,
    product_id: Option<String>,
    required_confirmations: i64,
    confirmations: i64,
    transaction_hash: Option<String>,
    block_number: Option<i64>,
    amount_received: Option<String>,
    start_block: Option<i64>,
    late: i64,
    created_at: i64,
    expires_at: i64,
    paid_at: Option<i64>,
    updated_at: i64,
    wrong_transfer_id: Option<i64>,
    wrong_amount_base_units: Option<String>,
    fiat_amount: Option<String>,
    fiat_currency: Option<String>,
    rate: Option<String>,
    rate_source: Option<String>,
    rate_at: Option<i64>,
    rate_markup_bp: Option<i64>,
    remainder_of: Option<String>,
    items: Option<String>,
    tip: Option<String>,
    refunded_base_units: Option<String>,
    counter_id: Option<String>,
    counter_name: Option<String>,
}

/// A stored number that must fit its type, or the row is corrupt.
fn fits<T: TryFrom<i64>>(what: &str, id: &str, n: i64) -> Result<T, CoreError> {
    T::try_from(n).map_err(|_| CoreError::Corrupt(format!("payment {id}: {what} {n}")))
}

impl TryFrom<PaymentRow> for Payment {
    type Error = CoreError;

    fn try_from(r: PaymentRow) -> Result<Self, CoreError> {
        let id = r.id.as_str();
        let decimals: u8 = fits("decimals", id, r.decimals)?;
        let amount = |what: &str, s: &str| {
            TokenAmount::from_base_units_str(s, decimals)
                .map_err(|_| CoreError::Corrupt(format!("payment {id}: {what} {s:?}")))
        };
        let metadata = match &r.metadata {
            None => None,
            Some(m) => Some(
                serde_json::from_str(m)
                    .map_err(|_| CoreError::Corrupt(format!("payment {id}: metadata {m:?}")))?,
            ),
        };
        let optional = |what: &str, n: Option<i64>| n.map(|n| fits::<u64>(what, id, n)).transpose();
        let fiat = fiat(id, &r)?;
        Ok(Payment {
            fiat,
            counter: match (r.counter_id, r.counter_name) {
                (Some(id), Some(name)) => Some(Counter {
                    id: CounterId::from_store(id),
                    name,
                }),
                _ => None,
            },
            remainder_of: r.remainder_of.map(PaymentId::from_store),
            tip: match &r.tip {
                None => None,
                Some(j) => Some(
                    serde_json::from_str(j)
                        .map_err(|_| CoreError::Corrupt(format!("payment {id}: tip {j:?}")))?,
                ),
            },
            cart: match &r.items {
                None => None,
                Some(j) => Some(
                    serde_json::from_str(j)
                        .map_err(|_| CoreError::Corrupt(format!("payment {id}: items {j:?}")))?,
                ),
            },
            refunded: r
                .refunded_base_units
                .as_deref()
                .map(|s| amount("refunded", s))
                .transpose()?,
            status: PaymentStatus::parse(&r.status)?,
            network: NetworkId::parse(&r.network_id)?,
            chain_id: fits("chain id", id, r.chain_id)?,
            token: TokenSymbol::parse(&r.token_symbol)?,
            token_contract: Address::parse(&r.token_contract)?,
            pay_to: Address::parse(&r.pay_to)?,
            requested_amount: amount("requested amount", &r.requested_base_units)?,
            amount: amount("amount", &r.amount_base_units)?,
            offset_steps: fits("offset steps", id, r.offset_steps)?,
            metadata,
            product_id: r.product_id.map(ProductId::from_store),
            required_confirmations: fits("required confirmations", id, r.required_confirmations)?,
            confirmations: fits("confirmations", id, r.confirmations)?,
            block_number: optional("block number", r.block_number)?,
            amount_received: r
                .amount_received
                .as_deref()
                .map(|s| amount("amount received", s))
                .transpose()?,
            start_block: optional("start block", r.start_block)?,
            late: r.late != 0,
            wrong_amount: match (r.wrong_transfer_id, r.wrong_amount_base_units.as_deref()) {
                (Some(transfer_id), Some(units)) => Some(WrongAmount {
                    transfer_id,
                    amount: amount("wrong amount", units)?,
                }),
                _ => None,
            },
            created_at: from_millis(r.created_at),
            expires_at: from_millis(r.expires_at),
            paid_at: r.paid_at.map(from_millis),
            updated_at: from_millis(r.updated_at),
            description: r.description,
            order_reference: r.order_reference,
            transaction_hash: r.transaction_hash,
            id: PaymentId::from_store(r.id),
        })
    }
}

/// The shop-currency price, all of its columns or none.
fn fiat(id: &str, r: &PaymentRow) -> Result<Option<FiatPrice>, CoreError> {
    let (Some(amount), Some(currency), Some(rate), Some(source), Some(at)) = (
        r.fiat_amount.as_deref(),
        r.fiat_currency.as_ref(),
        r.rate.as_deref(),
        r.rate_source.as_ref(),
        r.rate_at,
    ) else {
        return Ok(None);
    };
    let decimal = |what: &str, s: &str| {
        DecimalAmount::parse(s)
            .map_err(|_| CoreError::Corrupt(format!("payment {id}: {what} {s:?}")))
    };
    Ok(Some(FiatPrice {
        amount: decimal("fiat amount", amount)?,
        currency: currency.clone(),
        rate: Rate {
            value: decimal("rate", rate)?,
            source: source.clone(),
            at: from_millis(at),
        },
        markup_bp: fits("rate markup", id, r.rate_markup_bp.unwrap_or(0))?,
    }))
}

pub(super) fn map(row: &crate::store::DbRow) -> Result<Payment, CoreError> {
    Payment::try_from(PaymentRow::from_row(row)?)
}
