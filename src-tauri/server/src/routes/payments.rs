//! `/api/v1/payments`: create, get, list, cancel, QR and CSV export. Handlers only translate between
//! HTTP and the core.
//!
//! A payment by its id, its QR codes and the manual check are customer routes: the unguessable id
//! is the credential, and a customer sees the payment without the shop's `metadata` and
//! `order_reference` ([`PaymentResponse::for_customer`]); a caller who may read sales sees it
//! whole.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Extension, Json, Router,
};
use stablepay_core::{chain::verify::parse_tx_hash, payments::PaymentId, qr};

use crate::{
    auth::{Caller, Permission, Require},
    dto::payments::{
        AttachRequest, CreatePaymentRequest, ListQuery, PaymentPage, PaymentResponse,
        ProcessRequest, QrQuery, ShortfallView, TipChoice,
    },
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiQuery},
    state::AppState,
};

/// Customer routes (the payment id is the credential) and merchant routes (by permission).
pub fn router() -> Router<AppState> {
    let sell = Require(Permission::Sell);
    let read = Require(Permission::ReadSales);
    let merchant = Router::new()
        .route(
            "/payments",
            post(create)
                .route_layer(sell)
                .merge(get(list).route_layer(read)),
        )
        .route("/payments/export.csv", get(export_csv).route_layer(read))
        .route(
            "/payments/{payment_id}/cancel",
            post(cancel).route_layer(sell),
        )
        .route(
            "/payments/{payment_id}/attach",
            post(attach).route_layer(Require(Permission::Manage)),
        )
        .route(
            "/payments/{payment_id}/remainder",
            post(remainder).route_layer(sell),
        )
        .route(
            "/payments/{payment_id}/tip",
            post(tip).route_layer(Require(Permission::Display)),
        );
    let customer = Router::new()
        .route("/payments/{payment_id}", get(get_one))
        .route("/payments/{payment_id}/qr.svg", get(qr_svg))
        .route("/payments/{payment_id}/qr.png", get(qr_png))
        .route("/payments/{payment_id}/process", post(process));
    merchant.merge(customer)
}

/// Create a payment: reserves a unique exact amount and returns the QR payload.
#[utoipa::path(post, path = "/api/v1/payments", tag = "payments",
    request_body = CreatePaymentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays with the same key and body return the same payment")),
    responses(
        (status = 201, description = "Created (or replayed: header Idempotent-Replayed: true)", body = PaymentResponse),
        (status = 400, description = "Invalid JSON", body = ErrorBody),
        (status = 401, description = "API key missing or wrong", body = ErrorBody),
        (status = 409, description = "Idempotency key reused, order reference taken, amount slots exhausted, merchant not configured", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid amount, token, network or field", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ),
    security(("api_key" = ["admin", "cashier"])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreatePaymentRequest>,
) -> Result<Response, ApiError> {
    let show = body.show_on_display == Some(true);
    let mut request = body.parse(&headers, &state).await?;
    request.counter = caller.counter.clone();
    let created = state.core.payments.create(request).await?;
    if show && !created.replayed {
        state
            .core
            .display
            .show(caller.channel().as_ref(), Some(&created.payment.id))
            .await?;
    }
    let mut response = (
        StatusCode::CREATED,
        Json(PaymentResponse::from(&created.payment)),
    )
        .into_response();
    let location = format!("/api/v1/payments/{}", created.payment.id);
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("ids are ASCII"),
    );
    if created.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Ask for the rest of a sale credited (by hand) with less than it asked: a payment for what is
/// missing, in the same token and network, shown on the customer display at once. Asking again
/// answers the same remainder while it is open or paid. 409 `invalid_state` for any other sale.
#[utoipa::path(post, path = "/api/v1/payments/{payment_id}/remainder", tag = "payments",
    params(("payment_id" = String, Path, description = "The short sale")),
    security(("api_key" = ["admin", "cashier"])),
    responses((status = 200, body = PaymentResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remainder(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(payment_id): Path<String>,
) -> Result<Json<PaymentResponse>, ApiError> {
    let rest = state
        .core
        .payments
        .request_remainder(&PaymentId::parse(&payment_id)?)
        .await?;
    if rest.status.is_open() {
        state
            .core
            .display
            .show(caller.channel().as_ref(), Some(&rest.id))
            .await?;
    }
    Ok(Json(PaymentResponse::from(&rest)))
}

/// The customer's tip choice (the customer display, or the cashier for them): the price grows by
/// it and the sale takes its exact amount; 0 for no tip. 409 `invalid_state` unless the sale is
/// open and still asking.
#[utoipa::path(post, path = "/api/v1/payments/{payment_id}/tip", tag = "payments",
    params(("payment_id" = String, Path, description = "The sale")),
    request_body = TipChoice,
    security(("api_key" = ["admin", "cashier", "display"])),
    responses((status = 200, body = PaymentResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn tip(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    ApiJson(body): ApiJson<TipChoice>,
) -> Result<Json<PaymentResponse>, ApiError> {
    let p = state
        .core
        .payments
        .choose_tip(&PaymentId::parse(&payment_id)?, body.percent)
        .await?;
    Ok(Json(PaymentResponse::for_customer(&p)))
}

/// Get one payment by id. Reachable with the id alone (customer screens).
#[utoipa::path(get, path = "/api/v1/payments/{payment_id}", tag = "payments",
    params(("payment_id" = String, Path, description = "Payment id")),
    responses((status = 200, body = PaymentResponse), (status = 404, body = ErrorBody)),
    security(()))]
pub async fn get_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(payment_id): Path<String>,
) -> Result<Json<PaymentResponse>, ApiError> {
    let payment = state
        .core
        .payments
        .get(&PaymentId::parse(&payment_id)?)
        .await?;
    let shortfall = state.core.payments.shortfall(&payment).await?;
    Ok(Json(PaymentResponse {
        shortfall: shortfall.map(ShortfallView::from),
        ..PaymentResponse::for_caller(&payment, &caller)
    }))
}

/// Cancel a pending payment. A payment already `confirming` cannot be cancelled.
#[utoipa::path(post, path = "/api/v1/payments/{payment_id}/cancel", tag = "payments",
    params(("payment_id" = String, Path, description = "Payment id")),
    responses((status = 200, body = PaymentResponse), (status = 404, body = ErrorBody), (status = 409, description = "Not pending", body = ErrorBody)),
    security(("api_key" = ["admin", "cashier"])))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
) -> Result<Json<PaymentResponse>, ApiError> {
    let payment = state
        .core
        .payments
        .cancel(&PaymentId::parse(&payment_id)?)
        .await?;
    Ok(Json(PaymentResponse::from(&payment)))
}

/// List payments, newest first, with filters and cursor pagination.
#[utoipa::path(get, path = "/api/v1/payments", tag = "payments", params(ListQuery),
    responses((status = 200, body = PaymentPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("api_key" = ["admin", "cashier", "viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PaymentPage>, ApiError> {
    let page = state.core.payments.list(&query.parse()?).await?;
    Ok(Json(PaymentPage {
        payments: page.items.iter().map(PaymentResponse::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Most rows one CSV export returns.
const MAX_EXPORT_ROWS: usize = 100_000;

/// Export payments as CSV (same filters as the list; `cursor` and `limit` are ignored).
#[utoipa::path(get, path = "/api/v1/payments/export.csv", tag = "payments", params(ListQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = ErrorBody)),
    security(("api_key" = ["admin", "cashier", "viewer"])))]
pub async fn export_csv(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let mut filter = query.parse()?;
    filter.cursor = None;
    filter.limit = 200;
    let mut out = String::from("id,created_at,status,token,network,amount,requested_amount,amount_base_units,order_reference,description,transaction_hash,block_number,late,paid_at,fiat_amount,fiat_currency,rate,rate_source,rate_at,refunded_amount,counter\n");
    let mut rows = 0;
    loop {
        let page = state.core.payments.list(&filter).await?;
        for p in &page.items {
            let r = PaymentResponse::from(p);
            let fields = [
                r.id,
                r.created_at,
                r.status,
                r.token,
                r.network,
                r.amount,
                r.requested_amount,
                r.amount_base_units,
                r.order_reference.unwrap_or_default(),
                r.description.unwrap_or_default(),
                r.transaction_hash.unwrap_or_default(),
                r.block_number.map(|b| b.to_string()).unwrap_or_default(),
                r.late.to_string(),
                r.paid_at.unwrap_or_default(),
                r.fiat_amount.unwrap_or_default(),
                r.fiat_currency.unwrap_or_default(),
                r.rate.unwrap_or_default(),
                r.rate_source.unwrap_or_default(),
                r.rate_at.unwrap_or_default(),
                r.refunded_amount.unwrap_or_default(),
                r.counter.map(|c| c.name).unwrap_or_default(),
            ];
            out.push_str(
                &fields
                    .iter()
                    .map(|f| csv_field(f))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        }
        rows += page.items.len();
        match page.next_cursor {
            Some(c) if rows < MAX_EXPORT_ROWS => filter.cursor = Some(c),
            _ => break,
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"payments.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// Quotes a CSV field when needed, and defuses spreadsheet formulas (a description starting with
/// `=` must not run in the bookkeeper's spreadsheet).
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The payment's QR code as SVG.
#[utoipa::path(get, path = "/api/v1/payments/{payment_id}/qr.svg", tag = "payments",
    params(("payment_id" = String, Path, description = "Payment id"), QrQuery),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = ErrorBody)),
    security(()))]
pub async fn qr_svg(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    ApiQuery(q): ApiQuery<QrQuery>,
) -> Result<Response, ApiError> {
    let uri = qr_uri(&state, &payment_id, &q).await?;
    let svg = qr::svg(&uri).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(image("image/svg+xml", svg))
}

/// The payment's QR code as PNG.
#[utoipa::path(get, path = "/api/v1/payments/{payment_id}/qr.png", tag = "payments",
    params(("payment_id" = String, Path, description = "Payment id"), QrQuery),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 404, body = ErrorBody)),
    security(()))]
pub async fn qr_png(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    ApiQuery(q): ApiQuery<QrQuery>,
) -> Result<Response, ApiError> {
    let uri = qr_uri(&state, &payment_id, &q).await?;
    let scale = q.scale.unwrap_or(8);
    if !(1..=32).contains(&scale) {
        return Err(ApiError::InvalidQuery(
            "scale: must be between 1 and 32".into(),
        ));
    }
    let png = qr::png(&uri, scale).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(image("image/png", png))
}

/// The URI a payment's QR code carries, of the kind the query asks for.
async fn qr_uri(state: &AppState, payment_id: &str, q: &QrQuery) -> Result<String, ApiError> {
    let payment = state
        .core
        .payments
        .get(&PaymentId::parse(payment_id)?)
        .await?;
    q.uri(&payment)
}

/// A QR image: private (it names the shop's address and amount), cacheable for an hour.
fn image(content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Check a transaction hash against a payment (when the customer says "I paid" and the watcher has
/// not credited it yet). A failing check answers 422 with the reason as `code`
/// (`transaction_failed`, `address_mismatch`, `amount_mismatch`, `token_mismatch`, `already_used`,
/// `not_found`, `transaction_too_old` — mined before the payment existed —, `self_transfer`) and
/// leaves the payment unchanged; a passing one credits it (`confirming`), and it settles like any
/// credit.
#[utoipa::path(post, path = "/api/v1/payments/{payment_id}/process", tag = "payments",
    params(("payment_id" = String, Path, description = "Payment id")),
    request_body = ProcessRequest,
    responses(
        (status = 200, description = "Credited (or already credited by this transaction)", body = PaymentResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Payment cannot be credited (paid, cancelled, or past its grace window)", body = ErrorBody),
        (status = 422, description = "The transaction does not pay this payment; code is the reason", body = ErrorBody),
        (status = 503, description = "No blockchain node answers", body = ErrorBody),
    ),
    security(()))]
pub async fn process(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(payment_id): Path<String>,
    ApiJson(body): ApiJson<ProcessRequest>,
) -> Result<Json<PaymentResponse>, ApiError> {
    let id = PaymentId::parse(&payment_id)?;
    state
        .process_budget
        .check(&id.to_string())
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    let tx_hash = parse_tx_hash(&body.transaction_hash)?;
    let payment = state.core.check_transaction(&id, tx_hash).await?;
    Ok(Json(PaymentResponse::for_caller(&payment, &caller)))
}

/// Attach an unmatched transfer to a pending or expired payment by hand (staff), with a reason. The
/// amount may differ (e.g. an exchange withdrawal minus fees): it becomes the payment's
/// `amount_received` (`amount_match` under- or overpaid). 409 when the payment cannot take it (not
/// pending or expired, its transaction already credits a payment, or a newer open payment now holds
/// its exact amount).
#[utoipa::path(post, path = "/api/v1/payments/{payment_id}/attach", tag = "payments",
    params(("payment_id" = String, Path, description = "Payment id")),
    request_body = AttachRequest,
    responses(
        (status = 200, description = "Credited; settles with the normal confirmation rule", body = PaymentResponse),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("api_key" = ["admin"])))]
pub async fn attach(
    State(state): State<AppState>,
    Path(payment_id): Path<String>,
    ApiJson(body): ApiJson<AttachRequest>,
) -> Result<Json<PaymentResponse>, ApiError> {
    let payment = state
        .core
        .payments
        .attach(
            &PaymentId::parse(&payment_id)?,
            body.transfer_id,
            &body.reason,
        )
        .await?;
    Ok(Json(PaymentResponse::from(&payment)))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
