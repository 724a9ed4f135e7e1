//! `/api/v1/payments/{id}/receipt`: a paid sale's receipt — as JSON for the printable page (anyone
//! with the payment id, like the payment itself), and printed on the shop's receipt printer (staff
//! who sell). The printed labels follow the request's language.

use axum::{
    extract::{Path, State},
    routing::{get, post},
    Json, Router,
};
use stablepay_core::payments::PaymentId;

use crate::{
    auth::{Permission, Require},
    dto::receipts::{Printed, ReceiptResponse},
    error::{ApiError, ErrorBody},
    language::Language,
    state::AppState,
};

/// Routes: the receipt (customer), printing it (cashier).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/payments/{payment_id}/receipt/print",
            post(print).route_layer(Require(Permission::Sell)),
        )
        .route("/payments/{payment_id}/receipt", get(receipt))
}

/// A paid payment's receipt; 409 `invalid_state` before it is paid.
#[utoipa::path(get, path = "/api/v1/payments/{payment_id}/receipt", tag = "payments",
    params(("payment_id" = String, Path, description = "Payment id")),
    responses((status = 200, body = ReceiptResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(()))]
pub async fn receipt(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
) -> Result<Json<ReceiptResponse>, ApiError> {
    let receipts = &state.core.receipts;
    let r = receipts.receipt(&PaymentId::parse(&payment_id)?).await?;
    Ok(Json(ReceiptResponse::new(r, receipts.printer().is_some())))
}

/// Prints a paid payment's receipt on the receipt printer (ESC/POS over raw TCP or a device
/// file); 409 `printer_not_configured` / `printer_unreachable`.
#[utoipa::path(post, path = "/api/v1/payments/{payment_id}/receipt/print", tag = "payments",
    params(("payment_id" = String, Path, description = "Payment id")),
    security(("api_key" = ["admin", "cashier"])),
    responses((status = 200, body = Printed), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn print(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
) -> Result<Json<Printed>, ApiError> {
    let language = match Language::current() {
        Language::ZhCn => "zh-CN",
        Language::En => "en",
    };
    let printer = state
        .core
        .receipts
        .print(&PaymentId::parse(&payment_id)?, language)
        .await?;
    Ok(Json(Printed { printer }))
}
