//! Configuration: a TOML file (every key has a default), then `STABLEPAY_<SECTION>__<KEY>`
//! environment overrides, then validation into parsed types. Every error names the key.
//!
//! `[[networks]]` and `[[tokens]]` in the file replace the built-in BSC lists; the array sections
//! (`networks`, `tokens`, `webhooks`) cannot be overridden from the environment.

use std::{
    collections::HashSet,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use crate::{
    access::{ApiKey, KeyConfig, Role},
    address::Address,
    amount::DecimalAmount,
    catalog::{NetworkId, TokenSymbol},
    error::CoreError,
};

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "STABLEPAY_";

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[server]`
    pub server: ServerConfig,
    /// `[database]`
    pub database: DatabaseConfig,
    /// `[merchant]`
    pub merchant: MerchantConfig,
    /// `[payments]`
    pub payments: PaymentsConfig,
    /// `[chain]`
    pub chain: ChainConfig,
    /// `[[networks]]`
    pub networks: Vec<NetworkConfig>,
    /// `[[tokens]]`
    pub tokens: Vec<TokenConfig>,
    /// `[[webhooks]]`
    pub webhooks: Vec<WebhookConfig>,
    /// `[webhook_targets]`: private addresses webhooks added through the API may reach.
    pub webhook_targets: crate::webhooks::target::TargetPolicy,
}

/// `[server]`: the embedded HTTP server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Listen address; off loopback it needs an API key.
    pub bind: SocketAddr,
    /// Bearer keys for merchant endpoints, each with a role (`api_keys` entries are admin keys);
    /// none = open to this computer only (loopback, no proxy).
    pub keys: Vec<KeyConfig>,
    /// A key made by the desktop app for its own windows on each launch (admin; never in a file).
    pub session_token: Option<ApiKey>,
    /// Public base URL when behind a proxy; empty = derived from the request.
    pub public_url: String,
    /// Host names the server answers besides loopback names, its bind address and the host of
    /// `public_url` (a request for any other host is refused: DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// Peers whose `Forwarded` / `X-Forwarded-For` / `X-Real-IP` name the real client (reverse
    /// proxies); everyone else's are ignored.
    pub trusted_proxies: Vec<IpRange>,
    /// Origins allowed by CORS; empty = same-origin only.
    pub cors_origins: Vec<String>,
    /// Sustained requests per second per client IP; 0 = unlimited.
    pub rate_limit_per_second: u32,
    /// Burst size per client IP.
    pub rate_limit_burst: u32,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Open WebSockets allowed from one client IP.
    pub ws_max_per_ip: usize,
    /// Open WebSockets allowed in total.
    pub ws_max_total: usize,
    /// Open connections allowed at once.
    pub max_connections: usize,
    /// Time a client has to send its request headers.
    pub header_read_timeout: std::time::Duration,
    /// Time a request may take to be answered (WebSockets, once upgraded, are not bound by it).
    pub request_timeout: std::time::Duration,
    /// How often sockets ping their clients; a client silent for three of these is dropped.
    pub socket_heartbeat: std::time::Duration,
    /// Folder of a built UI to serve at `/` instead of the one the server carries (`ui/dist` at
    /// build time).
    pub ui_dir: Option<PathBuf>,
    /// HTTPS and WSS on the bind address (`tls_cert` + `tls_key`, or `tls_self_signed`).
    pub tls: Tls,
}

/// Whether and how the server speaks TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    /// Nothing configured: plain HTTP. The desktop app turns this into [`Tls::SelfSigned`] when it
    /// serves the LAN.
    Unset,
    /// `tls_self_signed = false` and no certificate: plain HTTP, deliberately.
    Off,
    /// The shop's own certificate chain and key (PEM files).
    Files {
        /// `server.tls_cert`: the certificate chain, leaf first.
        cert: PathBuf,
        /// `server.tls_key`: its private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// `tls_self_signed = true`: a certificate made once and kept in the data folder.
    SelfSigned,
}

impl Tls {
    /// Whether the server serves HTTPS.
    pub fn enabled(&self) -> bool {
        matches!(self, Tls::Files { .. } | Tls::SelfSigned)
    }
}

/// An address or a CIDR block, e.g. `10.0.0.0/8` or `::1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: std::net::IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses `a.b.c.d`, `a.b.c.d/n` or the IPv6 forms.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (ip, prefix) = s.trim().split_once('/').unwrap_or((s.trim(), ""));
        let network: std::net::IpAddr = ip
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?} has a bad prefix length"))?
        };
        Ok(Self { network, prefix })
    }

    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl ServerConfig {
    /// A non-loopback bind with no API key would expose merchant endpoints to the network.
    pub fn check_exposure(&self) -> Result<(), CoreError> {
        if !self.bind.ip().is_loopback() && self.keys.is_empty() && self.session_token.is_none() {
            return Err(CoreError::Config(format!(
                "server.bind: {} is reachable from the network but no API key is configured; \
                 add one (server.api_keys or [[server.keys]]; STABLEPAY_SERVER__API_KEYS) or bind 127.0.0.1",
                self.bind
            )));
        }
        Ok(())
    }
}

/// `[database]`
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// SQLite file; relative paths are relative to the working directory.
    pub path: PathBuf,
}

impl DatabaseConfig {
    /// The folder holding the database, where the server also keeps its own files (keys,
    /// certificates).
    pub fn data_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// `[merchant]`
#[derive(Debug, Clone)]
pub struct MerchantConfig {
    /// Shop name shown on the customer display.
    pub name: String,
    /// The only address payments go to; `None` until configured (no payment can be created).
    pub receive_address: Option<Address>,
}

/// `[payments]`
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// Blocks on top of the crediting block before `paid`.
    pub confirmations: u32,
    /// Also wait until the block is at or below the node's `finalized` block, when it serves one.
    pub require_finalized: bool,
    /// Default payment lifetime.
    pub expiry_seconds: u64,
    /// Unique-amount offset step.
    pub amount_step: DecimalAmount,
    /// How many offsets k = 0..max are tried before refusing.
    pub max_offset_steps: u32,
    /// How long an expired, unpaid payment keeps holding its exact amount.
    pub late_grace_seconds: u64,
    /// How long a cancelled payment keeps holding its exact amount.
    pub cancelled_hold_seconds: u64,
    /// How long a paid payment keeps holding its exact amount.
    pub paid_hold_seconds: u64,
    /// Independent endpoints that must report a credit before `paid` (the one that found it
    /// included); `None`: 2 where the network has two or more endpoints, else 1.
    pub quorum: Option<u32>,
    /// How long settlement waits for a second endpoint to answer before it settles on one source
    /// (flagged, with an alert).
    pub quorum_wait: std::time::Duration,
}

impl PaymentsConfig {
    /// The quorum for a network with `endpoints` RPC endpoints.
    pub fn quorum_for(&self, endpoints: usize) -> u32 {
        let most = endpoints.max(1) as u32;
        self.quorum
            .unwrap_or(if endpoints >= 2 { 2 } else { 1 })
            .clamp(1, most)
    }
}

/// `[chain]`: how the watcher reads the chain.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// Watch the chain at all (off: API only, e.g. for tests or a read-only back office).
    pub enabled: bool,
    /// A pass runs at least this often, even with no WebSocket announcement.
    pub poll_interval: std::time::Duration,
    /// Largest `eth_getLogs` block range (halved automatically when a node refuses it).
    pub max_log_range: u64,
    /// On first start (no cursor yet), how many blocks before the head to scan.
    pub initial_lookback_blocks: u64,
}

/// One `[[networks]]` entry.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Slug used in the API.
    pub id: NetworkId,
    /// Display name.
    pub name: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// JSON-RPC endpoints, in failover order.
    pub rpc_urls: Vec<String>,
    /// WebSocket endpoints.
    pub ws_urls: Vec<String>,
    /// Block explorer base URL, for links.
    pub explorer_url: String,
}

/// One `[[tokens]]` entry.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// Ticker.
    pub symbol: TokenSymbol,
    /// Display name.
    pub name: String,
    /// Network slug.
    pub network: NetworkId,
    /// ERC-20 contract.
    pub contract_address: Address,
    /// ERC-20 decimals.
    pub decimals: u8,
    /// Still accepted but shown as legacy.
    pub legacy: bool,
}

/// One `[[webhooks]]` entry.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Receiver URL.
    pub url: String,
    /// HMAC secret.
    pub secret: String,
    /// Subscribed events.
    pub events: Vec<crate::events::EventType>,
}

impl Default for Config {
    fn default() -> Self {
        Self::from_toml_str("", std::iter::empty()).expect("built-in defaults are valid")
    }
}

impl Config {
    /// Reads `path` (or only defaults when `None`) and applies `env` overrides.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, CoreError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|e| {
                CoreError::Config(format!("cannot read config file {}: {e}", p.display()))
            })?,
            None => String::new(),
        };
        Self::from_toml_str(&text, env).map_err(|e| match (e, path) {
            (CoreError::Config(m), Some(p)) => CoreError::Config(format!("{}: {m}", p.display())),
            (e, _) => e,
        })
    }

    /// Parses TOML text and applies `env` overrides.
    pub fn from_toml_str(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, CoreError> {
        let mut raw: RawConfig = toml::from_str(text)
            .map_err(|e| CoreError::Config(e.to_string().trim().to_string()))?;
        for (name, value) in env {
            raw.apply_env(&name, &value)?;
        }
        raw.validate()
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawConfig {
    server: RawServer,
    database: RawDatabase,
    merchant: RawMerchant,
    payments: RawPayments,
    chain: RawChain,
    networks: Option<Vec<RawNetwork>>,
    tokens: Option<Vec<RawToken>>,
    webhooks: Vec<RawWebhook>,
    webhook_targets: RawWebhookTargets,
}

/// `[webhook_targets]` (a table of its own: TOML cannot have a `[webhooks]` table beside the
/// `[[webhooks]]` list).
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawWebhookTargets {
    allowed_private: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawServer {
    bind: String,
    api_keys: Vec<String>,
    keys: Vec<RawKey>,
    public_url: String,
    allowed_hosts: Vec<String>,
    trusted_proxies: Vec<String>,
    cors_origins: Vec<String>,
    rate_limit_per_second: u32,
    rate_limit_burst: u32,
    max_body_bytes: usize,
    ws_max_per_ip: usize,
    ws_max_total: usize,
    max_connections: usize,
    header_read_timeout_ms: u64,
    request_timeout_ms: u64,
    socket_heartbeat_ms: u64,
    ui_dir: String,
    tls_cert: String,
    tls_key: String,
    tls_self_signed: Option<bool>,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            api_keys: vec![],
            keys: vec![],
            public_url: String::new(),
            allowed_hosts: vec![],
            trusted_proxies: vec![],
            cors_origins: vec![],
            rate_limit_per_second: 50,
            rate_limit_burst: 200,
            max_body_bytes: 64 * 1024,
            ws_max_per_ip: 256,
            ws_max_total: 20_000,
            max_connections: 25_000,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            socket_heartbeat_ms: 30_000,
            ui_dir: String::new(),
            tls_cert: String::new(),
            tls_key: String::new(),
            tls_self_signed: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    key: String,
    role: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawDatabase {
    path: String,
}

impl Default for RawDatabase {
    fn default() -> Self {
        Self {
            path: "stablepay.db".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawMerchant {
    name: String,
    receive_address: String,
}

impl Default for RawMerchant {
    fn default() -> Self {
        Self {
            name: "My Shop".into(),
            receive_address: String::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawPayments {
    confirmations: u32,
    require_finalized: bool,
    expiry_seconds: u64,
    amount_step: String,
    max_offset_steps: u32,
    late_grace_seconds: u64,
    cancelled_hold_seconds: u64,
    paid_hold_seconds: u64,
    quorum: u32,
    quorum_wait_seconds: u64,
}

impl Default for RawPayments {
    fn default() -> Self {
        Self {
            confirmations: 3,
            require_finalized: true,
            expiry_seconds: 900,
            amount_step: "0.01".into(),
            max_offset_steps: 100,
            late_grace_seconds: 24 * 3600,
            cancelled_hold_seconds: 3600,
            paid_hold_seconds: 900,
            quorum: 0,
            quorum_wait_seconds: 30,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawChain {
    enabled: bool,
    poll_interval_ms: u64,
    max_log_range: u64,
    initial_lookback_blocks: u64,
}

impl Default for RawChain {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval_ms: 2000,
            max_log_range: 2000,
            initial_lookback_blocks: 100,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    id: String,
    name: String,
    chain_id: u64,
    #[serde(default)]
    rpc_urls: Vec<String>,
    #[serde(default)]
    ws_urls: Vec<String>,
    #[serde(default)]
    explorer_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    symbol: String,
    #[serde(default)]
    name: String,
    network: String,
    contract_address: String,
    decimals: u8,
    #[serde(default)]
    legacy: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    secret: String,
    #[serde(default)]
    events: Vec<String>,
}

fn env_parse<T: std::str::FromStr>(name: &str, value: &str, what: &str) -> Result<T, CoreError> {
    value
        .trim()
        .parse()
        .map_err(|_| CoreError::Config(format!("{name}: expected {what}, got {value:?}")))
}

fn env_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl RawConfig {
    fn apply_env(&mut self, name: &str, value: &str) -> Result<(), CoreError> {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            return Ok(());
        };
        let Some((section, key)) = rest.split_once("__") else {
            return Ok(());
        };
        let (s, p) = (&mut self.server, &mut self.payments);
        match (
            section.to_ascii_lowercase().as_str(),
            key.to_ascii_lowercase().as_str(),
        ) {
            ("server", "bind") => s.bind = value.to_string(),
            ("server", "api_keys") => s.api_keys = env_list(value),
            ("server", "public_url") => s.public_url = value.to_string(),
            ("server", "allowed_hosts") => s.allowed_hosts = env_list(value),
            ("server", "trusted_proxies") => s.trusted_proxies = env_list(value),
            ("server", "cors_origins") => s.cors_origins = env_list(value),
            ("server", "rate_limit_per_second") => {
                s.rate_limit_per_second = env_parse(name, value, "a whole number")?
            }
            ("server", "rate_limit_burst") => {
                s.rate_limit_burst = env_parse(name, value, "a whole number")?
            }
            ("server", "max_body_bytes") => {
                s.max_body_bytes = env_parse(name, value, "a whole number of bytes")?
            }
            ("server", "ws_max_per_ip") => {
                s.ws_max_per_ip = env_parse(name, value, "a whole number")?
            }
            ("server", "ws_max_total") => {
                s.ws_max_total = env_parse(name, value, "a whole number")?
            }
            ("server", "ui_dir") => s.ui_dir = value.to_string(),
            ("server", "tls_cert") => s.tls_cert = value.to_string(),
            ("server", "tls_key") => s.tls_key = value.to_string(),
            ("server", "tls_self_signed") => {
                s.tls_self_signed = Some(env_parse(name, value, "true or false")?)
            }
            ("server", "max_connections") => {
                s.max_connections = env_parse(name, value, "a whole number")?
            }
            ("server", "header_read_timeout_ms") => {
                s.header_read_timeout_ms = env_parse(name, value, "a whole number of ms")?
            }
            ("server", "request_timeout_ms") => {
                s.request_timeout_ms = env_parse(name, value, "a whole number of ms")?
            }
            ("server", "socket_heartbeat_ms") => {
                s.socket_heartbeat_ms = env_parse(name, value, "a whole number of ms")?
            }
            ("database", "path") => self.database.path = value.to_string(),
            ("merchant", "name") => self.merchant.name = value.to_string(),
            ("merchant", "receive_address") => self.merchant.receive_address = value.to_string(),
            ("payments", "confirmations") => {
                p.confirmations = env_parse(name, value, "a whole number")?
            }
            ("payments", "require_finalized") => {
                p.require_finalized = env_parse(name, value, "true or false")?
            }
            ("payments", "expiry_seconds") => {
                p.expiry_seconds = env_parse(name, value, "a whole number of seconds")?
            }
            ("payments", "amount_step") => p.amount_step = value.to_string(),
            ("payments", "max_offset_steps") => {
                p.max_offset_steps = env_parse(name, value, "a whole number")?
            }
            ("payments", "late_grace_seconds") => {
                p.late_grace_seconds = env_parse(name, value, "a whole number of seconds")?
            }
            ("payments", "cancelled_hold_seconds") => {
                p.cancelled_hold_seconds = env_parse(name, value, "a whole number of seconds")?
            }
            ("payments", "paid_hold_seconds") => {
                p.paid_hold_seconds = env_parse(name, value, "a whole number of seconds")?
            }
            ("payments", "quorum") => p.quorum = env_parse(name, value, "a whole number")?,
            ("payments", "quorum_wait_seconds") => {
                p.quorum_wait_seconds = env_parse(name, value, "a whole number of seconds")?
            }
            ("chain", "enabled") => self.chain.enabled = env_parse(name, value, "true or false")?,
            ("chain", "poll_interval_ms") => {
                self.chain.poll_interval_ms = env_parse(name, value, "a whole number of ms")?
            }
            ("chain", "max_log_range") => {
                self.chain.max_log_range = env_parse(name, value, "a whole number of blocks")?
            }
            ("chain", "initial_lookback_blocks") => {
                self.chain.initial_lookback_blocks =
                    env_parse(name, value, "a whole number of blocks")?
            }
            _ => {
                return Err(CoreError::Config(format!(
                    "{name}: unknown setting (see the README's configuration reference)"
                )))
            }
        }
        Ok(())
    }

    fn validate(self) -> Result<Config, CoreError> {
        let bad = |key: &str, reason: String| CoreError::Config(format!("{key}: {reason}"));

        let s = self.server;
        let bind: SocketAddr = s.bind.parse().map_err(|_| {
            bad(
                "server.bind",
                format!("{:?} is not an address like 127.0.0.1:8080", s.bind),
            )
        })?;
        if s.max_connections < 16 {
            return Err(bad("server.max_connections", "must be at least 16".into()));
        }
        for (key, ms) in [
            ("server.header_read_timeout_ms", s.header_read_timeout_ms),
            ("server.request_timeout_ms", s.request_timeout_ms),
            ("server.socket_heartbeat_ms", s.socket_heartbeat_ms),
        ] {
            if !(100..=600_000).contains(&ms) {
                return Err(bad(key, "must be between 100 and 600000".into()));
            }
        }
        let mut keys = Vec::new();
        for (i, key) in s.api_keys.iter().enumerate() {
            let key = ApiKey::parse(key).map_err(|e| bad(&format!("server.api_keys[{i}]"), e))?;
            keys.push(KeyConfig {
                key,
                role: Role::Admin,
                name: format!("api_keys[{i}]"),
            });
        }
        for (i, k) in s.keys.iter().enumerate() {
            let at = |f: &str| format!("server.keys[{i}].{f}");
            let key = ApiKey::parse(&k.key).map_err(|e| bad(&at("key"), e))?;
            let role = Role::parse(&k.role).map_err(|e| bad(&at("role"), e.to_string()))?;
            let name = k.name.trim();
            if name.chars().count() > 80 || name.chars().any(char::is_control) {
                return Err(bad(&at("name"), "at most 80 printable characters".into()));
            }
            keys.push(KeyConfig {
                key,
                role,
                name: if name.is_empty() {
                    format!("keys[{i}] ({role})")
                } else {
                    name.to_string()
                },
            });
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|other| other.key == k.key) {
                return Err(bad(
                    "server.keys",
                    format!("the key of {} is given twice", k.name),
                ));
            }
        }
        let mut allowed_hosts = Vec::new();
        for (i, h) in s.allowed_hosts.iter().enumerate() {
            let h = h.trim().to_ascii_lowercase();
            let ok = !h.is_empty()
                && h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
            if !ok {
                return Err(bad(
                    &format!("server.allowed_hosts[{i}]"),
                    format!("{h:?} is not a host name"),
                ));
            }
            allowed_hosts.push(h);
        }
        let trusted_proxies = s
            .trusted_proxies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                IpRange::parse(p).map_err(|e| bad(&format!("server.trusted_proxies[{i}]"), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !s.public_url.is_empty() && !is_url(&s.public_url, &["http://", "https://"]) {
            return Err(bad(
                "server.public_url",
                format!("{:?} is not an http(s) URL", s.public_url),
            ));
        }
        for (i, origin) in s.cors_origins.iter().enumerate() {
            if !is_url(origin, &["http://", "https://"]) {
                return Err(bad(
                    &format!("server.cors_origins[{i}]"),
                    format!("{origin:?} is not an origin like https://shop.example"),
                ));
            }
        }
        if !(1024..=16 * 1024 * 1024).contains(&s.max_body_bytes) {
            return Err(bad(
                "server.max_body_bytes",
                "must be between 1024 and 16777216".into(),
            ));
        }
        if s.ws_max_per_ip == 0 || s.ws_max_total == 0 {
            return Err(bad(
                "server.ws_max_per_ip",
                "WebSocket limits must be at least 1".into(),
            ));
        }
        let tls = match (s.tls_cert.trim(), s.tls_key.trim(), s.tls_self_signed) {
            ("", "", None) => Tls::Unset,
            ("", "", Some(false)) => Tls::Off,
            ("", "", Some(true)) => Tls::SelfSigned,
            (cert, key, self_signed) if !cert.is_empty() && !key.is_empty() => {
                if self_signed == Some(true) {
                    return Err(bad(
                        "server.tls_self_signed",
                        "the shop's certificate (tls_cert, tls_key) is set: choose one".into(),
                    ));
                }
                Tls::Files {
                    cert: PathBuf::from(cert),
                    key: PathBuf::from(key),
                }
            }
            ("", _, _) => {
                return Err(bad(
                    "server.tls_cert",
                    "tls_key is set without its certificate (a PEM file)".into(),
                ))
            }
            _ => {
                return Err(bad(
                    "server.tls_key",
                    "tls_cert is set without its private key (a PEM file)".into(),
                ))
            }
        };
        let server = ServerConfig {
            bind,
            keys,
            session_token: None,
            allowed_hosts,
            trusted_proxies,
            public_url: s.public_url.trim_end_matches('/').to_string(),
            cors_origins: s.cors_origins,
            rate_limit_per_second: s.rate_limit_per_second,
            rate_limit_burst: s.rate_limit_burst.max(1),
            max_body_bytes: s.max_body_bytes,
            ws_max_per_ip: s.ws_max_per_ip,
            ws_max_total: s.ws_max_total,
            max_connections: s.max_connections,
            header_read_timeout: std::time::Duration::from_millis(s.header_read_timeout_ms),
            request_timeout: std::time::Duration::from_millis(s.request_timeout_ms),
            socket_heartbeat: std::time::Duration::from_millis(s.socket_heartbeat_ms),
            ui_dir: Some(PathBuf::from(&s.ui_dir)).filter(|p| !p.as_os_str().is_empty()),
            tls,
        };

        if self.database.path.trim().is_empty() {
            return Err(bad("database.path", "must not be empty".into()));
        }
        let database = DatabaseConfig {
            path: PathBuf::from(self.database.path),
        };

        let m = self.merchant;
        let name = m.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(bad("merchant.name", "must be 1 to 80 characters".into()));
        }
        let receive_address = match m.receive_address.trim() {
            "" => None,
            a => Some(
                Address::parse(a).map_err(|e| bad("merchant.receive_address", e.to_string()))?,
            ),
        };
        let merchant = MerchantConfig {
            name,
            receive_address,
        };

        let p = self.payments;
        if p.confirmations > 1000 {
            return Err(bad("payments.confirmations", "must be at most 1000".into()));
        }
        if !(30..=7 * 24 * 3600).contains(&p.expiry_seconds) {
            return Err(bad(
                "payments.expiry_seconds",
                "must be between 30 and 604800 (7 days)".into(),
            ));
        }
        let amount_step = DecimalAmount::parse(&p.amount_step)
            .map_err(|e| bad("payments.amount_step", e.to_string()))?;
        if !(1..=100_000).contains(&p.max_offset_steps) {
            return Err(bad(
                "payments.max_offset_steps",
                "must be between 1 and 100000".into(),
            ));
        }
        if p.late_grace_seconds > 30 * 24 * 3600 {
            return Err(bad(
                "payments.late_grace_seconds",
                "must be at most 2592000 (30 days)".into(),
            ));
        }
        for (key, value) in [
            ("payments.cancelled_hold_seconds", p.cancelled_hold_seconds),
            ("payments.paid_hold_seconds", p.paid_hold_seconds),
        ] {
            if value > 30 * 24 * 3600 {
                return Err(bad(key, "must be at most 2592000 (30 days)".into()));
            }
        }
        if p.quorum > 10 {
            return Err(bad(
                "payments.quorum",
                "must be between 1 and 10 (0 or absent: 2 where a network has two or more rpc_urls)"
                    .into(),
            ));
        }
        if p.quorum_wait_seconds > 3600 {
            return Err(bad(
                "payments.quorum_wait_seconds",
                "must be at most 3600".into(),
            ));
        }
        let payments = PaymentsConfig {
            confirmations: p.confirmations,
            require_finalized: p.require_finalized,
            expiry_seconds: p.expiry_seconds,
            amount_step,
            max_offset_steps: p.max_offset_steps,
            late_grace_seconds: p.late_grace_seconds,
            cancelled_hold_seconds: p.cancelled_hold_seconds,
            paid_hold_seconds: p.paid_hold_seconds,
            quorum: (p.quorum > 0).then_some(p.quorum),
            quorum_wait: std::time::Duration::from_secs(p.quorum_wait_seconds),
        };

        let c = self.chain;
        if !(100..=600_000).contains(&c.poll_interval_ms) {
            return Err(bad(
                "chain.poll_interval_ms",
                "must be between 100 and 600000".into(),
            ));
        }
        if !(1..=100_000).contains(&c.max_log_range) {
            return Err(bad(
                "chain.max_log_range",
                "must be between 1 and 100000".into(),
            ));
        }
        if c.initial_lookback_blocks > 1_000_000 {
            return Err(bad(
                "chain.initial_lookback_blocks",
                "must be at most 1000000".into(),
            ));
        }
        let chain = ChainConfig {
            enabled: c.enabled,
            poll_interval: std::time::Duration::from_millis(c.poll_interval_ms),
            max_log_range: c.max_log_range,
            initial_lookback_blocks: c.initial_lookback_blocks,
        };

        let raw_networks = self.networks.unwrap_or_else(default_networks);
        if raw_networks.is_empty() {
            return Err(bad("networks", "at least one network is needed".into()));
        }
        let mut networks = Vec::new();
        let mut seen = HashSet::new();
        for (i, n) in raw_networks.into_iter().enumerate() {
            let key = |k: &str| format!("networks[{i}].{k}");
            let id = NetworkId::parse(&n.id).map_err(|e| bad(&key("id"), e.to_string()))?;
            if !seen.insert(id.clone()) {
                return Err(bad(&key("id"), format!("{id} appears twice")));
            }
            if n.chain_id == 0 {
                return Err(bad(&key("chain_id"), "must be positive".into()));
            }
            for (j, u) in n.rpc_urls.iter().enumerate() {
                if !is_url(u, &["http://", "https://"]) {
                    return Err(bad(
                        &key(&format!("rpc_urls[{j}]")),
                        format!(
                            "{} is not an http(s) URL",
                            crate::telemetry::redact_endpoint(u)
                        ),
                    ));
                }
            }
            for (j, u) in n.ws_urls.iter().enumerate() {
                if !is_url(u, &["ws://", "wss://"]) {
                    return Err(bad(
                        &key(&format!("ws_urls[{j}]")),
                        format!(
                            "{} is not a ws(s) URL",
                            crate::telemetry::redact_endpoint(u)
                        ),
                    ));
                }
            }
            if !n.explorer_url.is_empty() && !is_url(&n.explorer_url, &["http://", "https://"]) {
                return Err(bad(
                    &key("explorer_url"),
                    format!("{:?} is not an http(s) URL", n.explorer_url),
                ));
            }
            let name = if n.name.trim().is_empty() {
                id.to_string()
            } else {
                n.name.trim().to_string()
            };
            networks.push(NetworkConfig {
                id,
                name,
                chain_id: n.chain_id,
                rpc_urls: n.rpc_urls,
                ws_urls: n.ws_urls,
                explorer_url: n.explorer_url.trim_end_matches('/').to_string(),
            });
        }

        let raw_tokens = self.tokens.unwrap_or_else(default_tokens);
        let mut tokens = Vec::new();
        let mut seen = HashSet::new();
        for (i, t) in raw_tokens.into_iter().enumerate() {
            let key = |k: &str| format!("tokens[{i}].{k}");
            let symbol =
                TokenSymbol::parse(&t.symbol).map_err(|e| bad(&key("symbol"), e.to_string()))?;
            let network =
                NetworkId::parse(&t.network).map_err(|e| bad(&key("network"), e.to_string()))?;
            if !networks.iter().any(|n| n.id == network) {
                return Err(bad(
                    &key("network"),
                    format!("no [[networks]] entry has id {network:?}"),
                ));
            }
            if !seen.insert((network.clone(), symbol.clone())) {
                return Err(bad(
                    &key("symbol"),
                    format!("{symbol} on {network} appears twice"),
                ));
            }
            let contract_address = Address::parse(&t.contract_address)
                .map_err(|e| bad(&key("contract_address"), e.to_string()))?;
            if t.decimals > 36 {
                return Err(bad(&key("decimals"), "must be at most 36".into()));
            }
            if payments.amount_step.to_token(t.decimals).is_err() {
                return Err(bad(
                    "payments.amount_step",
                    format!(
                        "{} has more decimals than {symbol} ({})",
                        payments.amount_step, t.decimals
                    ),
                ));
            }
            let name = if t.name.trim().is_empty() {
                symbol.to_string()
            } else {
                t.name.trim().to_string()
            };
            tokens.push(TokenConfig {
                symbol,
                name,
                network,
                contract_address,
                decimals: t.decimals,
                legacy: t.legacy,
            });
        }

        let mut webhooks = Vec::new();
        for (i, w) in self.webhooks.into_iter().enumerate() {
            let key = |k: &str| format!("webhooks[{i}].{k}");
            if !is_url(&w.url, &["http://", "https://"]) {
                return Err(bad(
                    &key("url"),
                    format!("{:?} is not an http(s) URL", w.url),
                ));
            }
            if w.secret.len() < 16 {
                return Err(bad(&key("secret"), "needs at least 16 characters".into()));
            }
            let mut events = w
                .events
                .iter()
                .map(|e| crate::events::EventType::subscription(e))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(&key("events"), e))?;
            if events.is_empty() {
                events = crate::events::EventType::SUBSCRIBABLE.to_vec();
            }
            webhooks.push(WebhookConfig {
                url: w.url,
                secret: w.secret,
                events,
            });
        }

        let mut webhook_targets = crate::webhooks::target::TargetPolicy::default();
        for (i, entry) in self.webhook_targets.allowed_private.iter().enumerate() {
            let entry = entry.trim().to_ascii_lowercase();
            match IpRange::parse(&entry) {
                Ok(range) => webhook_targets.ranges.push(range),
                Err(_)
                    if !entry.is_empty()
                        && entry
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
                {
                    webhook_targets.hosts.push(entry)
                }
                Err(_) => {
                    return Err(bad(
                        &format!("webhook_targets.allowed_private[{i}]"),
                        format!("{entry:?} is not an address, a CIDR block or a host name"),
                    ))
                }
            }
        }

        Ok(Config {
            server,
            database,
            merchant,
            payments,
            chain,
            networks,
            tokens,
            webhooks,
            webhook_targets,
        })
    }
}

fn is_url(s: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|scheme| {
        s.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
    })
}

fn default_networks() -> Vec<RawNetwork> {
    vec![RawNetwork {
        id: "bsc".into(),
        name: "BNB Smart Chain".into(),
        chain_id: 56,
        rpc_urls: vec![
            "https://bsc-dataseed.bnbchain.org".into(),
            "https://bsc-dataseed1.defibit.io".into(),
            "https://bsc-rpc.publicnode.com".into(),
        ],
        ws_urls: vec!["wss://bsc-rpc.publicnode.com".into()],
        explorer_url: "https://bscscan.com".into(),
    }]
}

fn default_tokens() -> Vec<RawToken> {
    let token = |symbol: &str, name: &str, contract: &str, legacy| RawToken {
        symbol: symbol.into(),
        name: name.into(),
        network: "bsc".into(),
        contract_address: contract.into(),
        decimals: 18,
        legacy,
    };
    vec![
        token(
            "USDT",
            "Tether USD",
            "0x55d398326f99059fF775485246999027B3197955",
            false,
        ),
        token(
            "USDC",
            "USD Coin",
            "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d",
            false,
        ),
        // Binance ended BUSD support in 2023; still accepted for shops that hold it.
        token(
            "BUSD",
            "Binance USD (legacy)",
            "0xe9e7CEA3DedcA5984780Bafc599bD69ADd087D56",
            true,
        ),
        token(
            "FDUSD",
            "First Digital USD",
            "0xc5f0f7b66764F6ec8C8Dff7BA683102295E16409",
            false,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_file_gives_bsc_defaults() {
        let c = Config::default();
        assert_eq!(c.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.payments.confirmations, 3);
        assert_eq!(c.networks[0].chain_id, 56);
        let symbols: Vec<_> = c.tokens.iter().map(|t| t.symbol.to_string()).collect();
        assert_eq!(symbols, ["USDT", "USDC", "BUSD", "FDUSD"]);
        assert!(
            c.tokens
                .iter()
                .find(|t| t.symbol.as_str() == "BUSD")
                .unwrap()
                .legacy
        );
    }

    #[test]
    fn env_overrides_beat_the_file() {
        let c = Config::from_toml_str(
            "[payments]\nconfirmations = 5\n",
            env(&[
                ("STABLEPAY_PAYMENTS__CONFIRMATIONS", "7"),
                ("STABLEPAY_SERVER__BIND", "127.0.0.1:0"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.payments.confirmations, 7);
        assert_eq!(c.server.bind.port(), 0);
    }

    #[test]
    fn the_chain_section_can_be_set_from_the_environment() {
        let c = Config::from_toml_str(
            "",
            env(&[
                ("STABLEPAY_CHAIN__ENABLED", "false"),
                ("STABLEPAY_CHAIN__POLL_INTERVAL_MS", "250"),
            ]),
        )
        .unwrap();
        assert!(!c.chain.enabled);
        assert_eq!(c.chain.poll_interval.as_millis(), 250);
    }

    #[test]
    fn a_bad_env_value_names_the_variable() {
        let err = Config::from_toml_str("", env(&[("STABLEPAY_PAYMENTS__CONFIRMATIONS", "many")]))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("STABLEPAY_PAYMENTS__CONFIRMATIONS"),
            "{err}"
        );
        let err = Config::from_toml_str("", env(&[("STABLEPAY_PAYMENT__CONFIRMATIONS", "3")]))
            .unwrap_err();
        assert!(err.to_string().contains("unknown setting"), "{err}");
    }

    #[test]
    fn a_wrongly_checksummed_receive_address_names_the_key() {
        let err = Config::from_toml_str(
            "[merchant]\nreceive_address = \"0x55d398326f99059ff775485246999027B3197955\"\n",
            env(&[]),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("merchant.receive_address") && msg.contains("checksum"),
            "{msg}"
        );
    }

    #[test]
    fn a_malformed_token_address_names_the_entry() {
        let toml = "[[tokens]]\nsymbol = \"USDT\"\nnetwork = \"bsc\"\ncontract_address = \"0x1234\"\ndecimals = 18\n";
        let err = Config::from_toml_str(toml, env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("tokens[0].contract_address"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused() {
        let err = Config::from_toml_str("[payments]\nconfirmation = 3\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("confirmation"), "{err}");
        let err =
            Config::from_toml_str("[payments]\nconfirmations = \"three\"\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("confirmations"), "{err}");
    }

    #[test]
    fn off_loopback_bind_without_api_key_is_refused() {
        let c = Config::from_toml_str("[server]\nbind = \"0.0.0.0:8080\"\n", env(&[])).unwrap();
        assert!(c.server.check_exposure().is_err());
        let c = Config::from_toml_str(
            "[server]\nbind = \"0.0.0.0:8080\"\napi_keys = [\"0123456789abcdef0123456789abcdef\"]\n",
            env(&[]),
        )
        .unwrap();
        assert!(c.server.check_exposure().is_ok());
    }

    #[test]
    fn a_token_on_an_unknown_network_is_refused() {
        let toml = "[[tokens]]\nsymbol = \"USDT\"\nnetwork = \"eth\"\ncontract_address = \"0x55d398326f99059fF775485246999027B3197955\"\ndecimals = 18\n";
        let err = Config::from_toml_str(toml, env(&[])).unwrap_err();
        assert!(err.to_string().contains("tokens[0].network"), "{err}");
    }

    #[test]
    fn tls_is_the_shop_s_certificate_a_self_signed_one_or_nothing_never_half_of_one() {
        let c = Config::from_toml_str("", env(&[])).unwrap();
        assert_eq!(c.server.tls, Tls::Unset);
        let c = Config::from_toml_str(
            "[server]\ntls_cert = \"shop.crt\"\ntls_key = \"shop.key\"\n",
            env(&[]),
        )
        .unwrap();
        assert!(matches!(c.server.tls, Tls::Files { .. }) && c.server.tls.enabled());
        let c = Config::from_toml_str("", env(&[("STABLEPAY_SERVER__TLS_SELF_SIGNED", "true")]))
            .unwrap();
        assert_eq!(c.server.tls, Tls::SelfSigned);
        let c = Config::from_toml_str("[server]\ntls_self_signed = false\n", env(&[])).unwrap();
        assert_eq!(c.server.tls, Tls::Off);
        assert!(!c.server.tls.enabled());

        let err =
            Config::from_toml_str("[server]\ntls_cert = \"shop.crt\"\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("server.tls_key"), "{err}");
        let err = Config::from_toml_str(
            "[server]\ntls_cert = \"a\"\ntls_key = \"b\"\ntls_self_signed = true\n",
            env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("choose one"), "{err}");
    }
}
