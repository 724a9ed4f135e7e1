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

mod endpoint;
mod pinned;

use endpoint::{connection, lagging, logs_unknown, refusal, usable, Endpoint, Trust};
pub use endpoint::{
    Capability, Connection, EndpointKey, EndpointView, Finality, Need, RpcStats, ANSWER_FRESHNESS,
};
pub use pinned::Pinned;

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use alloy::{primitives::Address as RawAddress, providers::RootProvider};

use super::ChainError;
use crate::telemetry::{redact_endpoint, AlertKind, Severity, Telemetry};

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
                let health = e.health.load(Ordering::Relaxed);
                EndpointView {
                    key: e.key.clone(),
                    health,
                    connection: connection(&s, health, now),
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
