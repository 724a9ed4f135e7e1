//! `/api/v1/pricing`: the shop's currency and the rates a sale in it is converted at. Public, like
//! the token list: the till and the customer display show both amounts, and a rate is no secret.

use axum::{extract::State, routing::get, Json, Router};

use crate::{dto::pricing::PricingResponse, state::AppState};

/// Public routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/pricing", get(pricing))
}

/// The shop's currency, the rate source and each token's rate, with whether it is too old to sell
/// at.
#[utoipa::path(get, path = "/api/v1/pricing", tag = "catalog", responses((status = 200, body = PricingResponse)))]
pub async fn pricing(State(state): State<AppState>) -> Json<PricingResponse> {
    let tokens = state.core.catalog.symbols().await;
    Json(PricingResponse {
        tip_choices: state.core.config.tips.choices.clone(),
        ..state.core.payments.pricing().status(&tokens).into()
    })
}
