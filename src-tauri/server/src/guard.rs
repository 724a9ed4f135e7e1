//! Where requests may come from, and what every answer tells the browser.
//!
//! - **Host** (DNS rebinding): the server answers only the hosts it serves — `localhost`, IP
//!   addresses (a page cannot rebind an address, only a name: so a tablet may use the till's LAN
//!   address, and a proxy may pass `127.0.0.1`), the host of `server.public_url`, and
//!   `server.allowed_hosts`. Any other name → 421 `misdirected_request`.
//! - **Origin** (a web page in the cashier's browser): a state-changing request or a WebSocket
//!   upgrade whose `Origin` is neither the server's own nor in `server.cors_origins` → 403
//!   `origin_not_allowed`; so is one a browser marks `Sec-Fetch-Site: cross-site`. Requests without
//!   an `Origin` (integrators, curl) are not browsers' and pass.
//! - **Headers** on every answer: a Content-Security-Policy (same-origin scripts, styles, images and
//!   sockets; no framing), `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
//!   `X-Frame-Options: DENY`.
//! - **The client's address** for rate limits and socket limits: the TCP peer, or — only when the
//!   peer is in `server.trusted_proxies` — the client named by `Forwarded` / `X-Forwarded-For` /
//!   `X-Real-IP`.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{header, request::Parts, Extensions, HeaderMap, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use stablepay_core::{config::ServerConfig, ip::IpRange};

use crate::{error::ApiError, state::AppState};

/// The hosts and origins a server answers.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    names: Vec<String>,
    cors: Vec<String>,
}

impl HostPolicy {
    /// The policy of a server with `server`'s settings.
    pub fn new(server: &ServerConfig) -> Self {
        let mut names = server.allowed_hosts.clone();
        names.push("localhost".into());
        if let Some((host, _)) = origin_host(&server.public_url) {
            names.push(host);
        }
        Self {
            names,
            cors: server
                .cors_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a request with this `Host` header is for this server.
    pub fn serves(&self, host: &str) -> bool {
        split_host(host)
            .is_some_and(|(name, _)| self.names.contains(&name) || name.parse::<IpAddr>().is_ok())
    }

    /// Whether a browser page at `origin` may change things or open sockets on a request made to
    /// `host`: the same origin, or an allowed one.
    pub fn welcomes(&self, origin: &str, host: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.cors.contains(&origin) {
            return true;
        }
        let (Some((o_name, o_port)), Some((h_name, h_port))) =
            (origin_host(&origin), split_host(host))
        else {
            return false;
        };
        o_name == h_name
            && o_port
                == h_port.unwrap_or(if origin.starts_with("https://") {
                    443
                } else {
                    80
                })
    }
}

/// `name` (lower case, IPv6 without brackets) and port of a `Host` header value.
fn split_host(host: &str) -> Option<(String, Option<u16>)> {
    let host = host.trim().to_ascii_lowercase();
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return None;
    }
    if let Some(rest) = host.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((ip.to_string(), port));
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => {
            Some((name.to_string(), Some(port.parse().ok()?)))
        }
        Some(_) => Some((host.clone(), None)), // a bare IPv6 address
        None => Some((host, None)),
    }
}

/// The host name (or address) of an `http(s)://` URL.
pub(crate) fn url_host(url: &str) -> Option<String> {
    origin_host(url).map(|(name, _)| name)
}

/// Host and port (default for the scheme) of an `http(s)://` origin or URL.
fn origin_host(url: &str) -> Option<(String, u16)> {
    let lower = url.trim().to_ascii_lowercase();
    let (rest, default) = if let Some(r) = lower.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = lower.strip_prefix("http://") {
        (r, 80)
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let (name, port) = split_host(authority)?;
    Some((name, port.unwrap_or(default)))
}

fn changes_state(method: &Method, headers: &HeaderMap) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || headers.contains_key(header::UPGRADE)
}

/// Refuses requests for other hosts (421) and cross-origin state changes and upgrades (403).
pub async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !state.hosts.serves(&host) {
        return ApiError::MisdirectedRequest(host).into_response();
    }
    if changes_state(request.method(), headers) {
        let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
        let cross_site = headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site");
        let refused = match origin {
            Some(origin) => !state.hosts.welcomes(origin, &host),
            None => cross_site,
        };
        if refused {
            return ApiError::OriginNotAllowed(origin.unwrap_or("another site").to_string())
                .into_response();
        }
    }
    let mut response = next.run(request).await;
    secure(response.headers_mut(), &host);
    response
}

/// The security headers of every answer. Sockets are allowed to the page's own host only.
fn secure(headers: &mut HeaderMap, host: &str) {
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         font-src 'self'; connect-src 'self' ws://{host} wss://{host}; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// The client's address: the peer, or what a trusted proxy says the client is.
pub fn client_ip(request: &Request, trusted: &[IpRange]) -> IpAddr {
    client_of(request.extensions(), request.headers(), trusted)
}

fn client_of(extensions: &Extensions, headers: &HeaderMap, trusted: &[IpRange]) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if !trusted.iter().any(|r| r.contains(peer)) {
        return peer;
    }
    forwarded_client(headers, trusted).unwrap_or(peer)
}

/// The client's address as an extractor (see [`client_ip`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_of(
            &parts.extensions,
            &parts.headers,
            &state.core.config.server.trusted_proxies,
        )))
    }
}

/// The client proxies name: walking the `Forwarded: for=` (else `X-Forwarded-For`) entries from the
/// one the nearest proxy added, the first that is not itself a trusted proxy; else `X-Real-IP`.
fn forwarded_client(headers: &HeaderMap, trusted: &[IpRange]) -> Option<IpAddr> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let chain: Vec<IpAddr> = if let Some(f) = text("forwarded") {
        f.split(',')
            .filter_map(|element| {
                let value = element
                    .split(';')
                    .find_map(|p| p.trim().strip_prefix("for="))?
                    .trim_matches('"');
                let value = match value.strip_prefix('[') {
                    Some(v) => v.split(']').next().unwrap_or(v),
                    None => value.split(':').next().unwrap_or(value),
                };
                value.parse().ok()
            })
            .collect()
    } else if let Some(x) = text("x-forwarded-for") {
        x.split(',').filter_map(|e| e.trim().parse().ok()).collect()
    } else {
        return text("x-real-ip")?.trim().parse().ok();
    };
    chain
        .iter()
        .rev()
        .find(|ip| !trusted.iter().any(|r| r.contains(**ip)))
        .or(chain.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str], public: &str) -> HostPolicy {
        let mut server = stablepay_core::config::Config::default().server;
        server.allowed_hosts = allowed.iter().map(|s| s.to_string()).collect();
        server.public_url = public.to_string();
        HostPolicy::new(&server)
    }

    #[test]
    fn addresses_and_localhost_are_served_but_no_unknown_name() {
        let p = policy(&[], "");
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "[::1]:8080",
            "LOCALHOST",
            "192.168.1.20:8080",
        ] {
            assert!(p.serves(ok), "{ok}");
        }
        for no in [
            "attacker.example:8080",
            "localhost.attacker.example",
            "",
            "a b",
            "x@127.0.0.1",
        ] {
            assert!(!p.serves(no), "{no}");
        }
    }

    #[test]
    fn the_public_host_and_allowed_names_are_served() {
        let p = policy(&["till.local"], "https://shop.example");
        assert!(p.serves("till.local"));
        assert!(p.serves("shop.example"));
        assert!(!p.serves("rebind.attacker.example:8080"));
    }

    #[test]
    fn only_the_same_origin_or_an_allowed_one_is_welcome() {
        let mut server = stablepay_core::config::Config::default().server;
        server.cors_origins = vec!["https://erp.example".into()];
        let p = HostPolicy::new(&server);
        assert!(p.welcomes("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(p.welcomes("https://erp.example", "127.0.0.1:8080"));
        assert!(!p.welcomes("http://attacker.example", "127.0.0.1:8080"));
        assert!(!p.welcomes("null", "127.0.0.1:8080"));
        assert!(p.welcomes("https://shop.example", "shop.example"));
    }

    #[test]
    fn the_client_is_the_nearest_entry_that_is_not_a_trusted_proxy() {
        let trusted = [IpRange::parse("10.0.0.0/8").unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7, 10.1.2.3".parse().unwrap(),
        );
        assert_eq!(forwarded_client(&h, &trusted), "198.51.100.7".parse().ok());
        let mut h = HeaderMap::new();
        h.insert(
            "forwarded",
            "for=192.0.2.60;proto=https, for=\"[2001:db8::1]:4711\""
                .parse()
                .unwrap(),
        );
        assert_eq!(forwarded_client(&h, &trusted), "2001:db8::1".parse().ok());
    }
}
