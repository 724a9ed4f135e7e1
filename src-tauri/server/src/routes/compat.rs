//! The epusdt protocol's routes (see `stablepay_core::compat::epusdt`), answered in its envelope
//! `{"status_code", "message", "data", "request_id"}` — HTTP 200 with `status_code` 200 on success,
//! its error codes otherwise (401 signature, 10002 order exists, 10008 not found, 10009 unreadable
//! parameters, 400 anything else) — and the hosted checkout's addresses.
//!
//! The orders' signature is their credential, so these routes need no API key. Parameters come as
//! JSON (as epusdt clients send them) or as a form.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Serialize;
use serde_json::{json, Map, Value};
use stablepay_core::{compat::epusdt::EpusdtError, payments::PaymentId};
use utoipa::ToSchema;

use crate::{
    error::{ApiError, ErrorBody},
    state::AppState,
};

/// The protocol's routes and the checkout's extras (under `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/order/create-transaction", post(create))
        .route("/order/cancel-transaction", post(cancel))
        .route("/payments/{payment_id}/checkout", get(checkout))
}

/// The hosted checkout's own addresses (outside `/api`): they open the customer's page.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/pay/checkout-counter/{trade_id}", get(page))
        .route("/pay/{payment_id}", get(page))
}

/// The parameters of a body: a JSON object, or a form's fields as strings.
fn params(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, EpusdtError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| EpusdtError::Unreadable(e.to_string()))?;
        return Ok(pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(EpusdtError::Unreadable("not a JSON object".into())),
        Err(e) => Err(EpusdtError::Unreadable(e.to_string())),
    }
}

fn envelope(status_code: u32, message: String, data: Value) -> Response {
    Json(json!({
        "status_code": status_code,
        "message": message,
        "data": data,
        "request_id": "",
    }))
    .into_response()
}

fn refused(e: EpusdtError) -> Response {
    if matches!(e, EpusdtError::Core(ref c) if c.code() == "internal_error") {
        tracing::error!(error = %e, "epusdt request failed");
    } else {
        tracing::info!(error = %e, "epusdt request refused");
    }
    envelope(e.status_code(), e.to_string(), Value::Null)
}

/// epusdt's create: an order priced in the shop's currency (`order_id`, `amount`, `notify_url`,
/// `redirect_url`, optional `timeout`, `trade_type`, `rate`, and `signature`). The same `order_id`
/// answers the same order; with another amount or trade type, 10002.
#[utoipa::path(post, path = "/api/v1/order/create-transaction", tag = "epusdt",
    request_body(content = Object, description = "epusdt's parameters, signed"),
    responses((status = 200, description = "epusdt's envelope", body = Object)),
    security(()))]
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match params(&headers, &body) {
        Ok(p) => p,
        Err(e) => return refused(e),
    };
    match state.core.epusdt.create(&params).await {
        Ok(order) => envelope(
            200,
            "success".into(),
            order.data(
                &crate::lan::shop_address(&state, &headers),
                state.core.clock.now(),
            ),
        ),
        Err(e) => refused(e),
    }
}

/// epusdt's cancel (`trade_id`, `signature`): only an order waiting for payment.
#[utoipa::path(post, path = "/api/v1/order/cancel-transaction", tag = "epusdt",
    request_body(content = Object, description = "epusdt's parameters, signed"),
    responses((status = 200, description = "epusdt's envelope", body = Object)),
    security(()))]
pub async fn cancel(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let params = match params(&headers, &body) {
        Ok(p) => p,
        Err(e) => return refused(e),
    };
    match state.core.epusdt.cancel(&params).await {
        Ok(trade_id) => envelope(200, "success".into(), json!({ "trade_id": trade_id })),
        Err(e) => refused(e),
    }
}

/// What the hosted checkout needs beside the payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutResponse {
    /// The shop's name.
    pub shop_name: String,
    /// Where to send the customer once paid (an epusdt order's `redirect_url`, on an allowed
    /// host); null: stay on the page.
    pub redirect_url: Option<String>,
}

/// The hosted checkout's extras for a payment (the id is the credential).
#[utoipa::path(get, path = "/api/v1/payments/{payment_id}/checkout", tag = "payments",
    params(("payment_id" = String, Path, description = "Payment id")),
    responses((status = 200, body = CheckoutResponse), (status = 404, body = ErrorBody)),
    security(()))]
pub async fn checkout(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
) -> Result<Json<CheckoutResponse>, ApiError> {
    let id = PaymentId::parse(&payment_id)?;
    state.core.payments.get(&id).await?;
    Ok(Json(CheckoutResponse {
        shop_name: state.core.config.merchant.name.clone(),
        redirect_url: state.core.epusdt.redirect_for(&id).await?,
    }))
}

/// `/pay/checkout-counter/{trade_id}` and `/pay/{payment_id}`: the customer's checkout page.
async fn page(Path(id): Path<String>) -> Response {
    match PaymentId::parse(&id) {
        Ok(id) => Redirect::to(&format!("/#/checkout/{id}")).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such payment").into_response(),
    }
}
