//! An endpoint and what is known of it: its key (shown without secrets), its state (health,
//! back-offs, head, capabilities, trust), what a caller needs of one, and the rules for choosing.

use std::{
    sync::{atomic::AtomicU64, Mutex},
    time::{Duration, Instant},
};

use alloy::{network::Ethereum, providers::RootProvider};
use sha2::{Digest, Sha256};

use super::{HEAD_FRESHNESS, LAG_TOLERANCE};
use crate::telemetry::redact_endpoint;

/// How an endpoint is named in the store, the logs and alerts: its URL without path or key, and a
/// short digest of the whole URL (two URLs of one provider with different keys stay apart).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointKey(String);

impl EndpointKey {
    pub(super) fn of(url: &str) -> Self {
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
pub(super) enum Trust {
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
pub(super) struct EndpointState {
    pub(super) trust: Trust,
    /// Not used at all until then (failures, rate limits on everything).
    pub(super) backoff_until: Option<Instant>,
    /// Not used for `eth_getLogs` until then.
    pub(super) logs_backoff_until: Option<Instant>,
    pub(super) failures: u32,
    pub(super) rate_strikes: u32,
    pub(super) logs_strikes: u32,
    pub(super) logs: Capability,
    pub(super) logs_retry_at: Option<Instant>,
    pub(super) finality: Capability,
    pub(super) head: Option<(u64, Instant)>,
    /// When it last answered a call, and when a call last failed (refusals and rate limits
    /// included): monitoring counts it as an open connection only while its latest contact answered.
    pub(super) last_answer: Option<Instant>,
    pub(super) last_failure: Option<Instant>,
}

/// One endpoint and how it has been doing.
#[derive(Debug)]
pub(super) struct Endpoint {
    pub(super) key: EndpointKey,
    pub(super) shown: String,
    pub(super) provider: RootProvider<Ethereum>,
    /// 0 (dead) – 100 (healthy); failures cost 25, successes give back 5.
    pub(super) health: AtomicU64,
    pub(super) state: Mutex<EndpointState>,
}

impl Endpoint {
    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, EndpointState> {
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

/// How long an answer keeps an endpoint counted as an open connection.
pub const ANSWER_FRESHNESS: Duration = Duration::from_secs(60);

/// An endpoint as a connection, for `websocket_connections` (seed §11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Never answered, not lately, or its latest contact failed; or on another chain, or
    /// distrusted.
    Closed,
    /// Answering, with good health (≥ 75 of 100).
    Healthy,
    /// Answering, but failing now and then.
    Degraded,
}

/// What the endpoint's latest contacts say about it as a connection.
pub(super) fn connection(s: &EndpointState, health: u64, now: Instant) -> Connection {
    let answered_lately = s
        .last_answer
        .is_some_and(|at| now.duration_since(at) < ANSWER_FRESHNESS);
    let latest_answered = match (s.last_answer, s.last_failure) {
        (Some(answer), Some(failure)) => answer > failure,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let trusted = !matches!(s.trust, Trust::WrongChain(_) | Trust::Untrusted(_));
    match (answered_lately && latest_answered && trusted, health >= 75) {
        (false, _) => Connection::Closed,
        (true, true) => Connection::Healthy,
        (true, false) => Connection::Degraded,
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
    /// As a connection.
    pub connection: Connection,
}

pub(super) fn usable(s: &EndpointState, now: Instant) -> bool {
    !matches!(s.trust, Trust::WrongChain(_) | Trust::Untrusted(_))
        && s.backoff_until.is_none_or(|t| t <= now)
}

/// Whether `eth_getLogs` support is still to be found out (and may be asked now).
pub(super) fn logs_unknown(s: &EndpointState, now: Instant) -> bool {
    let due = |t: Option<Instant>| t.is_none_or(|t| t <= now);
    match s.logs {
        Capability::Unknown => due(s.logs_backoff_until),
        Capability::NotServed => due(s.logs_retry_at) && due(s.logs_backoff_until),
        Capability::Served | Capability::Lost => false,
    }
}

pub(super) fn lagging(s: &EndpointState, best: Option<u64>, now: Instant) -> bool {
    match (s.head, best) {
        (Some((n, at)), Some(best)) if now.duration_since(at) < HEAD_FRESHNESS => {
            n + LAG_TOLERANCE < best
        }
        _ => false,
    }
}

/// Why an endpoint cannot serve `need` now, if it cannot.
pub(super) fn refusal(
    s: &EndpointState,
    need: &Need,
    now: Instant,
    finality: Finality,
) -> Option<String> {
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

pub(super) fn growing(base: Duration, strikes: u32, cap: Duration) -> Duration {
    base.saturating_mul(2u32.saturating_pow(strikes.saturating_sub(1).min(10)))
        .min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_counts_as_a_connection_only_while_its_latest_contact_answered() {
        let now = Instant::now();
        let mut s = EndpointState::default();
        assert_eq!(
            connection(&s, 100, now),
            Connection::Closed,
            "never reached"
        );
        s.last_answer = Some(now);
        assert_eq!(connection(&s, 100, now), Connection::Healthy);
        assert_eq!(connection(&s, 50, now), Connection::Degraded);
        s.last_failure = Some(now + Duration::from_millis(1));
        assert_eq!(
            connection(&s, 100, now + Duration::from_millis(2)),
            Connection::Closed,
            "unreachable since its last answer"
        );
        s.last_failure = None;
        assert_eq!(
            connection(&s, 100, now + ANSWER_FRESHNESS),
            Connection::Closed,
            "silent for too long"
        );
        s.trust = Trust::WrongChain(97);
        assert_eq!(connection(&s, 100, now), Connection::Closed);
    }
}
