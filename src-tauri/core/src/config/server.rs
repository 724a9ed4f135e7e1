//! `[server]`: the embedded HTTP server — where it listens, who may call it, its limits, TLS.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use super::{bad, is_url, list, section};
use crate::{
    access::{ApiKey, KeyConfig, Role},
    error::CoreError,
    ip::IpRange,
};

section! {
    /// `[server]` as written.
    struct RawServer {
        bind: String = "127.0.0.1:8080".into(),
        #[serde(deserialize_with = "list")]
        api_keys: Vec<String> = vec![],
        keys: Vec<RawKey> = vec![],
        public_url: String = String::new(),
        #[serde(deserialize_with = "list")]
        allowed_hosts: Vec<String> = vec![],
        #[serde(deserialize_with = "list")]
        trusted_proxies: Vec<String> = vec![],
        #[serde(deserialize_with = "list")]
        cors_origins: Vec<String> = vec![],
        rate_limit_per_second: u32 = 50,
        rate_limit_burst: u32 = 200,
        max_body_bytes: usize = 64 * 1024,
        ws_max_per_ip: usize = 256,
        ws_max_total: usize = 20_000,
        max_connections: usize = 25_000,
        header_read_timeout_ms: u64 = 10_000,
        request_timeout_ms: u64 = 30_000,
        socket_heartbeat_ms: u64 = 30_000,
        trend_sample_ms: u64 = 60_000,
        ui_dir: String = String::new(),
        tls_cert: String = String::new(),
        tls_key: String = String::new(),
        tls_self_signed: Option<bool> = None,
        replica: String = String::new(),
    }
}

/// One `[[server.keys]]` entry as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKey {
    key: String,
    role: String,
    #[serde(default)]
    name: String,
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
    /// How often the dashboard's trend figures are sampled into the database (kept 30 days).
    pub trend_sample: std::time::Duration,
    /// This server's name among the servers sharing a PostgreSQL database (`/health`, telemetry);
    /// `None`: the host's name and the process id.
    pub replica: Option<String>,
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

impl TryFrom<RawServer> for ServerConfig {
    type Error = CoreError;

    fn try_from(s: RawServer) -> Result<Self, CoreError> {
        let bind: SocketAddr = s.bind.parse().map_err(|_| {
            bad(
                "server.bind",
                format!("{:?} is not an address like 127.0.0.1:8080", s.bind),
            )
        })?;
        if s.max_connections < 16 {
            return Err(bad("server.max_connections", "must be at least 16"));
        }
        for (key, ms) in [
            ("server.header_read_timeout_ms", s.header_read_timeout_ms),
            ("server.request_timeout_ms", s.request_timeout_ms),
            ("server.socket_heartbeat_ms", s.socket_heartbeat_ms),
            ("server.trend_sample_ms", s.trend_sample_ms),
        ] {
            if !(100..=600_000).contains(&ms) {
                return Err(bad(key, "must be between 100 and 600000"));
            }
        }
        if !(1024..=16 * 1024 * 1024).contains(&s.max_body_bytes) {
            return Err(bad(
                "server.max_body_bytes",
                "must be between 1024 and 16777216",
            ));
        }
        if s.ws_max_per_ip == 0 || s.ws_max_total == 0 {
            return Err(bad(
                "server.ws_max_per_ip",
                "WebSocket limits must be at least 1",
            ));
        }
        let tls = tls(&s)?;
        Ok(ServerConfig {
            bind,
            keys: keys(&s.api_keys, &s.keys)?,
            session_token: None,
            allowed_hosts: allowed_hosts(&s.allowed_hosts)?,
            trusted_proxies: s
                .trusted_proxies
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    IpRange::parse(p).map_err(|e| bad(&format!("server.trusted_proxies[{i}]"), e))
                })
                .collect::<Result<_, _>>()?,
            public_url: public_url(&s.public_url)?,
            cors_origins: cors_origins(s.cors_origins)?,
            rate_limit_per_second: s.rate_limit_per_second,
            rate_limit_burst: s.rate_limit_burst.max(1),
            max_body_bytes: s.max_body_bytes,
            ws_max_per_ip: s.ws_max_per_ip,
            ws_max_total: s.ws_max_total,
            max_connections: s.max_connections,
            header_read_timeout: Duration::from_millis(s.header_read_timeout_ms),
            request_timeout: Duration::from_millis(s.request_timeout_ms),
            socket_heartbeat: Duration::from_millis(s.socket_heartbeat_ms),
            trend_sample: Duration::from_millis(s.trend_sample_ms),
            replica: Some(s.replica.trim().to_string()).filter(|r| !r.is_empty()),
            ui_dir: Some(PathBuf::from(&s.ui_dir)).filter(|p| !p.as_os_str().is_empty()),
            tls,
        })
    }
}

/// `api_keys` (admin) and `[[server.keys]]` (with roles), each key once.
fn keys(api_keys: &[String], with_roles: &[RawKey]) -> Result<Vec<KeyConfig>, CoreError> {
    let mut keys = Vec::new();
    for (i, key) in api_keys.iter().enumerate() {
        let key = ApiKey::parse(key).map_err(|e| bad(&format!("server.api_keys[{i}]"), e))?;
        keys.push(KeyConfig {
            key,
            role: Role::Admin,
            name: format!("api_keys[{i}]"),
        });
    }
    for (i, k) in with_roles.iter().enumerate() {
        let at = |f: &str| format!("server.keys[{i}].{f}");
        let key = ApiKey::parse(&k.key).map_err(|e| bad(&at("key"), e))?;
        let role = Role::parse(&k.role).map_err(|e| bad(&at("role"), e.to_string()))?;
        let name = k.name.trim();
        if name.chars().count() > 80 || name.chars().any(char::is_control) {
            return Err(bad(&at("name"), "at most 80 printable characters"));
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
    Ok(keys)
}

fn allowed_hosts(hosts: &[String]) -> Result<Vec<String>, CoreError> {
    hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = h.trim().to_ascii_lowercase();
            let ok = !h.is_empty()
                && h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
            if ok {
                Ok(h)
            } else {
                Err(bad(
                    &format!("server.allowed_hosts[{i}]"),
                    format!("{h:?} is not a host name"),
                ))
            }
        })
        .collect()
}

fn public_url(url: &str) -> Result<String, CoreError> {
    if !url.is_empty() && !is_url(url, &["http://", "https://"]) {
        return Err(bad(
            "server.public_url",
            format!("{url:?} is not an http(s) URL"),
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn cors_origins(origins: Vec<String>) -> Result<Vec<String>, CoreError> {
    for (i, origin) in origins.iter().enumerate() {
        if !is_url(origin, &["http://", "https://"]) {
            return Err(bad(
                &format!("server.cors_origins[{i}]"),
                format!("{origin:?} is not an origin like https://shop.example"),
            ));
        }
    }
    Ok(origins)
}

/// The shop's certificate, a self-signed one, or nothing — never half of one.
fn tls(s: &RawServer) -> Result<Tls, CoreError> {
    Ok(
        match (s.tls_cert.trim(), s.tls_key.trim(), s.tls_self_signed) {
            ("", "", None) => Tls::Unset,
            ("", "", Some(false)) => Tls::Off,
            ("", "", Some(true)) => Tls::SelfSigned,
            (cert, key, self_signed) if !cert.is_empty() && !key.is_empty() => {
                if self_signed == Some(true) {
                    return Err(bad(
                        "server.tls_self_signed",
                        "the shop's certificate (tls_cert, tls_key) is set: choose one",
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
                    "tls_key is set without its certificate (a PEM file)",
                ))
            }
            _ => {
                return Err(bad(
                    "server.tls_key",
                    "tls_cert is set without its private key (a PEM file)",
                ))
            }
        },
    )
}
