//! Extractors whose rejections use the API's error body instead of axum's plain text.

use axum::{
    extract::{
        rejection::JsonRejection, rejection::QueryRejection, FromRequest, FromRequestParts, Request,
    },
    http::{request::Parts, StatusCode},
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `Json<T>` with API errors: 415 for a wrong content type, 400 for broken JSON, 422 for a wrong,
/// missing or unknown field, 413 for an oversized body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(map_json_rejection(rejection)),
        }
    }
}

fn map_json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::InvalidField(clean(&text)),
        _ if matches!(rejection, JsonRejection::BytesRejection(_)) => ApiError::PayloadTooLarge,
        _ => ApiError::InvalidJson(clean(&text)),
    }
}

/// axum prefixes serde's message with its own words; keep serde's part, which names the field.
fn clean(text: &str) -> String {
    text.split_once(": ")
        .map(|(_, rest)| rest)
        .unwrap_or(text)
        .to_string()
}

/// `Query<T>` with API errors (400 `invalid_query`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                Err(ApiError::InvalidQuery(clean(&rejection.body_text())))
            }
            Err(rejection) => Err(ApiError::InvalidQuery(rejection.body_text())),
        }
    }
}
