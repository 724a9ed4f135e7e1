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
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use stablepay_core::{
    amount::DecimalAmount,
    catalog::{NetworkId, TokenSymbol},
    chain::verify::check_transaction,
    payments::{
        IdempotencyKey, NewPayment, Payment, PaymentFilter, PaymentId, PaymentStatus, Price,
    },
    products::ProductId,
    qr, CoreError,
};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::{Caller, Permission, Require},
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiQuery},
    state::AppState,
};

/// Amounts are shown with at least this many decimals ("10.00").
const DISPLAY_SCALE: usize = 2;

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
        );
    let customer = Router::new()
        .route("/payments/{payment_id}", get(get_one))
        .route("/payments/{payment_id}/qr.svg", get(qr_svg))
        .route("/payments/{payment_id}/qr.png", get(qr_png))
        .route("/payments/{payment_id}/process", post(process));
    merchant.merge(customer)
}

/// Body of `POST /api/v1/payments`: give `amount` or `product_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentRequest {
    /// Amount in token units as a decimal string, e.g. `"10.50"` (not a JSON number: money is exact).
    #[schema(example = "10.00")]
    pub amount: Option<String>,
    /// Price the payment from this product instead of `amount`.
    pub product_id: Option<String>,
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
}

/// A payment session as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentResponse {
    /// `pay_` + 32 hex digits.
    pub id: String,
    /// `pending`, `confirming`, `paid`, `expired`, `cancelled` or `failed`.
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
    /// The network's head block at creation (less a small margin): transfers mined before it never
    /// pay this payment automatically. Null when no head was known.
    pub start_block: Option<u64>,
    /// Matched after expiry, within the grace window.
    pub late: bool,
    /// Shown to the customer.
    pub description: Option<String>,
    /// Your order id.
    pub order_reference: Option<String>,
    /// Your JSON object.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// Product it was priced from.
    pub product_id: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
    /// RFC 3339 UTC, once paid.
    pub paid_at: Option<String>,
}

pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl PaymentResponse {
    /// The payment as a customer may see it: without the shop's `metadata` and `order_reference`.
    pub fn for_customer(p: &Payment) -> Self {
        Self {
            metadata: None,
            order_reference: None,
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
            start_block: p.start_block,
            late: p.late,
            description: p.description.clone(),
            order_reference: p.order_reference.clone(),
            metadata: p.metadata.clone(),
            product_id: p.product_id.as_ref().map(|id| id.to_string()),
            created_at: rfc3339(p.created_at),
            expires_at: rfc3339(p.expires_at),
            paid_at: p.paid_at.map(rfc3339),
        }
    }
}

impl CreatePaymentRequest {
    async fn parse(self, headers: &HeaderMap, state: &AppState) -> Result<NewPayment, ApiError> {
        let price = match (self.amount, self.product_id) {
            (Some(a), None) => Price::Amount(DecimalAmount::parse(&a).map_err(CoreError::from)?),
            (None, Some(p)) => Price::Product(ProductId::parse(&p)?),
            (Some(_), Some(_)) => {
                return Err(ApiError::InvalidField(
                    "give either amount or product_id, not both".into(),
                ))
            }
            (None, None) => {
                return Err(ApiError::InvalidField(
                    "amount or product_id is required".into(),
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
        })
    }
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
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreatePaymentRequest>,
) -> Result<Response, ApiError> {
    let request = body.parse(&headers, &state).await?;
    let created = state.core.payments.create(request).await?;
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
    Ok(Json(PaymentResponse::for_caller(&payment, &caller)))
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
    fn parse(self) -> Result<PaymentFilter, ApiError> {
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
            created_from: time("from", self.from)?,
            created_to: time("to", self.to)?,
            cursor: self.cursor,
            limit,
        })
    }
}

/// A page of payments, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentPage {
    /// The payments.
    pub payments: Vec<PaymentResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
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
    let mut out = String::from("id,created_at,status,token,network,amount,requested_amount,amount_base_units,order_reference,description,transaction_hash,block_number,late,paid_at\n");
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
    fn uri(&self, p: &Payment) -> Result<String, ApiError> {
        match self.kind.as_deref() {
            None | Some("transfer") => Ok(p.payment_uri()),
            Some("address") => Ok(p.address_only_uri()),
            Some(other) => Err(ApiError::InvalidQuery(format!(
                "kind: {other:?} is not transfer or address"
            ))),
        }
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
    let payment = state
        .core
        .payments
        .get(&PaymentId::parse(&payment_id)?)
        .await?;
    let svg = qr::svg(&q.uri(&payment)?).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        svg,
    )
        .into_response())
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
    let payment = state
        .core
        .payments
        .get(&PaymentId::parse(&payment_id)?)
        .await?;
    let scale = q.scale.unwrap_or(8);
    if !(1..=32).contains(&scale) {
        return Err(ApiError::InvalidQuery(
            "scale: must be between 1 and 32".into(),
        ));
    }
    let png = qr::png(&q.uri(&payment)?, scale).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    )
        .into_response())
}

/// Body of `POST /payments/{id}/process`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessRequest {
    /// The transaction that pays the payment, `0x` + 64 hex digits.
    pub transaction_hash: String,
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
    let payment = state.core.payments.get(&id).await?;
    let tx_hash = parse_tx_hash(&body.transaction_hash)?;
    let network = state.core.catalog.network(&payment.network).await?;
    let rpc = state.core.chains.get(&payment.network).ok_or_else(|| {
        ApiError::ChainUnavailable(format!("network {} has no rpc_urls", payment.network))
    })?;
    let payment = check_transaction(&state.core.payments, rpc, &network, &payment, tx_hash).await?;
    Ok(Json(PaymentResponse::for_caller(&payment, &caller)))
}

fn parse_tx_hash(s: &str) -> Result<stablepay_core::chain::TxHash, ApiError> {
    let ok = s.len() == 66 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(ApiError::InvalidField(
            "transaction_hash: must be 0x followed by 64 hex digits".into(),
        ));
    }
    s.parse()
        .map_err(|_| ApiError::InvalidField("transaction_hash: not a transaction hash".into()))
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
