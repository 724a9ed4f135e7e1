//! `/api/v1/reports/close`: the day's (or a shift's) close — sales by state, money in per token and
//! network in token units and in the shop's currency — as JSON or CSV (staff who may read sales).

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use chrono::{DateTime, Duration, Utc};

use crate::{
    auth::{Permission, Require},
    dto::reports::{CloseQuery, CloseResponse},
    error::{ApiError, ErrorBody},
    extract::ApiQuery,
    state::AppState,
};

/// Merchant routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports/close", get(close))
        .route_layer(Require(Permission::ReadSales))
}

fn time(field: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::InvalidQuery(format!(
                "{field}: {s:?} is not an RFC 3339 time like 2026-12-01T00:00:00+08:00"
            ))
        })
}

/// The close of `[from, to)`: sales created in it by state, and the takings of the payments paid
/// in it, per token and network, in token units and in the shop's currency.
#[utoipa::path(get, path = "/api/v1/reports/close", tag = "stats", security(("api_key" = ["admin", "cashier", "viewer"])), params(CloseQuery),
    responses((status = 200, body = CloseResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CloseQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = (time("from", &q.from)?, time("to", &q.to)?);
    if to <= from || to - from > Duration::days(31) {
        return Err(ApiError::InvalidQuery(
            "to: must be after from, by at most 31 days".into(),
        ));
    }
    let currency = state.core.payments.pricing().currency().to_owned();
    let report = CloseResponse::from(state.core.reports.close(from, to, &currency).await?);
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("csv") => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"close.csv\"",
                ),
            ],
            report.to_csv(),
        )
            .into_response()),
        Some(other) => Err(ApiError::InvalidQuery(format!(
            "format: {other:?} is not json or csv"
        ))),
    }
}
