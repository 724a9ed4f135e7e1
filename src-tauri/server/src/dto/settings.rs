//! The Settings screen on the wire: the effective configuration (what is safe to show) and the
//! owner's changes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::catalog::TokenResponse;

/// `[merchant]`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantSettings {
    /// Shop name.
    pub name: String,
    /// EIP-55 receive address, or null when not configured.
    pub receive_address: Option<String>,
    /// The version of the shop's logo (kept in the database, not in the file; `PUT
    /// /api/v1/settings/logo`), or null when there is none. The image is `GET
    /// /api/v1/display/logo`; a changed version is a changed image.
    pub logo_version: Option<String>,
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
    /// The largest sale.
    pub max_amount: String,
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
    /// Every token the shop may accept (the accepted ones and the built-in ones left out), for the
    /// Settings screen's choice.
    pub known_tokens: Vec<String>,
    /// The alert thresholds in force.
    pub alerts: AlertThresholds,
    /// The shop's currency and its rate source.
    pub pricing: PricingSettings,
    /// The receipt's shop lines and printer.
    pub receipts: ReceiptSettings,
    /// The tip choices the customer display offers (empty: no tips).
    pub tip_choices: Vec<u32>,
    /// The epusdt protocol (`[compat.epusdt]`; never its token).
    pub epusdt: EpusdtSettings,
    /// Whether the owner can change settings here (`PATCH /settings`), and the file it writes.
    pub editable: bool,
    /// The config file settings are saved to (null when read-only).
    pub config_file: Option<String>,
    /// The saved change the server runs on: 0 for the settings it started with, then each
    /// `PATCH` answers the generation it will apply.
    pub generation: u64,
    /// The last saved change that did not start (the server stayed on the one before).
    pub reload_failure: Option<ReloadFailure>,
}

/// A saved change the server could not start with.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadFailure {
    /// Its generation.
    pub generation: u64,
    /// Why.
    pub message: String,
}

/// `PATCH /api/v1/settings`: what the owner changes; absent fields stay as they are. Validated like
/// the config file (the same messages, naming the key).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// `merchant.name`.
    pub shop_name: Option<String>,
    /// `merchant.receive_address`: EIP-55; `""` unsets it (payments are then refused).
    pub receive_address: Option<String>,
    /// `payments.confirmations`.
    pub confirmations: Option<u32>,
    /// `payments.require_finalized`.
    pub require_finalized: Option<bool>,
    /// `payments.expiry_seconds` (30–604800).
    pub expiry_seconds: Option<u64>,
    /// `payments.max_amount`, a decimal string.
    pub max_amount: Option<String>,
    /// The accepted tokens by symbol, among `known_tokens`.
    pub tokens: Option<Vec<String>>,
    /// The first network's JSON-RPC endpoints, in failover order (they may carry provider keys).
    pub rpc_urls: Option<Vec<String>>,
    /// The first network's WebSocket endpoints.
    pub ws_urls: Option<Vec<String>>,
    /// Alert thresholds (the dashboard's editor): any of `min_success_rate`, `max_error_rate`
    /// (percent), `max_api_p95_ms`, `max_push_latency_ms`, `max_blocks_behind`.
    pub alerts: Option<AlertThresholds>,
    /// The shop's currency and its rate (`[pricing]`).
    pub pricing: Option<PricingUpdate>,
    /// The receipt's shop lines and the receipt printer (`[receipts]`).
    pub receipts: Option<ReceiptsUpdate>,
    /// The tip choices the customer display offers, percent (`[tips] choices`); `[]`: no tips.
    pub tip_choices: Option<Vec<u32>>,
    /// The epusdt protocol (`[compat.epusdt]`).
    pub epusdt: Option<EpusdtUpdate>,
}

/// `[compat.epusdt]` keys to change; absent ones stay.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EpusdtUpdate {
    /// The API token the shop system signs with (at least 16 characters); `""` turns it off.
    pub token: Option<String>,
    /// Hosts the hosted checkout may send customers back to.
    pub redirect_hosts: Option<Vec<String>>,
}

/// `[compat.epusdt]` in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct EpusdtSettings {
    /// A token is set: the epusdt routes take orders.
    pub enabled: bool,
    /// Hosts `redirect_url` may point at.
    pub redirect_hosts: Vec<String>,
    /// The trade types this shop takes (`usdt.bep20`, …).
    pub trade_types: Vec<String>,
}

/// `[receipts]` keys to change; absent ones stay.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptsUpdate {
    /// `192.168.1.50` (raw TCP, port 9100), `host:port`, `/dev/usb/lp0`, or `""` for none.
    pub printer: Option<String>,
    /// Print each sale's receipt by itself when it is paid (needs a printer).
    pub auto_print: Option<bool>,
    /// Up to 4 address lines under the shop's name.
    pub address: Option<Vec<String>>,
    /// The closing line.
    pub footer: Option<String>,
}

/// `[receipts]` in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptSettings {
    /// The printer (`""`: none).
    pub printer: String,
    /// Prints by itself on paid.
    pub auto_print: bool,
    /// Address lines.
    pub address: Vec<String>,
    /// Closing line.
    pub footer: String,
}

/// `[pricing]` keys to change; absent ones stay.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PricingUpdate {
    /// ISO 4217, e.g. `CNY`.
    pub currency: Option<String>,
    /// `fixed`, `coingecko` or `coinbase`.
    pub source: Option<String>,
    /// The fixed rate: shop-currency units per token unit, e.g. `"7.10"`.
    pub rate: Option<String>,
    /// Added to the token amount of live-rate sales, percent (0–50), e.g. `"1.5"`.
    pub markup_percent: Option<String>,
}

/// `[pricing]` in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct PricingSettings {
    /// ISO 4217.
    pub currency: String,
    /// `fixed`, `coingecko` or `coinbase`.
    pub source: String,
    /// The fixed rate (null for a live source).
    pub rate: Option<String>,
    /// Percent.
    pub markup_percent: String,
    /// How often a live rate is fetched, seconds.
    pub refresh_seconds: u64,
    /// An older live rate refuses new shop-currency sales, seconds.
    pub max_age_seconds: u64,
}

/// `[alerts]` thresholds to change.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertThresholds {
    /// Raise under this success rate (percent).
    pub min_success_rate: Option<f64>,
    /// Raise over this API server-error rate (percent).
    pub max_error_rate: Option<f64>,
    /// Raise over this API 95th-percentile response time (ms).
    pub max_api_p95_ms: Option<f64>,
    /// Raise over this mean block → screen latency (ms).
    pub max_push_latency_ms: Option<f64>,
    /// Raise when the watcher is more blocks behind than this.
    pub max_blocks_behind: Option<f64>,
}

use stablepay_core::config::edit::AlertThreshold;

impl From<SettingsUpdate> for stablepay_core::config::edit::SettingsChange {
    fn from(u: SettingsUpdate) -> Self {
        Self {
            shop_name: u.shop_name,
            receive_address: u.receive_address,
            confirmations: u.confirmations,
            require_finalized: u.require_finalized,
            expiry_seconds: u.expiry_seconds,
            max_amount: u.max_amount,
            tokens: u.tokens,
            rpc_urls: u.rpc_urls,
            ws_urls: u.ws_urls,
            alerts: u.alerts.map(thresholds).unwrap_or_default(),
            pricing_currency: u.pricing.as_ref().and_then(|p| p.currency.clone()),
            pricing_source: u.pricing.as_ref().and_then(|p| p.source.clone()),
            pricing_rate: u.pricing.as_ref().and_then(|p| p.rate.clone()),
            pricing_markup_percent: u.pricing.and_then(|p| p.markup_percent),
            receipt_printer: u.receipts.as_ref().and_then(|r| r.printer.clone()),
            receipt_auto_print: u.receipts.as_ref().and_then(|r| r.auto_print),
            receipt_address: u.receipts.as_ref().and_then(|r| r.address.clone()),
            receipt_footer: u.receipts.and_then(|r| r.footer),
            tip_choices: u.tip_choices,
            epusdt_token: u.epusdt.as_ref().and_then(|e| e.token.clone()),
            epusdt_redirect_hosts: u.epusdt.and_then(|e| e.redirect_hosts),
        }
    }
}

fn thresholds(a: AlertThresholds) -> Vec<(AlertThreshold, f64)> {
    [
        (AlertThreshold::MinSuccessRate, a.min_success_rate),
        (AlertThreshold::MaxErrorRate, a.max_error_rate),
        (AlertThreshold::MaxApiP95Ms, a.max_api_p95_ms),
        (AlertThreshold::MaxPushLatencyMs, a.max_push_latency_ms),
        (AlertThreshold::MaxBlocksBehind, a.max_blocks_behind),
    ]
    .into_iter()
    .filter_map(|(t, v)| v.map(|v| (t, v)))
    .collect()
}

/// `PATCH /api/v1/settings` answered: saved, and being applied.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsSaved {
    /// The keys changed, as the file spells them.
    pub changed: Vec<String>,
    /// The file written.
    pub config_file: String,
    /// `reloading`: the server reloads in place with the new settings (well under a second; the
    /// next sale uses them).
    pub applied: String,
    /// This change's generation: applied once `GET /settings` answers it (or a `reload_failure`
    /// for it).
    pub generation: u64,
}

/// `POST /api/v1/settings/test-endpoint`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointTest {
    /// The JSON-RPC URL to try (`http://` or `https://`).
    pub url: String,
}

/// What the endpoint answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointTestResult {
    /// Usable for this shop: on the right chain, answering, serving `eth_getLogs`.
    pub usable: bool,
    /// `eth_chainId`.
    pub chain_id: Option<u64>,
    /// Its newest block.
    pub head: Option<u64>,
    /// How long it took to say so, milliseconds.
    pub latency_ms: Option<u64>,
    /// Serves `eth_getLogs` (needed to see payments).
    pub logs: bool,
    /// Serves the `finalized` block (settlement then waits for it).
    pub finalized: bool,
    /// Why not usable: `bad_url`, `unreachable`, `bad_answer`, `refused`, `wrong_chain`,
    /// `no_head` or `no_logs`.
    pub problem_code: Option<String>,
    /// The same in words (English; the screens translate `problem_code`).
    pub problem: Option<String>,
}
