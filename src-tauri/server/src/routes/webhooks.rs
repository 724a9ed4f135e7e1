//! `/api/v1/webhooks`: endpoints (from the config file and added here), the delivery log and
//! redelivery — merchant endpoints. Secrets are never shown back in full.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use stablepay_core::webhooks::{Delivery, Endpoint};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::{Permission, Require},
    dto::rfc3339,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiQuery},
    state::AppState,
};

/// Routes: the delivery log for those who monitor; endpoints (with their secrets) for admins.
pub fn router() -> Router<AppState> {
    let manage = Require(Permission::Manage);
    Router::new()
        .route("/webhooks", get(list).post(create).route_layer(manage))
        .route("/webhooks/{webhook_id}", delete(remove).route_layer(manage))
        .route(
            "/webhooks/deliveries",
            get(deliveries).route_layer(Require(Permission::Monitor)),
        )
        .route(
            "/webhooks/deliveries/{delivery_id}/redeliver",
            post(redeliver).route_layer(manage),
        )
}

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    /// `whk_` + 24 hex digits.
    pub id: String,
    /// Receiver URL.
    pub url: String,
    /// The secret's last four characters, for recognition.
    pub secret_hint: String,
    /// Subscribed event types.
    pub events: Vec<String>,
    /// `config` (managed in the config file) or `api`.
    pub source: String,
    /// Receives deliveries (config endpoints removed from the file are disabled).
    pub enabled: bool,
    /// RFC 3339.
    pub created_at: String,
}

impl From<Endpoint> for WebhookResponse {
    fn from(e: Endpoint) -> Self {
        let tail: String = e
            .secret
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Self {
            id: e.id,
            url: e.url,
            secret_hint: format!("…{tail}"),
            events: e.events.iter().map(ToString::to_string).collect(),
            source: e.source,
            enabled: e.enabled,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// `GET /api/v1/webhooks`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub data: Vec<WebhookResponse>,
}

/// Webhook endpoints.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("api_key" = ["admin"])),
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<WebhookList>, ApiError> {
    let data = state
        .core
        .webhooks
        .endpoints()
        .await?
        .into_iter()
        .map(WebhookResponse::from)
        .collect();
    Ok(Json(WebhookList { data }))
}

/// `POST /api/v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// http(s) URL of the receiver.
    pub url: String,
    /// HMAC secret, 16–200 characters.
    pub secret: String,
    /// Event types; empty or absent = all of `payment.confirming`, `payment.paid`,
    /// `payment.expired`, `payment.cancelled`, `transfer.unmatched`.
    #[serde(default)]
    pub events: Vec<String>,
}

/// Adds a webhook endpoint; it receives events from now on.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("api_key" = ["admin"])), request_body = CreateWebhook,
    responses((status = 201, body = WebhookResponse), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookResponse>), ApiError> {
    let endpoint = state
        .core
        .webhooks
        .add_endpoint(&body.url, &body.secret, &body.events)
        .await?;
    Ok((StatusCode::CREATED, Json(endpoint.into())))
}

/// Removes an endpoint added through the API (config ones: edit the file).
#[utoipa::path(delete, path = "/api/v1/webhooks/{webhook_id}", tag = "webhooks", security(("api_key" = ["admin"])),
    params(("webhook_id" = String, Path, description = "whk_…")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.core.webhooks.remove_endpoint(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    /// Delivery id (for redelivery).
    pub id: i64,
    /// `evt_<n>`: the body's `id` and the `StablePay-Event-Id` header.
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// Endpoint id.
    pub webhook_id: String,
    /// Endpoint URL.
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// HTTP status of the last attempt.
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// RFC 3339; for pending ones, when the next attempt is due.
    pub next_attempt_at: String,
    /// RFC 3339.
    pub delivered_at: Option<String>,
    /// RFC 3339, when queued.
    pub created_at: String,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type.to_string(),
            webhook_id: d.endpoint_id,
            url: d.endpoint_url,
            status: d.status.as_str().to_string(),
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: rfc3339(d.next_attempt_at),
            delivered_at: d.delivered_at.map(rfc3339),
            created_at: rfc3339(d.created_at),
        }
    }
}

/// `?status=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

/// `GET /api/v1/webhooks/deliveries`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    pub data: Vec<DeliveryResponse>,
}

/// The delivery log.
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries", tag = "webhooks", security(("api_key" = ["admin", "viewer"])), params(DeliveriesQuery),
    responses((status = 200, body = DeliveryList), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::InvalidQuery("limit: between 1 and 500".into()));
    }
    let data = state
        .core
        .webhooks
        .deliveries(
            q.status
                .as_deref()
                .map(stablepay_core::webhooks::DeliveryStatus::parse)
                .transpose()?,
            limit,
        )
        .await?
        .into_iter()
        .map(DeliveryResponse::from)
        .collect();
    Ok(Json(DeliveryList { data }))
}

/// Sends a delivery again now (whatever its status).
#[utoipa::path(post, path = "/api/v1/webhooks/deliveries/{delivery_id}/redeliver", tag = "webhooks", security(("api_key" = ["admin"])),
    params(("delivery_id" = i64, Path, description = "Delivery id")),
    responses((status = 202, body = DeliveryResponse), (status = 404, body = ErrorBody)))]
pub async fn redeliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DeliveryResponse>), ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::Core(stablepay_core::CoreError::DeliveryNotFound))?;
    let delivery = state.core.webhooks.redeliver(id).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}
