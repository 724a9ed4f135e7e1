//! Refunds without holding keys: staff ask for one from a paid sale, the shop's wallet scans the
//! answer's EIP-681 QR code and sends it, the watcher matches it (see
//! `stablepay_core::payments::Refund`). Asking and cancelling need `Sell` (the app moves no money:
//! the owner's wallet does); reading needs `ReadSales`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
    Extension, Json, Router,
};
use stablepay_core::{
    chain::verify::parse_tx_hash,
    payments::{PaymentId, RefundId},
};

use crate::{
    auth::{Caller, Permission, Require},
    dto::{
        payments::ProcessRequest,
        refunds::{CreateRefundRequest, RefundResponse, RefundsResponse},
    },
    error::{ApiError, ErrorBody},
    extract::ApiJson,
    state::AppState,
};

/// The refund routes.
pub fn router() -> Router<AppState> {
    let sell = Require(Permission::Sell);
    let read = Require(Permission::ReadSales);
    Router::new()
        .route(
            "/payments/{payment_id}/refunds",
            post(create)
                .route_layer(sell)
                .merge(get(list).route_layer(read)),
        )
        .route("/refunds/{refund_id}", get(get_one).route_layer(read))
        .route(
            "/refunds/{refund_id}/cancel",
            post(cancel).route_layer(sell),
        )
        .route("/refunds/{refund_id}/check", post(check).route_layer(sell))
}

/// Ask for a refund of a paid sale: all that may still be refunded (or `amount`), to the payer (or
/// `to`). Send it from the shop's wallet with the answer's `payment_uri` / `qr_svg`; it becomes
/// `confirming` when its transfer is seen and `confirmed` with the network's confirmations, and the
/// sale `partially_refunded` or `refunded` (webhook `payment.refunded`). 409 `invalid_state`: not
/// paid, or nothing left to refund; 422 `refund_too_large`: over what may still be refunded.
#[utoipa::path(post, path = "/api/v1/payments/{payment_id}/refunds", tag = "refunds",
    params(("payment_id" = String, Path, description = "Payment id")),
    request_body = CreateRefundRequest,
    security(("api_key" = ["admin", "cashier"])),
    responses((status = 201, body = RefundResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(payment_id): Path<String>,
    ApiJson(body): ApiJson<CreateRefundRequest>,
) -> Result<(StatusCode, Json<RefundResponse>), ApiError> {
    let id = PaymentId::parse(&payment_id)?;
    let request = body.parse(&caller.name)?;
    let refund = state.core.payments.start_refund(&id, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(RefundResponse::try_from(&refund)?),
    ))
}

/// A sale's refunds, its payer and what may still be refunded.
#[utoipa::path(get, path = "/api/v1/payments/{payment_id}/refunds", tag = "refunds",
    params(("payment_id" = String, Path, description = "Payment id")),
    security(("api_key" = ["admin", "cashier", "viewer"])),
    responses((status = 200, body = RefundsResponse), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
) -> Result<Json<RefundsResponse>, ApiError> {
    let refunds = state
        .core
        .payments
        .refunds_of(&PaymentId::parse(&payment_id)?)
        .await?;
    Ok(Json(RefundsResponse::try_from(&refunds)?))
}

/// One refund.
#[utoipa::path(get, path = "/api/v1/refunds/{refund_id}", tag = "refunds",
    params(("refund_id" = String, Path, description = "Refund id")),
    security(("api_key" = ["admin", "cashier", "viewer"])),
    responses((status = 200, body = RefundResponse), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(refund_id): Path<String>,
) -> Result<Json<RefundResponse>, ApiError> {
    let refund = state
        .core
        .payments
        .refund(&RefundId::parse(&refund_id)?)
        .await?;
    Ok(Json(RefundResponse::try_from(&refund)?))
}

/// Call off a refund whose transfer was not seen yet; 409 `invalid_state` after.
#[utoipa::path(post, path = "/api/v1/refunds/{refund_id}/cancel", tag = "refunds",
    params(("refund_id" = String, Path, description = "Refund id")),
    security(("api_key" = ["admin", "cashier"])),
    responses((status = 200, body = RefundResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(refund_id): Path<String>,
) -> Result<Json<RefundResponse>, ApiError> {
    let refund = state
        .core
        .payments
        .cancel_refund(&RefundId::parse(&refund_id)?)
        .await?;
    Ok(Json(RefundResponse::try_from(&refund)?))
}

/// Check a refund by its transaction hash, for networks whose endpoints serve no logs (BSC's own
/// endpoints): the transaction must send the refund's token from the receive address to its
/// recipient, exactly its amount, after it was asked. It is then matched as the watcher would and
/// confirmed with the network's confirmations. 422 with the reason as the code (`not_found`,
/// `transaction_failed`, `recipient_mismatch`, `token_mismatch`, `amount_mismatch`,
/// `transaction_too_old`, `already_used`) changes nothing; 409 `invalid_state` for a refund
/// matched to another transaction or cancelled.
#[utoipa::path(post, path = "/api/v1/refunds/{refund_id}/check", tag = "refunds",
    params(("refund_id" = String, Path, description = "Refund id")),
    request_body = ProcessRequest,
    security(("api_key" = ["admin", "cashier"])),
    responses((status = 200, body = RefundResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn check(
    State(state): State<AppState>,
    Path(refund_id): Path<String>,
    ApiJson(body): ApiJson<ProcessRequest>,
) -> Result<Json<RefundResponse>, ApiError> {
    let id = RefundId::parse(&refund_id)?;
    let tx_hash = parse_tx_hash(&body.transaction_hash)?;
    let refund = state.core.check_refund(&id, tx_hash).await?;
    Ok(Json(RefundResponse::try_from(&refund)?))
}
