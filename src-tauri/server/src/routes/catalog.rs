//! `/api/v1/tokens` and `/api/v1/networks`: what the shop accepts. Public: a customer screen needs
//! them, and they reveal no endpoint URLs (those may carry provider keys).

use axum::{extract::State, routing::get, Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Public routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(tokens))
        .route("/networks", get(networks))
}

/// An accepted token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Ticker, e.g. `USDT`.
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// Network slug.
    pub network: String,
    /// ERC-20 contract (EIP-55).
    pub contract_address: String,
    /// ERC-20 decimals.
    pub decimals: u8,
    /// Still accepted but no longer recommended (e.g. BUSD).
    pub legacy: bool,
    /// Why no payment can be made in it now (its contract on chain disagrees with the
    /// configuration), or null.
    pub disabled: Option<String>,
}

/// An accepted network.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkResponse {
    /// Slug used in the API.
    pub id: String,
    /// Display name.
    pub name: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// Block explorer base URL, or empty.
    pub explorer_url: String,
}

/// Tokens payments can be made in, legacy ones last.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "catalog", responses((status = 200, body = [TokenResponse])))]
pub async fn tokens(State(state): State<AppState>) -> Json<Vec<TokenResponse>> {
    Json(token_views(state.core.catalog.tokens().await))
}

/// The API view of catalog tokens.
pub fn token_views(tokens: Vec<stablepay_core::catalog::Token>) -> Vec<TokenResponse> {
    tokens
        .into_iter()
        .map(|t| TokenResponse {
            symbol: t.symbol.to_string(),
            name: t.name,
            network: t.network.to_string(),
            contract_address: t.contract_address.to_string(),
            decimals: t.decimals,
            legacy: t.legacy,
            disabled: t.disabled,
        })
        .collect()
}

/// Networks payments can be made on.
#[utoipa::path(get, path = "/api/v1/networks", tag = "catalog", responses((status = 200, body = [NetworkResponse])))]
pub async fn networks(State(state): State<AppState>) -> Json<Vec<NetworkResponse>> {
    let networks = state.core.catalog.networks().await;
    Json(
        networks
            .into_iter()
            .map(|n| NetworkResponse {
                id: n.id.to_string(),
                name: n.name,
                chain_id: n.chain_id,
                explorer_url: n.explorer_url,
            })
            .collect(),
    )
}
