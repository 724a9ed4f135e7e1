//! `GET /api/v1/settings`: the effective configuration for the Settings screen (merchant endpoint).
//! Read-only: the configuration lives in the TOML file and the environment, is validated at start
//! and applies on restart; secrets (API keys) are counted, never shown, and node endpoints show only
//! `scheme://host[:port]` (their paths and query strings may carry provider keys).

use axum::{extract::State, routing::get, Json, Router};
use serde::Serialize;
use stablepay_core::telemetry::redact_endpoint;
use utoipa::ToSchema;

use crate::{
    auth::{Permission, Require},
    dto::catalog::{token_views, TokenResponse},
    error::ErrorBody,
    state::AppState,
};

/// Merchant route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(settings))
        .route_layer(Require(Permission::Monitor))
}

/// `[merchant]`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantSettings {
    /// Shop name.
    pub name: String,
    /// EIP-55 receive address, or null when not configured.
    pub receive_address: Option<String>,
}

/// `[payments]`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentSettings {
    /// Confirmations before paid.
    pub confirmations: u32,
    /// Also wait for the finalized block.
    pub require_finalized: bool,
    /// Default payment lifetime, seconds.
    pub expiry_seconds: u64,
    /// Unique-amount step.
    pub amount_step: String,
    /// How long an expired payment keeps its amount, seconds.
    pub late_grace_seconds: u64,
}

/// `[server]` (what is safe to show).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerSettings {
    /// Listen address.
    pub bind: String,
    /// How many API keys are configured.
    pub api_keys_configured: usize,
    /// Each configured key's name and role (never the key).
    pub keys: Vec<KeySettings>,
    /// Public URL behind a proxy.
    pub public_url: String,
    /// Allowed browser origins.
    pub cors_origins: Vec<String>,
    /// HTTPS: null when the server speaks plain HTTP.
    pub tls: Option<TlsSettings>,
    /// The public key socket messages are signed with (Ed25519, hex).
    pub push_key: String,
}

/// The certificate the server serves HTTPS with.
#[derive(Debug, Serialize, ToSchema)]
pub struct TlsSettings {
    /// SHA-256 of the certificate, `AB:CD:…`: compare it with what a tablet's browser shows.
    pub fingerprint_sha256: String,
    /// Made by this server (`server.tls_self_signed`), not the shop's own certificate.
    pub self_signed: bool,
}

/// A configured key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeySettings {
    /// Who holds it.
    pub name: String,
    /// `admin`, `cashier`, `viewer` or `display`.
    pub role: String,
}

/// `[chain]`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainSettings {
    /// Chain watching on.
    pub enabled: bool,
    /// Poll interval, ms.
    pub poll_interval_ms: u64,
}

/// One `[[networks]]` entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkSettings {
    /// Slug.
    pub id: String,
    /// Name.
    pub name: String,
    /// Chain id.
    pub chain_id: u64,
    /// RPC endpoints, `scheme://host[:port]` only.
    pub rpc_endpoints: Vec<String>,
    /// WebSocket endpoints, `scheme://host[:port]` only.
    pub ws_endpoints: Vec<String>,
    /// Explorer.
    pub explorer_url: String,
}

/// The effective configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsResponse {
    /// Merchant.
    pub merchant: MerchantSettings,
    /// Payment rules.
    pub payments: PaymentSettings,
    /// Server.
    pub server: ServerSettings,
    /// Chain watching.
    pub chain: ChainSettings,
    /// Networks.
    pub networks: Vec<NetworkSettings>,
    /// Accepted tokens.
    pub tokens: Vec<TokenResponse>,
}

/// The effective configuration (read-only).
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", security(("api_key" = ["admin", "viewer"])),
    responses((status = 200, body = SettingsResponse), (status = 401, body = ErrorBody)))]
pub async fn settings(State(state): State<AppState>) -> Json<SettingsResponse> {
    let c = &state.core.config;
    let redact = |urls: &[String]| urls.iter().map(|u| redact_endpoint(u)).collect();
    Json(SettingsResponse {
        merchant: MerchantSettings {
            name: c.merchant.name.clone(),
            receive_address: c.merchant.receive_address.map(|a| a.to_string()),
        },
        payments: PaymentSettings {
            confirmations: c.payments.confirmations,
            require_finalized: c.payments.require_finalized,
            expiry_seconds: c.payments.expiry_seconds,
            amount_step: c.payments.amount_step.to_string(),
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
    })
}
