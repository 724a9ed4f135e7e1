//! The server's one error type and its HTTP mapping. Every error body is
//! `{"error":{"code":"…","message":"…"}}` with a stable `code`; 5xx bodies say nothing about the
//! inside (the details go to the log).

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use stablepay_core::{
    chain::{verify::CheckError, ChainError},
    CoreError,
};
use utoipa::ToSchema;

use crate::language::{self, Language};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The core refused or failed.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The body is not valid JSON.
    #[error("{0}")]
    InvalidJson(String),
    /// A field has the wrong type, is missing or is unknown.
    #[error("{0}")]
    InvalidField(String),
    /// A query parameter is malformed.
    #[error("{0}")]
    InvalidQuery(String),
    /// The body is not `application/json`.
    #[error("expected a JSON body with Content-Type: application/json")]
    UnsupportedMediaType,
    /// The body is larger than `server.max_body_bytes`.
    #[error("request body is too large")]
    PayloadTooLarge,
    /// A merchant endpoint was called without a valid API key.
    #[error("this endpoint needs an API key: send Authorization: Bearer <key>")]
    Unauthorized,
    /// The key's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// A merchant endpoint of a server without keys was called through a proxy.
    #[error("this server has no API key, so it answers merchant requests only from this computer; a request through a proxy needs a key (server.api_keys)")]
    ProxiedWithoutKey,
    /// The request names a host this server does not serve (DNS rebinding).
    #[error(
        "this server does not answer for host {0:?}; add it to server.allowed_hosts if it is yours"
    )]
    MisdirectedRequest(String),
    /// A browser page of another origin tried to change something or open a socket.
    #[error("requests from {0} are not allowed to change anything here; add the origin to server.cors_origins if it is yours")]
    OriginNotAllowed(String),
    /// The client sent too many requests.
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a request will be accepted.
        retry_after_secs: u64,
    },
    /// No such route.
    #[error("no such endpoint")]
    RouteNotFound,
    /// The route exists but not with this method.
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    /// A transaction does not pay the payment; the code is the reason (`amount_mismatch`, …).
    #[error("{message}")]
    CheckFailed {
        /// Reason code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// No node of the network answers (or the network has no endpoints).
    #[error("the blockchain node is unavailable: {0}")]
    ChainUnavailable(String),
    /// The database does not answer.
    #[error("the database is unavailable")]
    Unavailable,
    /// Settings that do not validate (the message names the key, as for the file).
    #[error("{0}")]
    InvalidSettings(String),
    /// This server was started without a supervisor: its settings cannot be changed in the app.
    #[error("settings are read-only here: this server was started without a config file to write (use `stablepay-server serve --config FILE`)")]
    SettingsReadOnly,
    /// A bug or an unexpected failure.
    #[error("internal error")]
    Internal(String),
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code (e.g. `invalid_amount`); match on this, never on the message.
    pub code: String,
    /// Human-readable explanation, in the request's language (`Accept-Language`: Chinese or
    /// English, the default).
    pub message: String,
}

impl ApiError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Core(e) => e.code(),
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidField(_) => "invalid_field",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::Unauthorized | ApiError::ProxiedWithoutKey => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::MisdirectedRequest(_) => "misdirected_request",
            ApiError::OriginNotAllowed(_) => "origin_not_allowed",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::RouteNotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::CheckFailed { code, .. } => code,
            ApiError::ChainUnavailable(_) => "chain_unavailable",
            ApiError::Unavailable => "unavailable",
            ApiError::InvalidSettings(_) => "invalid_settings",
            ApiError::SettingsReadOnly => "settings_read_only",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Core(e) => match e {
                CoreError::TokenDisabled { .. } | CoreError::AmountHeld(_) => StatusCode::CONFLICT,
                CoreError::InvalidAmount(_)
                | CoreError::AmountTooLarge(_)
                | CoreError::InvalidAddress(_)
                | CoreError::InvalidField { .. }
                | CoreError::RefundTooLarge { .. }
                | CoreError::UnknownToken { .. }
                | CoreError::UnknownNetwork(_) => StatusCode::UNPROCESSABLE_ENTITY,
                CoreError::PaymentNotFound
                | CoreError::ProductNotFound
                | CoreError::TransferNotFound
                | CoreError::RefundNotFound
                | CoreError::WebhookNotFound
                | CoreError::DisplayNotFound
                | CoreError::CounterNotFound
                | CoreError::DeliveryNotFound
                | CoreError::LogoNotFound => StatusCode::NOT_FOUND,
                CoreError::UnsupportedImage => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                CoreError::ImageTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                CoreError::PairingRefused => StatusCode::FORBIDDEN,
                CoreError::RateUnavailable { .. }
                | CoreError::RateStale { .. }
                | CoreError::PrinterNotConfigured
                | CoreError::PrinterUnreachable(_) => StatusCode::CONFLICT,
                CoreError::ProductInactive(_)
                | CoreError::InvalidState { .. }
                | CoreError::RefundInvalidState { .. }
                | CoreError::AmountSlotsExhausted(_)
                | CoreError::IdempotencyKeyReused
                | CoreError::OrderReferenceTaken(_)
                | CoreError::MerchantNotConfigured => StatusCode::CONFLICT,
                CoreError::Storage { .. } | CoreError::DatabaseInUse { .. } => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                CoreError::Database(_) if e.is_retryable() || e.storage_problem().is_some() => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::InvalidJson(_) | ApiError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized | ApiError::ProxiedWithoutKey => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            ApiError::MisdirectedRequest(_) => StatusCode::MISDIRECTED_REQUEST,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::CheckFailed { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::ChainUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::InvalidSettings(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::SettingsReadOnly => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<CheckError> for ApiError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Failed(reason) => ApiError::CheckFailed {
                code: reason.code(),
                message: reason.to_string(),
            },
            CheckError::Chain(c) => c.into(),
            CheckError::Core(c) => c.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ChainError> for ApiError {
    fn from(e: ChainError) -> Self {
        ApiError::ChainUnavailable(e.to_string())
    }
}

impl ApiError {
    /// `english` (this error's message) in `language`: the Chinese sentence for the code, then the
    /// English specifics where the message has some (see [`crate::language`]).
    fn in_language(&self, language: Language, english: String) -> String {
        if language != Language::ZhCn {
            return english;
        }
        let code = self.code();
        let sentence = match self {
            ApiError::CheckFailed { .. } => language::zh_check(code),
            _ => language::zh_error(code),
        };
        match sentence {
            Some(zh) if language::has_specifics(code) && !self.status().is_server_error() => {
                format!("{zh}：{english}")
            }
            Some(zh) => zh.to_owned(),
            None => english,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, debug = ?self, "request failed");
            match (&self, status) {
                (ApiError::ChainUnavailable(_), _) => {
                    "no blockchain node answers right now; retry shortly (staff: check the network endpoints)".to_string()
                }
                (ApiError::Core(e), _) if e.storage_problem() == Some(stablepay_core::error::StorageProblem::Full) => {
                    "the disk holding the database is full: nothing was saved; free some space (staff), then retry".to_string()
                }
                (ApiError::Core(e), _) if e.storage_problem() == Some(stablepay_core::error::StorageProblem::ReadOnly) => {
                    "the database is read-only: nothing was saved; make it writable (staff), then retry".to_string()
                }
                (_, StatusCode::SERVICE_UNAVAILABLE) => {
                    "the service is busy or unavailable; retry shortly".to_string()
                }
                _ => "internal error; see the server log".to_string(),
            }
        } else {
            self.to_string()
        };
        let message = self.in_language(Language::current(), message);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message,
            },
        };
        let mut response = (status, Json(body)).into_response();
        match self {
            ApiError::RateLimited { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            ApiError::Unauthorized | ApiError::ProxiedWithoutKey => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}
