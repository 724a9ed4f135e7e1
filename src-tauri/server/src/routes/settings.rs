//! `GET /api/v1/settings`: the effective configuration for the Settings screen; secrets (API keys)
//! are counted, never shown, and node endpoints show only `scheme://host[:port]` (their paths and
//! query strings may carry provider keys). `PATCH /api/v1/settings` (admin): the owner's changes,
//! written into the config file with its comments kept and applied at once (see
//! [`crate::reload`]); every change is in the audit trail.

use axum::{
    extract::State,
    routing::{get, patch, post},
    Extension, Json, Router,
};
use stablepay_core::{
    config::{
        edit::{known_tokens, SettingsChange},
        pricing::RateSource,
    },
    telemetry::redact_endpoint,
    CoreError,
};

use crate::{
    auth::{Caller, Permission, Require},
    dto::{
        catalog::token_views,
        payments::percent,
        settings::{
            AlertThresholds, ChainSettings, EndpointTest, EndpointTestResult, EpusdtSettings,
            KeySettings, MerchantSettings, NetworkSettings, PaymentSettings, PricingSettings,
            ReceiptSettings, ReloadFailure, ServerSettings, SettingsResponse, SettingsSaved,
            SettingsUpdate, TlsSettings,
        },
    },
    error::{ApiError, ErrorBody},
    extract::ApiJson,
    state::AppState,
};

/// Merchant routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings))
        .route_layer(Require(Permission::Monitor))
        .merge(
            Router::new()
                .route("/settings", patch(update))
                .route("/settings/test-endpoint", post(test_endpoint))
                .route_layer(Require(Permission::Manage)),
        )
}

/// Change settings: saved into the config file (comments kept) and applied at once — the next
/// sale uses them. 422 `invalid_settings` names the key, as for the file, and changes nothing; 409
/// `settings_read_only` on a server started without a config file to write.
#[utoipa::path(patch, path = "/api/v1/settings", tag = "settings", security(("api_key" = ["admin"])),
    request_body = SettingsUpdate,
    responses((status = 200, body = SettingsSaved), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<SettingsUpdate>,
) -> Result<Json<SettingsSaved>, ApiError> {
    let reload = state.reload.as_ref().ok_or(ApiError::SettingsReadOnly)?;
    let change = SettingsChange::from(body);
    let keys = change.keys();
    if keys.is_empty() {
        return Err(ApiError::InvalidSettings("nothing to change".into()));
    }
    let generation = reload
        .apply(&change, &state.core.config)
        .await
        .map_err(|e| match e {
            CoreError::Config(message) => ApiError::InvalidSettings(message),
            e => ApiError::Core(e),
        })?;
    state.core.audit_settings(&keys, &caller.name).await?;
    Ok(Json(SettingsSaved {
        changed: keys.iter().map(|k| k.to_string()).collect(),
        config_file: reload.file().display().to_string(),
        applied: "reloading".into(),
        generation,
    }))
}

/// Try an RPC endpoint before using it: its chain id, head block and latency, and whether it serves
/// `eth_getLogs` and the `finalized` block (admin: the server makes the request).
#[utoipa::path(post, path = "/api/v1/settings/test-endpoint", tag = "settings", security(("api_key" = ["admin"])),
    request_body = EndpointTest,
    responses((status = 200, body = EndpointTestResult), (status = 401, body = ErrorBody)))]
pub async fn test_endpoint(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EndpointTest>,
) -> Json<EndpointTestResult> {
    let chain_id = state
        .core
        .config
        .networks
        .first()
        .map_or(56, |n| n.chain_id);
    let p = stablepay_core::chain::probe::probe(body.url.trim(), chain_id).await;
    Json(EndpointTestResult {
        usable: p.problem.is_none(),
        chain_id: p.chain_id,
        head: p.head,
        latency_ms: p.latency_ms,
        logs: p.logs,
        finalized: p.finalized,
        problem_code: p.problem.as_ref().map(|(code, _)| code.code().to_string()),
        problem: p.problem.map(|(_, words)| words),
    })
}

/// The effective configuration.
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, body = SettingsResponse), (status = 401, body = ErrorBody)))]
pub async fn settings(State(state): State<AppState>) -> Result<Json<SettingsResponse>, ApiError> {
    let c = &state.core.config;
    let redact = |urls: &[String]| urls.iter().map(|u| redact_endpoint(u)).collect();
    Ok(Json(SettingsResponse {
        merchant: MerchantSettings {
            name: c.merchant.name.clone(),
            receive_address: c.merchant.receive_address.map(|a| a.to_string()),
            logo_version: state.core.logo.version().await?,
        },
        payments: PaymentSettings {
            confirmations: c.payments.confirmations,
            require_finalized: c.payments.require_finalized,
            expiry_seconds: c.payments.expiry_seconds,
            amount_step: c.payments.amount_step.to_string(),
            max_amount: c.payments.max_amount.to_string(),
            late_grace_seconds: c.payments.late_grace_seconds,
        },
        server: ServerSettings {
            bind: c.server.bind.to_string(),
            api_keys_configured: c.server.keys.len(),
            keys: c
                .server
                .keys
                .iter()
                .map(|k| KeySettings {
                    name: k.name.clone(),
                    role: k.role.to_string(),
                })
                .collect(),
            public_url: c.server.public_url.clone(),
            cors_origins: c.server.cors_origins.clone(),
            tls: state.tls.as_ref().map(|t| TlsSettings {
                fingerprint_sha256: t.fingerprint.clone(),
                self_signed: t.self_signed,
            }),
            push_key: state.signer.public_key().to_string(),
        },
        chain: ChainSettings {
            enabled: c.chain.enabled,
            poll_interval_ms: c.chain.poll_interval.as_millis() as u64,
        },
        networks: c
            .networks
            .iter()
            .map(|n| NetworkSettings {
                id: n.id.to_string(),
                name: n.name.clone(),
                chain_id: n.chain_id,
                rpc_endpoints: redact(&n.rpc_urls),
                ws_endpoints: redact(&n.ws_urls),
                explorer_url: n.explorer_url.clone(),
            })
            .collect(),
        tokens: token_views(state.core.catalog.tokens().await),
        known_tokens: known_tokens(c)
            .into_iter()
            .map(|t| t.symbol.to_string())
            .collect(),
        alerts: AlertThresholds {
            min_success_rate: Some(c.alerts.min_success_rate),
            max_error_rate: Some(c.alerts.max_error_rate),
            max_api_p95_ms: Some(c.alerts.max_api_p95_ms),
            max_push_latency_ms: Some(c.alerts.max_push_latency_ms),
            max_blocks_behind: Some(c.alerts.max_blocks_behind as f64),
        },
        pricing: PricingSettings {
            currency: c.pricing.currency.clone(),
            source: c.pricing.source.name().into(),
            rate: match &c.pricing.source {
                RateSource::Fixed(r) => Some(r.to_string()),
                _ => None,
            },
            markup_percent: percent(c.pricing.markup_bp),
            refresh_seconds: c.pricing.refresh.as_secs(),
            max_age_seconds: c.pricing.max_age.as_secs(),
        },
        receipts: ReceiptSettings {
            printer: c
                .receipts
                .printer
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            auto_print: c.receipts.auto_print,
            address: c.receipts.address.clone(),
            footer: c.receipts.footer.clone(),
        },
        tip_choices: c.tips.choices.clone(),
        epusdt: EpusdtSettings {
            enabled: c.compat.epusdt.is_some(),
            redirect_hosts: c
                .compat
                .epusdt
                .as_ref()
                .map(|e| e.redirect_hosts.clone())
                .unwrap_or_default(),
            trade_types: state
                .core
                .epusdt
                .trade_types()
                .await
                .into_iter()
                .map(|(t, _, _)| t)
                .collect(),
        },
        editable: state.reload.is_some(),
        generation: state.reload.as_ref().map_or(0, |r| r.applied()),
        reload_failure: state.reload.as_ref().and_then(|r| r.failed()).map(
            |(generation, message)| ReloadFailure {
                generation,
                message,
            },
        ),
        config_file: state
            .reload
            .as_ref()
            .map(|r| r.file().display().to_string()),
    }))
}
