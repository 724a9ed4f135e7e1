//! JSON-RPC access to one network through several endpoints, each judged on its own:
//!
//! - **Verified before use.** An endpoint answers `eth_chainId` before it is used, on first contact
//!   and again after it was unreachable (the URL may now lead elsewhere); one on another chain is
//!   never used. One caught inventing data is distrusted and never used again by this process.
//! - **Errors classified** ([`super::classify`]): a rate limit (`-32005`, HTTP 429 with its
//!   `Retry-After`) backs off from that endpoint (from its `eth_getLogs` only, when only that was
//!   refused) and the caller fails over; an endpoint that keeps refusing `eth_getLogs` is skipped for
//!   logs for a while, with an alert; a range refusal is the caller's to shrink; a failure or timeout
//!   costs health and backs off with growing waits.
//! - **Pinned per use.** [`RpcChain::pick`] chooses one endpoint for what a caller needs (logs,
//!   finality), preferring ones not lagging behind the highest head seen, then health, then list
//!   order; the caller reads head, logs and block hashes from that one [`Pinned`] endpoint, so one
//!   pass sees one consistent chain.
//! - **Finality decided once.** Whether the network serves the `finalized` tag is decided by the
//!   first endpoint that answers definitively; once served, an endpoint that stops serving it is not
//!   used for settlement and raises an alert — finality is never silently dropped.
//!
//! Every call has a timeout, so a black-holed endpoint costs seconds, not forever. Every request and
//! answer goes to the telemetry's blockchain message log (endpoints shown without paths or keys).
//!
//! alloy's own transport layers are used for what they do (its HTTP transport reads `Retry-After`
//! and keeps HTTP status and JSON-RPC error codes apart, which [`super::classify`] relies on), but
//! not its `FallbackLayer` or `RetryBackoffLayer`: they pick or retry an endpoint per request, while
//! settlement needs one endpoint pinned for a series of calls, and each endpoint judged per method
//! (one that refuses `eth_getLogs` still settles payments).

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use alloy::{
    eips::BlockNumberOrTag,
    network::{Ethereum, TransactionBuilder},
    primitives::{Address as RawAddress, Bytes, B256},
    providers::{Provider, RootProvider},
    rpc::types::{Filter, Log, TransactionReceipt, TransactionRequest},
    sol_types::{SolCall, SolEvent},
    transports::{RpcError, TransportError},
};
use sha2::{Digest, Sha256};

use super::{
    classify::{classify, Fault, GET_LOGS},
    BlockRef, ChainError, Transfer,
};
use crate::telemetry::{redact_endpoint, scrub, AlertKind, Direction, Severity, Telemetry};

/// How long one RPC call may take before the endpoint counts as failing.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// An endpoint whose head is more than this many blocks behind the highest head seen is not used
/// while others are ahead.
pub const LAG_TOLERANCE: u64 = 3;
/// Heads older than this are not compared.
const HEAD_FRESHNESS: Duration = Duration::from_secs(30);
/// A survey re-reads an endpoint's head when it is older than this.
const HEAD_REFRESH: Duration = Duration::from_secs(5);
/// Consecutive `eth_getLogs` refusals after which an endpoint is skipped for logs.
const LOGS_STRIKES: u32 = 3;
/// How long an endpoint that does not serve a method is skipped for it before it is asked again.
const CAPABILITY_RETRY: Duration = Duration::from_secs(600);
/// Longest back-off after failures, and after rate limits without `Retry-After`.
const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(30);
const MAX_RATE_BACKOFF: Duration = Duration::from_secs(60);

alloy::sol! {
    /// ERC-20 `decimals()`.
    function decimals() external view returns (uint8);
}

/// How an endpoint is named in the store, the logs and alerts: its URL without path or key, and a
/// short digest of the whole URL (two URLs of one provider with different keys stay apart).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointKey(String);

impl EndpointKey {
    fn of(url: &str) -> Self {
        let digest = hex::encode(&Sha256::digest(url.as_bytes())[..3]);
        Self(format!("{}#{digest}", redact_endpoint(url)))
    }

    /// Rebuilds a key read back from the store.
    pub fn from_store(s: String) -> Self {
        Self(s)
    }

    /// The key as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EndpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether an endpoint (or the network) serves something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Capability {
    /// Not asked yet, or no definitive answer.
    #[default]
    Unknown,
    /// Served.
    Served,
    /// Not served (asked again after a while).
    NotServed,
    /// Was served and stopped: an alert is up.
    Lost,
}

/// Whether the network serves the `finalized` tag; decided by the first definitive answer and
/// never downgraded once served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Finality {
    /// No endpoint has answered yet.
    #[default]
    Unknown,
    /// The network serves it: settlement waits for it.
    Served,
    /// The network does not: settlement goes by confirmations.
    NotServed,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Trust {
    /// Not (or no longer) known to be on the right chain.
    #[default]
    Unverified,
    /// `eth_chainId` matched.
    Verified,
    /// Another chain: never used.
    WrongChain(u64),
    /// Caught reporting what other endpoints say is not there: never used again.
    Untrusted(String),
}

#[derive(Debug, Default)]
struct EndpointState {
    trust: Trust,
    /// Not used at all until then (failures, rate limits on everything).
    backoff_until: Option<Instant>,
    /// Not used for `eth_getLogs` until then.
    logs_backoff_until: Option<Instant>,
    failures: u32,
    rate_strikes: u32,
    logs_strikes: u32,
    logs: Capability,
    logs_retry_at: Option<Instant>,
    finality: Capability,
    head: Option<(u64, Instant)>,
}

/// One endpoint and how it has been doing.
#[derive(Debug)]
struct Endpoint {
    key: EndpointKey,
    shown: String,
    provider: RootProvider<Ethereum>,
    /// 0 (dead) – 100 (healthy); failures cost 25, successes give back 5.
    health: AtomicU64,
    state: Mutex<EndpointState>,
}

impl Endpoint {
    fn state(&self) -> std::sync::MutexGuard<'_, EndpointState> {
        self.state.lock().expect("endpoint state lock")
    }
}

/// Counters the monitoring endpoints read.
#[derive(Debug, Default)]
pub struct RpcStats {
    /// Calls made.
    pub calls: AtomicU64,
    /// Calls that failed.
    pub failures: AtomicU64,
    /// Times the endpoint picked changed.
    pub failovers: AtomicU64,
}

/// What a caller needs from the endpoint it pins.
#[derive(Debug, Clone, Default)]
pub struct Need {
    /// It must serve `eth_getLogs`.
    pub logs: bool,
    /// It must serve the `finalized` tag.
    pub finality: bool,
    /// Not these endpoints (e.g. the one whose report is being corroborated).
    pub except: Vec<EndpointKey>,
}

impl Need {
    /// Any usable endpoint.
    pub fn any() -> Self {
        Self::default()
    }

    /// One that serves `eth_getLogs`.
    pub fn logs() -> Self {
        Self {
            logs: true,
            ..Self::default()
        }
    }
}

/// An endpoint as monitoring shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointView {
    /// Its key.
    pub key: EndpointKey,
    /// 0–100.
    pub health: u64,
    /// `ok`, `unverified`, `backing_off`, `lagging`, `wrong_chain`, `untrusted`.
    pub status: &'static str,
    /// Last head it reported.
    pub head: Option<u64>,
    /// Whether it serves `eth_getLogs`.
    pub logs: Capability,
    /// Whether it serves the `finalized` tag.
    pub finality: Capability,
}

#[derive(Debug)]
struct Inner {
    network: String,
    chain_id: u64,
    endpoints: Vec<Endpoint>,
    finality: Mutex<Finality>,
    /// Highest head seen on a subscription (another view of the real head).
    announced_head: Mutex<Option<(u64, Instant)>>,
    last_picked: AtomicUsize,
    stats: RpcStats,
    telemetry: Telemetry,
}

/// JSON-RPC client for one network.
#[derive(Debug, Clone)]
pub struct RpcChain(Arc<Inner>);

impl RpcChain {
    /// A client for `network` (chain id `chain_id`) over `urls` (http or https).
    pub fn new(
        network: &str,
        chain_id: u64,
        urls: &[String],
        telemetry: Telemetry,
    ) -> Result<Self, ChainError> {
        let mut endpoints = Vec::new();
        for url in urls {
            let parsed = url.parse().map_err(|_| {
                ChainError::Config(format!("{} is not a URL", redact_endpoint(url)))
            })?;
            endpoints.push(Endpoint {
                key: EndpointKey::of(url),
                shown: redact_endpoint(url),
                provider: RootProvider::new_http(parsed),
                health: AtomicU64::new(100),
                state: Mutex::default(),
            });
        }
        if endpoints.is_empty() {
            return Err(ChainError::Config("the network has no rpc_urls".into()));
        }
        Ok(Self(Arc::new(Inner {
            network: network.to_string(),
            chain_id,
            endpoints,
            finality: Mutex::default(),
            announced_head: Mutex::default(),
            last_picked: AtomicUsize::new(0),
            stats: RpcStats::default(),
            telemetry,
        })))
    }

    /// Call counters.
    pub fn stats(&self) -> &RpcStats {
        &self.0.stats
    }

    /// How many endpoints are configured.
    pub fn len(&self) -> usize {
        self.0.endpoints.len()
    }

    /// Never true: a client has at least one endpoint.
    pub fn is_empty(&self) -> bool {
        self.0.endpoints.is_empty()
    }

    /// The endpoint picked last, as `scheme://host[:port]`.
    pub fn current_endpoint(&self) -> String {
        self.0.endpoints[self.0.last_picked.load(Ordering::Relaxed)]
            .shown
            .clone()
    }

    /// `(key, health 0–100)` for each endpoint.
    pub fn health(&self) -> Vec<(EndpointKey, u64)> {
        self.0
            .endpoints
            .iter()
            .map(|e| (e.key.clone(), e.health.load(Ordering::Relaxed)))
            .collect()
    }

    /// Each endpoint as monitoring shows it.
    pub fn endpoints(&self) -> Vec<EndpointView> {
        let now = Instant::now();
        let best = self.best_head(now);
        self.0
            .endpoints
            .iter()
            .map(|e| {
                let s = e.state();
                let status = match &s.trust {
                    Trust::WrongChain(_) => "wrong_chain",
                    Trust::Untrusted(_) => "untrusted",
                    Trust::Unverified => "unverified",
                    Trust::Verified if s.backoff_until.is_some_and(|t| t > now) => "backing_off",
                    Trust::Verified if lagging(&s, best, now) => "lagging",
                    Trust::Verified => "ok",
                };
                EndpointView {
                    key: e.key.clone(),
                    health: e.health.load(Ordering::Relaxed),
                    status,
                    head: s.head.map(|h| h.0),
                    logs: s.logs,
                    finality: s.finality,
                }
            })
            .collect()
    }

    /// Whether the network serves the `finalized` tag, as far as known.
    pub fn finality(&self) -> Finality {
        *self.0.finality.lock().expect("finality lock")
    }

    /// A head announced by a subscription: the real chain has at least this block.
    pub fn note_head(&self, number: u64) {
        let mut announced = self.0.announced_head.lock().expect("head lock");
        if announced.is_none_or(|(n, _)| number >= n) {
            *announced = Some((number, Instant::now()));
        }
    }

    /// The highest head seen recently, on any trusted endpoint or subscription.
    pub fn best_head(&self, now: Instant) -> Option<u64> {
        let fresh =
            |(n, at): (u64, Instant)| (now.duration_since(at) < HEAD_FRESHNESS).then_some(n);
        let endpoints = self.0.endpoints.iter().filter_map(|e| {
            let s = e.state();
            matches!(s.trust, Trust::Verified)
                .then_some(s.head)
                .flatten()
                .and_then(fresh)
        });
        let announced = self
            .0
            .announced_head
            .lock()
            .expect("head lock")
            .and_then(fresh);
        endpoints.chain(announced).max()
    }

    /// First contact and upkeep, for every endpoint not backing off: verifies the chain id of
    /// unverified ones, asks those whose finality support is not known (or was lost), refreshes
    /// stale heads, and asks whether `eth_getLogs` is served (a one-block query) while that is not
    /// known — concurrently. Never fails: what it learns is recorded on each endpoint.
    pub async fn survey(&self) {
        let now = Instant::now();
        let due: Vec<usize> = (0..self.0.endpoints.len())
            .filter(|&i| {
                let s = self.0.endpoints[i].state();
                usable(&s, now)
                    && (s.trust == Trust::Unverified
                        || matches!(s.finality, Capability::Unknown | Capability::Lost)
                        || logs_unknown(&s, now)
                        || s.head
                            .is_none_or(|(_, at)| now.duration_since(at) > HEAD_REFRESH))
            })
            .collect();
        let visits = due.into_iter().map(|idx| async move {
            let pinned = Pinned { chain: self, idx };
            if pinned.verify().await.is_err() {
                return;
            }
            let finality = self.0.endpoints[idx].state().finality;
            if matches!(finality, Capability::Unknown | Capability::Lost) {
                let _ = pinned.finalized().await;
            }
            let Ok(head) = pinned.head().await else {
                return;
            };
            if logs_unknown(&self.0.endpoints[idx].state(), Instant::now()) {
                // No contract lives at the zero address: an empty answer, or the refusal.
                let _ = pinned
                    .transfer_logs(
                        &[RawAddress::ZERO],
                        RawAddress::ZERO,
                        head.number,
                        head.number,
                    )
                    .await;
            }
        });
        futures_util::future::join_all(visits).await;
    }

    /// Pins the best endpoint for `need`: verified (asked now if not yet), not backing off, serving
    /// what is needed; endpoints not lagging behind the highest head first, then by health, then in
    /// the configured order.
    pub async fn pick(&self, need: &Need) -> Result<Pinned<'_>, ChainError> {
        let now = Instant::now();
        let best = self.best_head(now);
        let finality = self.finality();
        let mut why_not = Vec::new();
        let mut candidates = Vec::new();
        for (idx, e) in self.0.endpoints.iter().enumerate() {
            let s = e.state();
            let refusal = if need.except.contains(&e.key) {
                Some("excluded".to_string())
            } else {
                refusal(&s, need, now, finality)
            };
            match refusal {
                Some(reason) => why_not.push(format!("{} ({reason})", e.shown)),
                None => candidates.push((
                    lagging(&s, best, now),
                    u64::MAX - e.health.load(Ordering::Relaxed),
                    idx,
                )),
            }
        }
        candidates.sort();
        for (_, _, idx) in candidates {
            let pinned = Pinned { chain: self, idx };
            match pinned.verify().await {
                Ok(()) => {
                    let before = self.0.last_picked.swap(idx, Ordering::Relaxed);
                    if before != idx {
                        self.0.stats.failovers.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(network = %self.0.network, endpoint = %self.0.endpoints[idx].shown, "using another RPC endpoint");
                    }
                    return Ok(pinned);
                }
                Err(e) => why_not.push(format!("{} ({e})", self.0.endpoints[idx].shown)),
            }
        }
        let what = match (need.logs, need.finality) {
            (true, _) => "serve eth_getLogs",
            (_, true) => "serve the finalized block",
            _ => "answer",
        };
        let message = format!(
            "no RPC endpoint of {} can {what} now: {}",
            self.0.network,
            why_not.join(", ")
        );
        let capability_gap = (need.logs || need.finality)
            && self.0.endpoints.iter().any(|e| {
                let s = e.state();
                s.trust == Trust::Verified && usable(&s, now)
            });
        Err(if capability_gap {
            ChainError::NotServed(message)
        } else {
            ChainError::Unavailable(message)
        })
    }

    /// Pins a given endpoint, if it is usable at all.
    pub fn pin(&self, key: &EndpointKey) -> Option<Pinned<'_>> {
        let now = Instant::now();
        let idx = self.0.endpoints.iter().position(|e| &e.key == key)?;
        let s = self.0.endpoints[idx].state();
        (s.trust == Trust::Verified && usable(&s, now)).then_some(Pinned { chain: self, idx })
    }

    /// Stops using `key` for good (in this process): it reported what the others say is not there.
    pub fn distrust(&self, key: &EndpointKey, reason: &str) {
        let Some(e) = self.0.endpoints.iter().find(|e| &e.key == key) else {
            return;
        };
        e.state().trust = Trust::Untrusted(reason.to_string());
        e.health.store(0, Ordering::Relaxed);
        tracing::error!(network = %self.0.network, endpoint = %e.shown, reason, "RPC endpoint distrusted");
        self.0.telemetry.raise_problem(
            AlertKind::EndpointUntrusted,
            &self.subject(e),
            Severity::Critical,
            format!(
                "the {} endpoint {} is no longer used: {reason}",
                self.0.network, e.shown
            ),
        );
    }

    /// The `eth_getLogs` of `key` keeps refusing even the smallest range: count it as a refusal.
    pub fn logs_refused(&self, key: &EndpointKey) {
        if let Some(idx) = self.0.endpoints.iter().position(|e| &e.key == key) {
            Pinned { chain: self, idx }.logs_strike("refuses even a one-block range");
        }
    }

    /// What an alert about endpoint `e` is about: `network:endpoint`.
    fn subject(&self, e: &Endpoint) -> String {
        format!("{}:{}", self.0.network, e.key)
    }
}

fn usable(s: &EndpointState, now: Instant) -> bool {
    !matches!(s.trust, Trust::WrongChain(_) | Trust::Untrusted(_))
        && s.backoff_until.is_none_or(|t| t <= now)
}

/// Whether `eth_getLogs` support is still to be found out (and may be asked now).
fn logs_unknown(s: &EndpointState, now: Instant) -> bool {
    let due = |t: Option<Instant>| t.is_none_or(|t| t <= now);
    match s.logs {
        Capability::Unknown => due(s.logs_backoff_until),
        Capability::NotServed => due(s.logs_retry_at) && due(s.logs_backoff_until),
        Capability::Served | Capability::Lost => false,
    }
}

fn lagging(s: &EndpointState, best: Option<u64>, now: Instant) -> bool {
    match (s.head, best) {
        (Some((n, at)), Some(best)) if now.duration_since(at) < HEAD_FRESHNESS => {
            n + LAG_TOLERANCE < best
        }
        _ => false,
    }
}

/// Why an endpoint cannot serve `need` now, if it cannot.
fn refusal(s: &EndpointState, need: &Need, now: Instant, finality: Finality) -> Option<String> {
    match &s.trust {
        Trust::WrongChain(id) => return Some(format!("on chain {id}")),
        Trust::Untrusted(_) => return Some("distrusted".into()),
        _ => {}
    }
    if let Some(t) = s.backoff_until.filter(|t| *t > now) {
        return Some(format!("backing off for {} s", (t - now).as_secs() + 1));
    }
    if need.logs {
        if s.logs == Capability::NotServed && s.logs_retry_at.is_some_and(|t| t > now) {
            return Some("does not serve eth_getLogs".into());
        }
        if let Some(t) = s.logs_backoff_until.filter(|t| *t > now) {
            return Some(format!(
                "eth_getLogs rate-limited for {} s",
                (t - now).as_secs() + 1
            ));
        }
    }
    if need.finality
        && finality == Finality::Served
        && matches!(s.finality, Capability::NotServed | Capability::Lost)
    {
        return Some("does not answer the finalized block".into());
    }
    None
}

fn growing(base: Duration, strikes: u32, cap: Duration) -> Duration {
    base.saturating_mul(2u32.saturating_pow(strikes.saturating_sub(1).min(10)))
        .min(cap)
}

/// A block as one endpoint reports it.
pub type Header = BlockRef;

/// One endpoint, pinned for a series of calls that must see one chain.
#[derive(Debug, Clone, Copy)]
pub struct Pinned<'a> {
    chain: &'a RpcChain,
    idx: usize,
}

impl Pinned<'_> {
    fn endpoint(&self) -> &Endpoint {
        &self.chain.0.endpoints[self.idx]
    }

    /// Which endpoint this is.
    pub fn key(&self) -> &EndpointKey {
        &self.endpoint().key
    }

    /// `scheme://host[:port]` of it.
    pub fn shown(&self) -> &str {
        &self.endpoint().shown
    }

    /// Runs one call with a timeout, classifies a failure and updates the endpoint's record.
    async fn call<T, F, Fut>(&self, method: &'static str, call: F) -> Result<T, ChainError>
    where
        F: FnOnce(RootProvider<Ethereum>) -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let inner = &self.chain.0;
        let e = self.endpoint();
        inner.stats.calls.fetch_add(1, Ordering::Relaxed);
        inner.telemetry.blockchain(
            "rpc_request",
            Direction::Out,
            serde_json::json!({ "method": method, "endpoint": e.shown }),
        );
        let started = Instant::now();
        let outcome = tokio::time::timeout(CALL_TIMEOUT, call(e.provider.clone())).await;
        let fault = match &outcome {
            Ok(Ok(_)) => None,
            Ok(Err(error)) => Some(classify(method, error)),
            Err(_) => Some(Fault::TimedOut),
        };
        inner.telemetry.blockchain(
            "rpc_response",
            Direction::In,
            serde_json::json!({
                "method": method, "endpoint": e.shown, "ok": fault.is_none(),
                "fault": fault.as_ref().map(|f| format!("{f:?}")),
                "ms": started.elapsed().as_millis() as u64,
            }),
        );
        let (error, json_rpc) = match outcome {
            Ok(Ok(value)) => {
                self.succeeded();
                return Ok(value);
            }
            Ok(Err(error)) => (
                scrub(&error.to_string()),
                matches!(error, RpcError::ErrorResp(_)),
            ),
            Err(_) => (format!("no answer within {CALL_TIMEOUT:?}"), false),
        };
        let fault = fault.expect("a failed call has a fault");
        let detail = format!("{} {method}: {error}", e.shown);
        tracing::debug!(network = %inner.network, %detail, ?fault, "RPC call failed");
        Err(match fault {
            Fault::RangeRefused => ChainError::RangeRefused(detail),
            Fault::NotFound => ChainError::NotFound(detail),
            Fault::Reverted => ChainError::Reverted(detail),
            Fault::RateLimited(retry_after) => {
                // A JSON-RPC refusal of eth_getLogs refuses that method; an HTTP 429 refuses us.
                self.rate_limited(method == GET_LOGS && json_rpc, retry_after, &error);
                ChainError::RateLimited(detail)
            }
            Fault::MethodUnavailable => {
                self.unavailable(method, &error);
                ChainError::MethodUnavailable(detail)
            }
            Fault::TimedOut => {
                self.failed();
                ChainError::TimedOut(detail)
            }
            Fault::Failed => {
                self.failed();
                ChainError::Unavailable(detail)
            }
        })
    }

    fn succeeded(&self) {
        let e = self.endpoint();
        let h = e.health.load(Ordering::Relaxed);
        e.health.store((h + 5).min(100), Ordering::Relaxed);
        let mut s = e.state();
        s.failures = 0;
        s.rate_strikes = 0;
    }

    fn failed(&self) {
        let inner = &self.chain.0;
        let e = self.endpoint();
        inner.stats.failures.fetch_add(1, Ordering::Relaxed);
        let h = e.health.load(Ordering::Relaxed);
        e.health.store(h.saturating_sub(25), Ordering::Relaxed);
        let mut s = e.state();
        s.failures += 1;
        s.backoff_until = Some(
            Instant::now() + growing(Duration::from_millis(500), s.failures, MAX_FAILURE_BACKOFF),
        );
        // Whoever answers at this URL next must show again that it is on our chain.
        if s.trust == Trust::Verified {
            s.trust = Trust::Unverified;
        }
    }

    fn rate_limited(&self, logs_only: bool, retry_after: Option<Duration>, error: &str) {
        let inner = &self.chain.0;
        let e = self.endpoint();
        inner.stats.failures.fetch_add(1, Ordering::Relaxed);
        let h = e.health.load(Ordering::Relaxed);
        e.health.store(h.saturating_sub(10), Ordering::Relaxed);
        if logs_only {
            self.logs_strike(error);
            let mut s = e.state();
            let wait = retry_after.unwrap_or_else(|| {
                growing(Duration::from_secs(1), s.logs_strikes, MAX_RATE_BACKOFF)
            });
            s.logs_backoff_until = Some(Instant::now() + wait);
        } else {
            let mut s = e.state();
            s.rate_strikes += 1;
            let wait = retry_after.unwrap_or_else(|| {
                growing(Duration::from_secs(1), s.rate_strikes, MAX_RATE_BACKOFF)
            });
            s.backoff_until = Some(Instant::now() + wait);
            tracing::warn!(network = %inner.network, endpoint = %e.shown, ?wait, "RPC endpoint rate-limits us; backing off");
        }
    }

    /// One more refusal of `eth_getLogs`; after a few in a row the endpoint is skipped for logs.
    fn logs_strike(&self, error: &str) {
        let e = self.endpoint();
        let mut s = e.state();
        s.logs_strikes += 1;
        if s.logs_strikes >= LOGS_STRIKES && s.logs != Capability::NotServed {
            s.logs = Capability::NotServed;
            s.logs_retry_at = Some(Instant::now() + CAPABILITY_RETRY);
            drop(s);
            self.logs_not_served(error);
        }
    }

    fn logs_not_served(&self, error: &str) {
        let inner = &self.chain.0;
        let e = self.endpoint();
        tracing::warn!(network = %inner.network, endpoint = %e.shown, error, "RPC endpoint does not serve eth_getLogs; skipping it for logs");
        inner.telemetry.raise_problem(
            AlertKind::LogsUnavailable,
            &self.chain.subject(e),
            Severity::Warning,
            format!(
                "the {} endpoint {} does not serve eth_getLogs ({error}); payments are detected through the other endpoints",
                inner.network, e.shown
            ),
        );
    }

    fn unavailable(&self, method: &str, error: &str) {
        let e = self.endpoint();
        if method == GET_LOGS {
            let mut s = e.state();
            s.logs = Capability::NotServed;
            s.logs_retry_at = Some(Instant::now() + CAPABILITY_RETRY);
            drop(s);
            self.logs_not_served(error);
        } else {
            // It cannot serve a basic method: do not come back soon.
            e.state().backoff_until = Some(Instant::now() + MAX_RATE_BACKOFF);
        }
    }

    /// Makes sure the endpoint is on the network's chain (asked once, and again after a failure).
    async fn verify(&self) -> Result<(), ChainError> {
        let inner = &self.chain.0;
        let e = self.endpoint();
        match &e.state().trust {
            Trust::Verified => return Ok(()),
            Trust::WrongChain(id) => {
                return Err(ChainError::WrongChain(format!(
                    "{} is on chain {id}, not {}",
                    e.shown, inner.chain_id
                )))
            }
            Trust::Untrusted(why) => {
                return Err(ChainError::Unavailable(format!(
                    "{} is distrusted: {why}",
                    e.shown
                )))
            }
            Trust::Unverified => {}
        }
        let id = self
            .call("eth_chainId", |p| async move { p.get_chain_id().await })
            .await?;
        let mut s = e.state();
        if id == inner.chain_id {
            s.trust = Trust::Verified;
            return Ok(());
        }
        s.trust = Trust::WrongChain(id);
        drop(s);
        tracing::error!(network = %inner.network, endpoint = %e.shown, chain_id = id, expected = inner.chain_id, "RPC endpoint is on another chain; never using it");
        inner.telemetry.raise_problem(
            AlertKind::EndpointWrongChain,
            &self.chain.subject(e),
            Severity::Critical,
            format!(
                "the {} endpoint {} is on chain {id}, not {}: it is not used (fix networks.rpc_urls)",
                inner.network, e.shown, inner.chain_id
            ),
        );
        Err(ChainError::WrongChain(format!(
            "{} is on chain {id}, not {}",
            e.shown, inner.chain_id
        )))
    }

    async fn block(&self, tag: BlockNumberOrTag) -> Result<Option<Header>, ChainError> {
        let block = match self
            .call("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(tag).await
            })
            .await
        {
            Err(ChainError::NotFound(_)) => None,
            other => other?,
        };
        Ok(block.map(|b| BlockRef {
            number: b.header.number,
            hash: b.header.hash,
            parent: b.header.parent_hash,
            timestamp: b.header.timestamp,
        }))
    }

    /// The newest block this endpoint has.
    pub async fn head(&self) -> Result<Header, ChainError> {
        let head = self.block(BlockNumberOrTag::Latest).await?.ok_or_else(|| {
            ChainError::Unavailable(format!("{} returned no latest block", self.shown()))
        })?;
        self.endpoint().state().head = Some((head.number, Instant::now()));
        Ok(head)
    }

    /// The block at `number` on this endpoint's chain; `None` when it does not have it (yet).
    pub async fn header(&self, number: u64) -> Result<Option<Header>, ChainError> {
        self.block(BlockNumberOrTag::Number(number)).await
    }

    /// The finalized block number: `Some` when served, `None` when the network does not serve the
    /// tag. When the network serves it and this endpoint does not answer it, that is an error (and an
    /// alert), never a silent `None`.
    pub async fn finalized(&self) -> Result<Option<u64>, ChainError> {
        let inner = &self.chain.0;
        let e = self.endpoint();
        let answer = match self.block(BlockNumberOrTag::Finalized).await {
            Ok(Some(b)) => Some(b.number),
            Ok(None) | Err(ChainError::MethodUnavailable(_)) => None,
            Err(other) => return Err(other),
        };
        // Lock order everywhere: an endpoint's state, then the network's finality.
        let mut s = e.state();
        let mut network = inner.finality.lock().expect("finality lock");
        match answer {
            Some(n) => {
                let was = std::mem::replace(&mut s.finality, Capability::Served);
                if *network != Finality::Served {
                    tracing::info!(network = %inner.network, "the network serves the finalized block: settlement waits for it");
                    *network = Finality::Served;
                }
                drop(network);
                drop(s);
                if was == Capability::Lost {
                    inner
                        .telemetry
                        .clear_problem(AlertKind::FinalityLost, &self.chain.subject(e));
                }
                Ok(Some(n))
            }
            None if *network == Finality::Served => {
                let was = std::mem::replace(&mut s.finality, Capability::Lost);
                drop(network);
                drop(s);
                if was != Capability::Lost {
                    tracing::warn!(network = %inner.network, endpoint = %e.shown, "RPC endpoint stopped answering the finalized block");
                    inner.telemetry.raise_problem(
                        AlertKind::FinalityLost,
                        &self.chain.subject(e),
                        Severity::Warning,
                        format!(
                            "the {} endpoint {} no longer answers the finalized block; it is not used to settle payments",
                            inner.network, e.shown
                        ),
                    );
                }
                Err(ChainError::NotServed(format!(
                    "{} does not answer the finalized block",
                    e.shown
                )))
            }
            None => {
                s.finality = Capability::NotServed;
                if *network == Finality::Unknown {
                    tracing::info!(network = %inner.network, "the network does not serve the finalized block: settlement goes by confirmations");
                    *network = Finality::NotServed;
                }
                Ok(None)
            }
        }
    }

    /// Transfer logs of `tokens` to `to` in `[from, to_block]`.
    pub async fn transfer_logs(
        &self,
        tokens: &[RawAddress],
        to: RawAddress,
        from: u64,
        to_block: u64,
    ) -> Result<Vec<Log>, ChainError> {
        let filter = Filter::new()
            .address(tokens.to_vec())
            .event_signature(Transfer::SIGNATURE_HASH)
            .topic2(to.into_word())
            .from_block(from)
            .to_block(to_block);
        let logs = self
            .call(GET_LOGS, |p| async move { p.get_logs(&filter).await })
            .await?;
        let e = self.endpoint();
        let mut s = e.state();
        s.logs_strikes = 0;
        if s.logs != Capability::Served {
            let was = std::mem::replace(&mut s.logs, Capability::Served);
            drop(s);
            if was == Capability::NotServed {
                self.chain
                    .0
                    .telemetry
                    .clear_problem(AlertKind::LogsUnavailable, &self.chain.subject(e));
            }
        }
        Ok(logs)
    }

    /// A transaction's receipt, if this endpoint knows it mined.
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, ChainError> {
        match self
            .call("eth_getTransactionReceipt", |p| async move {
                p.get_transaction_receipt(hash).await
            })
            .await
        {
            Err(ChainError::NotFound(_)) => Ok(None),
            other => other,
        }
    }

    /// `decimals()` of an ERC-20 contract; `None` when the address holds no contract answering it.
    pub async fn decimals(&self, token: RawAddress) -> Result<Option<u8>, ChainError> {
        let request = TransactionRequest::default()
            .with_to(token)
            .with_input(Bytes::from(decimalsCall {}.abi_encode()));
        let answer = match self
            .call("eth_call", |p| async move { p.call(request).await })
            .await
        {
            Ok(bytes) => bytes,
            // A revert means no such function at this address.
            Err(ChainError::Reverted(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(decimalsCall::abi_decode_returns(&answer).ok())
    }
}
