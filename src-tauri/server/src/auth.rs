//! Who is calling, and whether that may reach a route.
//!
//! A request is identified once ([`identify`], the outermost API layer) as a [`Caller`]: the holder
//! of a configured key (with its role), the desktop app (its per-launch session token, admin), a
//! paired customer display (its token, display role), this computer when no key is configured at
//! all (admin, but only for requests that did not come through a proxy), or nobody. Browsers cannot send headers on a WebSocket, so sockets present a
//! short-lived, single-use ticket (`?ticket=`) obtained with a key from
//! `POST /api/v1/socket-tickets` — never the key itself in a URL.
//!
//! Each route group is wrapped in [`Require`] with the [`Permission`] it needs; customer routes
//! (a payment by its unguessable id, its QR, the manual check, tokens, networks, health) need none.
//! Which role holds which permission ([`Permission::roles`]) is the one table; the OpenAPI document
//! names the roles on every operation, and a test checks every route against it for every role.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    http::{header::AUTHORIZATION, HeaderMap},
    middleware::Next,
    response::{IntoResponse, Response},
};
use stablepay_core::{
    access::{ApiKey, KeyConfig, Role},
    config::ServerConfig,
    counters::{Counter, CounterId},
    entropy::Entropy,
    pairing::Pairing,
};
use tower::{Layer, Service};

use crate::{error::ApiError, state::AppState};

/// How long a socket ticket may wait to be used.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(60);
/// Most unused tickets kept.
const MAX_TICKETS: usize = 10_000;

/// What a route needs beyond being a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// The customer display channel: what it shows, and following it.
    Display,
    /// Selling: create and cancel payments, put one on the display.
    Sell,
    /// Reading payments, products and the unmatched inbox.
    ReadSales,
    /// Statistics, monitoring, alerts, metrics, the effective settings.
    Monitor,
    /// Everything that changes the shop: products, webhooks, attaching transfers.
    Manage,
}

impl Permission {
    /// The roles that hold it.
    pub fn roles(&self) -> &'static [Role] {
        match self {
            Permission::Display => &[Role::Admin, Role::Cashier, Role::Display],
            Permission::Sell => &[Role::Admin, Role::Cashier],
            Permission::ReadSales => &[Role::Admin, Role::Cashier, Role::Viewer],
            Permission::Monitor => &[Role::Admin, Role::Viewer],
            Permission::Manage => &[Role::Admin],
        }
    }
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Its role; `None` for nobody in particular (a customer).
    pub role: Option<Role>,
    /// For the logs: the key's name, `desktop`, `this computer`, or empty.
    pub name: Arc<str>,
    /// The paired display or counter it is, if it is one (its sockets close when it is revoked).
    pub device: Option<Arc<str>>,
    /// The counter of this hub it is, if it is one: its sales carry it, and its display channel is
    /// its own.
    pub counter: Option<Counter>,
    /// Why nobody: the request came through a proxy to a server with no key.
    proxied_without_key: bool,
}

impl Caller {
    fn nobody() -> Self {
        Self {
            role: None,
            name: Arc::from(""),
            device: None,
            counter: None,
            proxied_without_key: false,
        }
    }

    fn with(role: Role, name: &str) -> Self {
        Self {
            role: Some(role),
            name: Arc::from(name),
            ..Self::nobody()
        }
    }

    /// The display channel it shows on and follows by itself: its counter's, or the shop's (`None`).
    pub fn channel(&self) -> Option<CounterId> {
        self.counter.as_ref().map(|c| c.id.clone())
    }

    /// Whether it holds `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.role.is_some_and(|r| permission.roles().contains(&r))
    }

    /// Lets through any caller with a role, or says why not (401).
    pub fn known(&self) -> Result<Role, ApiError> {
        match self.role {
            Some(role) => Ok(role),
            None if self.proxied_without_key => Err(ApiError::ProxiedWithoutKey),
            None => Err(ApiError::Unauthorized),
        }
    }

    /// Lets it through to a route needing `permission`, or says why not (401 without a role, 403
    /// with one that does not hold it).
    pub fn check(&self, permission: Permission) -> Result<(), ApiError> {
        match self.role {
            _ if self.may(permission) => Ok(()),
            Some(role) => Err(ApiError::Forbidden(format!(
                "this key ({role}) may not do this; it needs one of: {}",
                permission
                    .roles()
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            None if self.proxied_without_key => Err(ApiError::ProxiedWithoutKey),
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// The keys a server accepts.
#[derive(Debug)]
pub struct Keys {
    keys: Vec<KeyConfig>,
    session: Option<ApiKey>,
    displays: Option<Pairing>,
    tickets: Mutex<HashMap<String, (Caller, Instant)>>,
    entropy: Arc<dyn Entropy>,
}

impl Keys {
    /// The keys of `server`: configured ones and the desktop session token; paired displays'
    /// tokens from `displays`.
    pub fn from_config(
        server: &ServerConfig,
        displays: Pairing,
        entropy: Arc<dyn Entropy>,
    ) -> Self {
        Self {
            keys: server.keys.clone(),
            session: server.session_token.clone(),
            displays: Some(displays),
            tickets: Mutex::default(),
            entropy,
        }
    }

    /// No key at all: the server is open to this computer (loopback bind only, enforced at start).
    pub fn open(&self) -> bool {
        self.keys.is_empty() && self.session.is_none()
    }

    /// The caller presenting `key` (or nothing); `proxied` when the request carries forwarding
    /// headers (it came through a proxy, so from the network).
    pub fn identify(&self, key: Option<&str>, proxied: bool) -> Caller {
        if let Some(key) = key {
            if let Some(session) = &self.session {
                if constant_time_eq(session.expose().as_bytes(), key.as_bytes()) {
                    return Caller::with(Role::Admin, "desktop");
                }
            }
            if let Some(device) = self.displays.as_ref().and_then(|d| d.device(key)) {
                return Caller {
                    device: Some(Arc::from(device.id.as_str())),
                    counter: device.counter(),
                    ..Caller::with(device.kind.role(), &device.name)
                };
            }
            // Every key is compared, so the time taken does not tell which one matched.
            let found = self.keys.iter().fold(None, |found, k| {
                if constant_time_eq(k.key.expose().as_bytes(), key.as_bytes()) {
                    Some(k)
                } else {
                    found
                }
            });
            if let Some(k) = found {
                return Caller::with(k.role, &k.name);
            }
        }
        if self.open() {
            return if proxied {
                Caller {
                    proxied_without_key: true,
                    ..Caller::nobody()
                }
            } else {
                Caller::with(Role::Admin, "this computer")
            };
        }
        Caller::nobody()
    }

    /// A single-use ticket standing for `caller` on one socket upgrade within [`TICKET_LIFETIME`].
    pub fn issue_ticket(&self, caller: &Caller) -> String {
        let ticket = ApiKey::random(self.entropy.as_ref()).expose().to_string();
        let now = Instant::now();
        let mut tickets = self.tickets.lock().expect("ticket lock");
        if tickets.len() >= MAX_TICKETS {
            tickets.retain(|_, (_, at)| now.duration_since(*at) < TICKET_LIFETIME);
        }
        tickets.insert(ticket.clone(), (caller.clone(), now));
        ticket
    }

    /// The caller a ticket stands for, once.
    pub fn redeem_ticket(&self, ticket: &str) -> Option<Caller> {
        let (caller, at) = self.tickets.lock().expect("ticket lock").remove(ticket)?;
        (at.elapsed() < TICKET_LIFETIME).then_some(caller)
    }
}

/// Whether a request came through a proxy.
pub fn proxied(headers: &HeaderMap) -> bool {
    ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Identifies the caller of every request (a [`Caller`] extension for the layers and handlers).
pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let caller = state
        .keys
        .identify(bearer(request.headers()), proxied(request.headers()));
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Refuses requests whose caller does not hold the permission (wraps a route group).
#[derive(Debug, Clone, Copy)]
pub struct Require(pub Permission);

impl<S> Layer<S> for Require {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            permission: self.0,
        }
    }
}

/// The service of [`Require`].
#[derive(Debug, Clone)]
pub struct RequireService<S> {
    inner: S,
    permission: Permission,
}

impl<S> Service<Request> for RequireService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let allowed = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(Caller::nobody)
            .check(self.permission);
        match allowed {
            Ok(()) => {
                let ready = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, ready);
                Box::pin(inner.call(request))
            }
            Err(e) => Box::pin(async move { Ok(e.into_response()) }),
        }
    }
}

/// Compares without an early exit, so response time does not reveal how much of a key matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str, role: Role) -> KeyConfig {
        KeyConfig {
            key: ApiKey::parse(s).unwrap(),
            role,
            name: role.to_string(),
        }
    }

    fn keys(list: Vec<KeyConfig>, session: Option<&str>) -> Keys {
        Keys {
            keys: list,
            session: session.map(|s| ApiKey::parse(s).unwrap()),
            displays: None,
            tickets: Mutex::default(),
            entropy: Arc::new(stablepay_core::entropy::SystemEntropy),
        }
    }

    const CASHIER: &str = "cashier-key-0123456789abcdef0123456789";
    const SESSION: &str = "session-token-0123456789abcdef012345678";

    #[test]
    fn keys_compare_equal_only_when_identical() {
        assert!(constant_time_eq(b"abcdef", b"abcdef"));
        assert!(!constant_time_eq(b"abcdef", b"abcdeg"));
        assert!(!constant_time_eq(b"abc", b"abcdef"));
    }

    #[test]
    fn a_cashier_key_sells_but_does_not_manage() {
        let k = keys(vec![key(CASHIER, Role::Cashier)], None);
        let caller = k.identify(Some(CASHIER), false);
        assert!(caller.may(Permission::Sell));
        assert!(matches!(
            caller.check(Permission::Manage),
            Err(ApiError::Forbidden(_))
        ));
        assert!(matches!(
            k.identify(Some("wrong"), false).check(Permission::Sell),
            Err(ApiError::Unauthorized)
        ));
    }

    #[test]
    fn without_keys_only_unproxied_requests_are_trusted() {
        let k = keys(vec![], None);
        assert!(k.identify(None, false).may(Permission::Manage));
        assert!(matches!(
            k.identify(None, true).check(Permission::ReadSales),
            Err(ApiError::ProxiedWithoutKey)
        ));
    }

    #[test]
    fn the_desktop_session_token_is_an_admin_and_closes_the_open_mode() {
        let k = keys(vec![], Some(SESSION));
        assert!(k.identify(Some(SESSION), false).may(Permission::Manage));
        assert!(!k.identify(None, false).may(Permission::ReadSales));
    }

    #[test]
    fn a_ticket_stands_for_its_caller_once() {
        let k = keys(vec![key(CASHIER, Role::Cashier)], None);
        let caller = k.identify(Some(CASHIER), false);
        let ticket = k.issue_ticket(&caller);
        assert_eq!(k.redeem_ticket(&ticket), Some(caller));
        assert_eq!(k.redeem_ticket(&ticket), None);
        assert_eq!(k.redeem_ticket("made-up"), None);
    }
}
