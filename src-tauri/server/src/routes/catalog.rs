//! `/api/v1/tokens`, `/api/v1/networks` and `/api/v1/chain/status`: what the shop accepts, and
//! whether its payments are being seen right now. Public: a customer screen needs them, and they
//! reveal no endpoint URLs (those may carry provider keys).

use crate::{
    dto::catalog::{
        token_views, ChainStatusResponse, NetworkResponse, NetworkWatchView, TokenResponse,
    },
    state::AppState,
};
use axum::{extract::State, routing::get, Json, Router};

/// Public routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(tokens))
        .route("/networks", get(networks))
        .route("/chain/status", get(chain_status))
}

/// Whether payments are being seen now, per network (see `stablepay_core::watching`). Cashier
/// screens and the customer display poll it: while `seeing_payments` is false nobody should be
/// asked to pay.
#[utoipa::path(get, path = "/api/v1/chain/status", tag = "catalog", responses((status = 200, body = ChainStatusResponse)))]
pub async fn chain_status(State(state): State<AppState>) -> Json<ChainStatusResponse> {
    let networks: Vec<NetworkWatchView> = state
        .core
        .watching()
        .into_iter()
        .map(NetworkWatchView::from)
        .collect();
    Json(ChainStatusResponse {
        seeing_payments: !networks.is_empty() && networks.iter().all(|n| n.seeing_payments),
        networks,
    })
}

/// Tokens payments can be made in, legacy ones last.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "catalog", responses((status = 200, body = [TokenResponse])))]
pub async fn tokens(State(state): State<AppState>) -> Json<Vec<TokenResponse>> {
    Json(token_views(state.core.catalog.tokens().await))
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
