//! `/api/v1/transfers`: every Transfer to the receive address seen on chain (merchant endpoint);
//! `?matched=false` is the staff inbox of transfers that credited nothing.

use axum::{extract::State, routing::get, Json, Router};
use serde::{Deserialize, Serialize};
use stablepay_core::transfers::StoredTransfer;
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::{Permission, Require},
    dto::rfc3339,
    error::{ApiError, ErrorBody},
    extract::ApiQuery,
    state::AppState,
};

/// Merchant routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/transfers", get(list))
        .route_layer(Require(Permission::ReadSales))
}

/// A transfer seen on chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferResponse {
    /// Id, for attaching it to a payment.
    pub id: i64,
    /// Network slug.
    pub network: String,
    /// Chain id.
    pub chain_id: u64,
    /// Token contract (EIP-55).
    pub token_contract: String,
    /// Token symbol, when the contract is a configured token.
    pub token: Option<String>,
    /// Transaction hash.
    pub transaction_hash: String,
    /// Log index.
    pub log_index: u64,
    /// Block height.
    pub block_number: u64,
    /// Sender.
    pub from: String,
    /// Recipient (the receive address).
    pub to: String,
    /// Amount in base units.
    pub value_base_units: String,
    /// Amount as a decimal, when the token is known.
    pub value: Option<String>,
    /// The payment it credits, if any.
    pub payment_id: Option<String>,
    /// The sale it matched but could not pay, if any (cancelled, already paid, or newer than the
    /// transfer).
    pub related_payment_id: Option<String>,
    /// Why it is in the inbox: `paid_after_cancel`, `second_payment`, `before_sale`,
    /// `same_transaction`, or null (no sale asked for this amount).
    pub reason: Option<String>,
    /// When it was seen (RFC 3339 UTC).
    pub seen_at: String,
}

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TransferQuery {
    /// `false`: only transfers that credit no payment; `true`: only those that do.
    pub matched: Option<bool>,
    /// At most this many, newest first (1–500, default 100).
    pub limit: Option<u32>,
}

/// List transfers to the receive address, newest first.
#[utoipa::path(get, path = "/api/v1/transfers", tag = "transfers", params(TransferQuery),
    responses((status = 200, body = [TransferResponse]), (status = 401, body = ErrorBody)), security(("api_key" = ["admin", "cashier", "viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<TransferQuery>,
) -> Result<Json<Vec<TransferResponse>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::InvalidQuery(
            "limit: must be between 1 and 500".into(),
        ));
    }
    let tokens = state.core.catalog.tokens().await;
    let rows = state.core.transfers.list(q.matched, limit).await?;
    Ok(Json(
        rows.into_iter()
            .map(|t: StoredTransfer| {
                let token = tokens
                    .iter()
                    .find(|k| k.network == t.network && k.contract_address == t.token_contract);
                TransferResponse {
                    id: t.id,
                    network: t.network.to_string(),
                    chain_id: t.chain_id,
                    token_contract: t.token_contract.to_string(),
                    token: token.map(|k| k.symbol.to_string()),
                    transaction_hash: t.tx_hash,
                    log_index: t.log_index,
                    block_number: t.block_number,
                    from: t.from.to_string(),
                    to: t.to.to_string(),
                    value_base_units: t.value.to_string(),
                    value: token.map(|k| {
                        stablepay_core::amount::TokenAmount::from_base_units(t.value, k.decimals)
                            .to_decimal_string(2)
                    }),
                    payment_id: t.payment_id,
                    related_payment_id: t.related_payment_id,
                    reason: t.reason,
                    seen_at: rfc3339(t.seen_at),
                }
            })
            .collect(),
    ))
}
