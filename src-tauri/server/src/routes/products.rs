//! `/api/v1/products`: the cashier's product grid (merchant endpoints).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{get, patch, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use stablepay_core::{
    amount::DecimalAmount,
    products::{Product, ProductFields, ProductId},
    CoreError,
};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::{Permission, Require},
    dto::rfc3339,
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiQuery},
    state::AppState,
};

/// Routes: reading for those who sell and watch, changing for admins.
pub fn router() -> Router<AppState> {
    let read = Require(Permission::ReadSales);
    let manage = Require(Permission::Manage);
    Router::new()
        .route(
            "/products",
            get(list)
                .route_layer(read)
                .merge(post(create).route_layer(manage)),
        )
        .route(
            "/products/{product_id}",
            get(get_one)
                .route_layer(read)
                .merge(patch(update).delete(delete).route_layer(manage)),
        )
}

/// A product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductResponse {
    /// `prod_` + 24 hex digits.
    pub id: String,
    /// Name.
    pub name: String,
    /// Price in token units, decimal string.
    pub price: String,
    /// Longer text.
    pub description: Option<String>,
    /// Sellable.
    pub active: bool,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
}

impl From<Product> for ProductResponse {
    fn from(p: Product) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name,
            price: p.price.to_string(),
            description: p.description,
            active: p.active,
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
        }
    }
}

/// Body of create (`name` and `price` required) and update (all optional; `description: ""` clears it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    /// 1–120 characters.
    pub name: Option<String>,
    /// Decimal string, e.g. `"4.50"`.
    pub price: Option<String>,
    /// Up to 1000 characters.
    pub description: Option<String>,
    /// Sellable (default true).
    pub active: Option<bool>,
}

impl ProductRequest {
    fn parse(self) -> Result<ProductFields, ApiError> {
        Ok(ProductFields {
            name: self.name,
            price: self
                .price
                .as_deref()
                .map(DecimalAmount::parse)
                .transpose()
                .map_err(CoreError::from)?,
            description: self
                .description
                .map(|d| Some(d).filter(|d| !d.trim().is_empty())),
            active: self.active,
        })
    }
}

/// Listing options.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// Also list archived products.
    pub include_inactive: Option<bool>,
}

/// List products, active first, by name.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ProductListQuery),
    responses((status = 200, body = [ProductResponse]), (status = 401, body = ErrorBody)), security(("api_key" = ["admin", "cashier", "viewer"])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ProductListQuery>,
) -> Result<Json<Vec<ProductResponse>>, ApiError> {
    let products = state
        .core
        .products
        .list(q.include_inactive.unwrap_or(false))
        .await?;
    Ok(Json(
        products.into_iter().map(ProductResponse::from).collect(),
    ))
}

/// Create a product.
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = ProductRequest,
    responses((status = 201, body = ProductResponse), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)), security(("api_key" = ["admin"])))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ProductRequest>,
) -> Result<(StatusCode, Json<ProductResponse>), ApiError> {
    let product = state.core.products.create(body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(product.into())))
}

/// Get a product.
#[utoipa::path(get, path = "/api/v1/products/{product_id}", tag = "products", params(("product_id" = String, Path, description = "Product id")),
    responses((status = 200, body = ProductResponse), (status = 404, body = ErrorBody)), security(("api_key" = ["admin", "cashier", "viewer"])))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
) -> Result<Json<ProductResponse>, ApiError> {
    Ok(Json(
        state
            .core
            .products
            .get(&ProductId::parse(&product_id)?)
            .await?
            .into(),
    ))
}

/// Change a product.
#[utoipa::path(patch, path = "/api/v1/products/{product_id}", tag = "products", params(("product_id" = String, Path, description = "Product id")),
    request_body = ProductRequest,
    responses((status = 200, body = ProductResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("api_key" = ["admin"])))]
pub async fn update(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
    ApiJson(body): ApiJson<ProductRequest>,
) -> Result<Json<ProductResponse>, ApiError> {
    let id = ProductId::parse(&product_id)?;
    Ok(Json(
        state.core.products.update(&id, body.parse()?).await?.into(),
    ))
}

/// Delete a product (payments made from it keep their amount and description).
#[utoipa::path(delete, path = "/api/v1/products/{product_id}", tag = "products", params(("product_id" = String, Path, description = "Product id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)), security(("api_key" = ["admin"])))]
pub async fn delete(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .core
        .products
        .delete(&ProductId::parse(&product_id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
