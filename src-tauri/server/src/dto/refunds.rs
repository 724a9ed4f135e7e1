//! Refunds on the wire: what `POST /payments/{id}/refunds` takes, a refund as the API shows it
//! (with the EIP-681 request and its QR code for the shop's wallet), and a sale's refunds.

use serde::{Deserialize, Serialize};
use stablepay_core::{
    address::Address,
    amount::DecimalAmount,
    payments::{NewRefund, Refund, Refunds},
    qr,
};
use utoipa::ToSchema;

use super::{payments::DISPLAY_SCALE, rfc3339};
use crate::error::ApiError;

/// Body of `POST /api/v1/payments/{id}/refunds`; every field may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefundRequest {
    /// How much, decimal token units; all that may still be refunded when left out.
    #[schema(example = "1.50")]
    pub amount: Option<String>,
    /// To whom (EIP-55); the payer (the crediting transfer's sender) when left out.
    pub to: Option<String>,
    /// Why (at most 200 characters), for the audit trail and the slip.
    pub reason: Option<String>,
}

impl CreateRefundRequest {
    /// The core's request, asked by `by`.
    pub fn parse(self, by: &str) -> Result<NewRefund, ApiError> {
        Ok(NewRefund {
            amount: self
                .amount
                .as_deref()
                .map(DecimalAmount::parse)
                .transpose()
                .map_err(stablepay_core::CoreError::from)?,
            to: self.to.as_deref().map(Address::parse).transpose()?,
            reason: self.reason,
            by: by.to_owned(),
        })
    }
}

/// A refund.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundResponse {
    /// `rfd_` + 32 hex digits.
    pub id: String,
    /// The sale.
    pub payment_id: String,
    /// `awaiting` (send it from the shop's wallet), `confirming` (its transfer was seen),
    /// `confirmed` or `cancelled`.
    pub status: String,
    /// Network slug.
    pub network: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// Token symbol.
    pub token: String,
    /// Token contract (EIP-55).
    pub token_contract: String,
    /// The shop's receive address, which must send it.
    pub from: String,
    /// Who gets it (EIP-55).
    pub to: String,
    /// Exactly how much, decimal.
    pub amount: String,
    /// `amount` in base units.
    pub amount_base_units: String,
    /// Its worth in the shop's currency (its share of the sale's price), when the sale had one.
    pub fiat_amount: Option<String>,
    /// ISO 4217.
    pub fiat_currency: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Who asked for it.
    pub created_by: Option<String>,
    /// EIP-681 request for the shop's wallet: this token, to `to`, exactly `amount`.
    pub payment_uri: String,
    /// That request as a QR code (SVG).
    pub qr_svg: String,
    /// No earlier block matches it.
    pub start_block: Option<u64>,
    /// The matched transfer's transaction.
    pub transaction_hash: Option<String>,
    /// Its block.
    pub block_number: Option<u64>,
    /// Confirmations seen.
    pub confirmations: u32,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// When its transfer was seen.
    pub matched_at: Option<String>,
    /// When it was confirmed.
    pub confirmed_at: Option<String>,
    /// When it was cancelled.
    pub cancelled_at: Option<String>,
}

impl TryFrom<&Refund> for RefundResponse {
    type Error = ApiError;

    fn try_from(r: &Refund) -> Result<Self, ApiError> {
        let uri = r.payment_uri();
        Ok(Self {
            id: r.id.to_string(),
            payment_id: r.payment_id.to_string(),
            status: r.status.as_str().to_owned(),
            network: r.network.to_string(),
            chain_id: r.chain_id,
            token: r.token.to_string(),
            token_contract: r.token_contract.to_string(),
            from: r.from.to_string(),
            to: r.to.to_string(),
            amount: r.amount.to_decimal_string(DISPLAY_SCALE),
            amount_base_units: r.amount.base_units().to_string(),
            fiat_amount: r.fiat_amount.as_ref().map(|f| f.to_string_scaled(2)),
            fiat_currency: r.fiat_currency.clone(),
            reason: r.reason.clone(),
            created_by: r.created_by.clone(),
            qr_svg: qr::svg(&uri).map_err(|e| ApiError::Internal(e.to_string()))?,
            payment_uri: uri,
            start_block: r.start_block,
            transaction_hash: r.tx_hash.clone(),
            block_number: r.block_number,
            confirmations: r.confirmations,
            created_at: rfc3339(r.created_at),
            matched_at: r.matched_at.map(rfc3339),
            confirmed_at: r.confirmed_at.map(rfc3339),
            cancelled_at: r.cancelled_at.map(rfc3339),
        })
    }
}

/// `GET /api/v1/payments/{id}/refunds`: a sale's refunds and what may still be refunded.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundsResponse {
    /// Who paid (the crediting transfer's sender): the default recipient.
    pub payer: Option<String>,
    /// What the sale received, decimal.
    pub received: String,
    /// Given back by confirmed refunds, decimal.
    pub refunded: String,
    /// What a new refund may still ask (received less every refund not cancelled), decimal.
    pub refundable: String,
    /// Oldest first.
    pub refunds: Vec<RefundResponse>,
}

impl TryFrom<&Refunds> for RefundsResponse {
    type Error = ApiError;

    fn try_from(r: &Refunds) -> Result<Self, ApiError> {
        Ok(Self {
            payer: r.payer.map(|a| a.to_string()),
            received: r.received.to_decimal_string(DISPLAY_SCALE),
            refunded: r.refunded.to_decimal_string(DISPLAY_SCALE),
            refundable: r.refundable.to_decimal_string(DISPLAY_SCALE),
            refunds: r
                .refunds
                .iter()
                .map(RefundResponse::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}
