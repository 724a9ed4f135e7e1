//! Telemetry: measured figures for the monitoring endpoints, alerts and `/metrics` — socket counts,
//! node connection state, the WebSocket message log, block → push latency, validation time, API
//! response time and error rate. Everything is recorded where it happens (the watcher, the RPC
//! client, the socket handlers, the HTTP layer) and read as snapshots; recording never blocks on I/O.
//!
//! Block → push latency is measured from the moment the watcher learned of a new head (its
//! WebSocket announcement, or the poll that found it) to the moment a socket sent the resulting
//! `payment_status_update`.

mod log;
mod samples;

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

pub use log::{Direction, LoggedMessage, MessageLog, Source, LOG_CAPACITY};
pub use samples::{Histogram, HistogramData, Window, WindowSummary, LATENCY_BUCKETS};

use crate::{clock::Clock, payments::ObservedTransfer};

/// Samples kept for averages and percentiles.
const WINDOW: usize = 2000;
/// Payment ids remembered after their socket closed, to count reconnects.
const RECENTLY_CLOSED: usize = 10_000;

/// Shared handle; cheap to clone.
#[derive(Debug, Clone)]
pub struct Telemetry(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    clock: Arc<dyn Clock>,
    started: Instant,
    log: MessageLog,
    sockets: Mutex<SocketStats>,
    links: Mutex<BTreeMap<String, LinkStats>>,
    heads: Mutex<HashMap<String, (u64, Instant)>>,
    push_latency: Window,
    push_histogram: Histogram,
    validation: Window,
    api: Window,
    api_requests: AtomicU64,
    api_errors: AtomicU64,
    problems: Mutex<BTreeMap<String, Problem>>,
}

/// How urgent a problem or alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look.
    Warning,
    /// Payments are at risk or not being detected.
    Critical,
}

impl Severity {
    /// The API spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What an alert is about: its stable name in the API (`kind`) and its id's first part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AlertKind {
    /// Few of the recently closed payments were paid.
    LowSuccessRate,
    /// Many API requests failed with a server error.
    HighErrorRate,
    /// No node of a network has answered for a while.
    ChainDisconnected,
    /// The watcher is far behind the head.
    BlocksBehind,
    /// Transfers arrived for a cancelled or already paid sale.
    InboxLinkedTransfers,
    /// A token's contract disagrees with its configuration; no payment can be made in it.
    TokenDisabled,
    /// This computer's clock differs from the chain's.
    ClockSkew,
    /// No endpoint of a network serves `eth_getLogs`.
    NoLogsEndpoint,
    /// One endpoint does not serve `eth_getLogs`.
    LogsUnavailable,
    /// No endpoint answers the finalized block although the network serves it.
    FinalityUnavailable,
    /// One endpoint stopped answering the finalized block.
    FinalityLost,
    /// A payment settled on one endpoint's word.
    SingleSourceSettlement,
    /// An endpoint is on another chain.
    EndpointWrongChain,
    /// An endpoint reported what others say is not there.
    EndpointUntrusted,
}

impl AlertKind {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::LowSuccessRate => "low_success_rate",
            AlertKind::HighErrorRate => "high_error_rate",
            AlertKind::ChainDisconnected => "chain_disconnected",
            AlertKind::BlocksBehind => "blocks_behind",
            AlertKind::InboxLinkedTransfers => "inbox_linked_transfers",
            AlertKind::TokenDisabled => "token_disabled",
            AlertKind::ClockSkew => "clock_skew",
            AlertKind::NoLogsEndpoint => "no_logs_endpoint",
            AlertKind::LogsUnavailable => "logs_unavailable",
            AlertKind::FinalityUnavailable => "finality_unavailable",
            AlertKind::FinalityLost => "finality_lost",
            AlertKind::SingleSourceSettlement => "single_source_settlement",
            AlertKind::EndpointWrongChain => "endpoint_wrong_chain",
            AlertKind::EndpointUntrusted => "endpoint_untrusted",
        }
    }

    /// The id of this kind's alert about `subject` (a network, an endpoint, a payment): `kind:subject`.
    pub fn id(self, subject: &str) -> String {
        format!("{}:{subject}", self.as_str())
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A condition found where it happens (the RPC client, the watcher) that stays until cleared; the
/// alert rules turn each into an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Stable id, e.g. `logs_unavailable:bsc:https://bsc.example#a1b2c3`.
    pub id: String,
    /// What it is about.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// Plain words.
    pub message: String,
    /// When raised.
    pub since: DateTime<Utc>,
    /// Clears by itself at this time (for one-off happenings), else stays until cleared.
    pub until: Option<DateTime<Utc>>,
}

/// Customer-facing sockets (seed §11.2 `frontend`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SocketStats {
    /// Sockets ever accepted.
    pub total_connections: u64,
    /// Open now.
    pub active_connections: u64,
    /// Refused (limits), unknown ids, send failures, slow clients dropped.
    pub connection_errors: u64,
    /// Connections for a payment whose earlier socket had closed (a client reconnecting).
    pub reconnect_attempts: u64,
    /// Last accepted.
    pub last_connection_time: Option<DateTime<Utc>>,
    /// Last closed.
    pub last_disconnection_time: Option<DateTime<Utc>>,
    recently_closed: VecDeque<String>,
}

/// One network's node connection (seed §11.2 `blockchain`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkStats {
    /// A WebSocket subscription is live, or (HTTP only) the last pass reached the node.
    pub is_connected: bool,
    /// The endpoint in use, as `scheme://host[:port]` (paths and keys removed).
    pub current_endpoint: Option<String>,
    /// WebSocket connection attempts.
    pub total_connection_attempts: u64,
    /// Attempts after the first.
    pub reconnect_attempts: u64,
    /// Live subscriptions (new heads, logs).
    pub active_subscriptions: u64,
    /// Last successful WebSocket connection.
    pub last_connection_time: Option<DateTime<Utc>>,
    /// Last lost WebSocket connection.
    pub last_disconnection_time: Option<DateTime<Utc>>,
    /// The last watcher pass reached a node.
    pub rpc_ok: bool,
    /// When the node was last unreachable after having been reached (for the disconnection alert).
    pub down_since: Option<DateTime<Utc>>,
    /// Last block fully processed.
    pub last_block_processed: u64,
    /// Newest head seen.
    pub head: u64,
    /// Transfer logs to the receive address seen by this process.
    pub events_detected: u64,
    /// Reorgs detected.
    pub reorgs: u64,
    /// Last error of a pass.
    pub last_error: Option<String>,
    /// Watcher passes finished, well or not (a pass counter for whoever waits for one).
    pub passes: u64,
}

impl LinkStats {
    /// Head minus last processed block.
    pub fn blocks_behind(&self) -> u64 {
        self.head.saturating_sub(self.last_block_processed)
    }
}

/// API request figures over the recent window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiStats {
    /// Requests since start.
    pub requests: u64,
    /// Responses ≥ 500 since start.
    pub server_errors: u64,
    /// Response time over the recent window; `flagged_percent` is the error rate (status ≥ 500).
    pub recent: WindowSummary,
}

/// `scheme://host[:port]` of a URL: never shows paths or query strings, which may carry API keys.
pub fn redact_endpoint(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    if scheme.is_empty() {
        host.to_string()
    } else {
        format!("{scheme}://{host}")
    }
}

/// `text` (an error message) with every URL in it shown as [`redact_endpoint`] shows it (scheme,
/// host and port): HTTP clients put the URL they called, provider key and all, in their errors.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = ["http://", "https://", "ws://", "wss://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || "()\"'<>,;[]{}".contains(c))
            .unwrap_or(tail.len());
        out.push_str(&redact_endpoint(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

impl Telemetry {
    fn now(&self) -> DateTime<Utc> {
        self.0.clock.now()
    }

    /// Fresh figures, uptime counting from now; times of day from `clock`. Durations (latency,
    /// response times) are measured with the monotonic `Instant`, which a wall clock cannot stand
    /// in for.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self(Arc::new(Inner {
            clock,
            started: Instant::now(),
            log: MessageLog::default(),
            sockets: Mutex::default(),
            links: Mutex::default(),
            heads: Mutex::default(),
            push_latency: Window::new(WINDOW),
            push_histogram: Histogram::default(),
            validation: Window::new(WINDOW),
            api: Window::new(WINDOW),
            api_requests: AtomicU64::new(0),
            api_errors: AtomicU64::new(0),
            problems: Mutex::default(),
        }))
    }

    /// Time since start.
    pub fn uptime(&self) -> Duration {
        self.0.started.elapsed()
    }

    // --- customer-facing sockets -------------------------------------------------------------

    /// A socket for `payment_id` was accepted.
    pub fn socket_opened(&self, payment_id: &str) {
        let mut s = self.0.sockets.lock().expect("lock");
        s.total_connections += 1;
        s.active_connections += 1;
        s.last_connection_time = Some(self.now());
        if let Some(i) = s.recently_closed.iter().position(|p| p == payment_id) {
            s.recently_closed.remove(i);
            s.reconnect_attempts += 1;
        }
        drop(s);
        self.frontend(
            "connection_open",
            Some(payment_id),
            Direction::In,
            json!({}),
        );
    }

    /// A socket accepted by [`Telemetry::socket_opened`] closed; `error` when it ended badly.
    pub fn socket_closed(&self, payment_id: &str, error: bool) {
        let mut s = self.0.sockets.lock().expect("lock");
        s.active_connections = s.active_connections.saturating_sub(1);
        s.last_disconnection_time = Some(self.now());
        if error {
            s.connection_errors += 1;
        }
        if s.recently_closed.len() == RECENTLY_CLOSED {
            s.recently_closed.pop_front();
        }
        s.recently_closed.push_back(payment_id.to_string());
        drop(s);
        self.frontend(
            "connection_closed",
            Some(payment_id),
            Direction::Out,
            json!({ "error": error }),
        );
    }

    /// A socket was refused or failed before it was accepted.
    pub fn socket_refused(&self) {
        self.0.sockets.lock().expect("lock").connection_errors += 1;
    }

    /// The socket figures now.
    pub fn sockets(&self) -> SocketStats {
        let mut s = self.0.sockets.lock().expect("lock").clone();
        s.recently_closed.clear();
        s
    }

    /// Logs a message sent or received on a customer-facing socket.
    pub fn frontend(
        &self,
        kind: &str,
        payment_id: Option<&str>,
        direction: Direction,
        data: Value,
    ) {
        self.0.log.push(LoggedMessage {
            source: Source::Frontend,
            kind: kind.to_string(),
            payment_id: payment_id.map(String::from),
            direction,
            data,
            at: self.now(),
            seq: 0,
        });
    }

    /// A `payment_status_update` caused by the chain went out on a socket: records the latency
    /// since the watcher learned of the newest head of `network`.
    pub fn chain_push_sent(&self, network: &str) {
        self.push_sent_at(network, Instant::now());
    }

    fn push_sent_at(&self, network: &str, at: Instant) {
        let arrived = self.0.heads.lock().expect("lock").get(network).map(|h| h.1);
        if let Some(arrived) = arrived {
            let took = at.saturating_duration_since(arrived);
            self.0.push_latency.record(took, false);
            self.0.push_histogram.observe(took);
        }
    }

    /// Block → push latency over the recent window.
    pub fn push_latency(&self) -> WindowSummary {
        self.0.push_latency.summary()
    }

    /// Block → push latency since start, for Prometheus.
    pub fn push_histogram(&self) -> HistogramData {
        self.0.push_histogram.snapshot()
    }

    // --- blockchain --------------------------------------------------------------------------

    fn link<R>(&self, network: &str, f: impl FnOnce(&mut LinkStats) -> R) -> R {
        let mut links = self.0.links.lock().expect("lock");
        f(links.entry(network.to_string()).or_default())
    }

    /// Logs a message exchanged with a node.
    pub fn blockchain(&self, kind: &str, direction: Direction, data: Value) {
        self.0.log.push(LoggedMessage {
            source: Source::Blockchain,
            kind: kind.to_string(),
            payment_id: None,
            direction,
            data,
            at: self.now(),
            seq: 0,
        });
    }

    /// The watcher of `network` is about to open a WebSocket to `url`.
    pub fn link_connecting(&self, network: &str, url: &str) {
        let endpoint = redact_endpoint(url);
        self.link(network, |l| {
            if l.total_connection_attempts > 0 {
                l.reconnect_attempts += 1;
            }
            l.total_connection_attempts += 1;
        });
        self.blockchain(
            "connecting",
            Direction::Out,
            json!({ "network": network, "endpoint": endpoint }),
        );
    }

    /// Subscriptions on `url` are live.
    pub fn link_connected(&self, network: &str, url: &str, subscriptions: u64) {
        let endpoint = redact_endpoint(url);
        self.link(network, |l| {
            l.is_connected = true;
            l.current_endpoint = Some(endpoint.clone());
            l.active_subscriptions = subscriptions;
            l.last_connection_time = Some(self.now());
        });
        self.blockchain(
            "subscribed",
            Direction::In,
            json!({ "network": network, "endpoint": endpoint, "subscriptions": ["newHeads", "logs"] }),
        );
    }

    /// The WebSocket to `url` closed or could not open.
    pub fn link_disconnected(&self, network: &str, url: &str, reason: &str) {
        let endpoint = redact_endpoint(url);
        let was_connected = self.link(network, |l| {
            let was = l.active_subscriptions > 0;
            if was {
                l.last_disconnection_time = Some(self.now());
            }
            l.active_subscriptions = 0;
            l.is_connected = l.rpc_ok;
            was
        });
        let kind = if was_connected {
            "disconnected"
        } else {
            "connect_failed"
        };
        self.blockchain(
            kind,
            Direction::In,
            json!({ "network": network, "endpoint": endpoint, "reason": reason }),
        );
    }

    /// A new head was announced (or found by a poll).
    pub fn head_seen(&self, network: &str, number: u64) {
        self.head_seen_at(network, number, Instant::now());
    }

    fn head_seen_at(&self, network: &str, number: u64, at: Instant) {
        let mut heads = self.0.heads.lock().expect("lock");
        let newer = heads.get(network).is_none_or(|h| number > h.0);
        if newer {
            heads.insert(network.to_string(), (number, at));
        }
        drop(heads);
        self.link(network, |l| l.head = l.head.max(number));
    }

    /// A watcher pass of `network` finished: `result` is the RPC endpoint used and the last block
    /// processed, or the error.
    pub fn pass_finished(&self, network: &str, result: Result<(&str, u64), &str>) {
        self.link(network, |l| l.passes += 1);
        self.link(network, |l| match result {
            Ok((endpoint, last_block)) => {
                l.rpc_ok = true;
                l.down_since = None;
                l.last_error = None;
                l.last_block_processed = l.last_block_processed.max(last_block);
                if l.active_subscriptions == 0 {
                    l.is_connected = true;
                    l.current_endpoint = Some(redact_endpoint(endpoint));
                }
            }
            Err(error) => {
                if l.rpc_ok || l.down_since.is_none() {
                    l.down_since = Some(self.now());
                }
                l.rpc_ok = false;
                l.is_connected = l.active_subscriptions > 0;
                l.last_error = Some(error.to_string());
            }
        });
    }

    /// The watcher found a reorg.
    pub fn reorg(&self, network: &str, block: u64) {
        self.link(network, |l| l.reorgs += 1);
        self.blockchain(
            "reorg",
            Direction::In,
            json!({ "network": network, "block": block }),
        );
    }

    /// A Transfer log to the receive address was seen.
    pub fn transfer_seen(&self, t: &ObservedTransfer, token: &str) {
        self.link(t.network.as_str(), |l| l.events_detected += 1);
        self.blockchain(
            "transfer_event",
            Direction::In,
            json!({
                "from": t.from.checksummed(),
                "to": t.to.checksummed(),
                "value": t.value.to_string(),
                "token": token,
                "transactionHash": t.tx_hash.to_string(),
                "blockNumber": t.block_number,
            }),
        );
    }

    /// Every network's connection figures.
    pub fn links(&self) -> BTreeMap<String, LinkStats> {
        self.0.links.lock().expect("lock").clone()
    }

    // --- validation and API ------------------------------------------------------------------

    /// A transaction was validated (a manual check, or the watcher matching a transfer).
    pub fn validation(&self, took: Duration, passed: bool) {
        self.0.validation.record(took, !passed);
    }

    /// Validation time over the recent window; `flagged_percent` is the failure share.
    pub fn validations(&self) -> WindowSummary {
        self.0.validation.summary()
    }

    /// An API request was answered with `status`.
    pub fn api_response(&self, took: Duration, status: u16) {
        self.0.api_requests.fetch_add(1, Ordering::Relaxed);
        let error = status >= 500;
        if error {
            self.0.api_errors.fetch_add(1, Ordering::Relaxed);
        }
        self.0.api.record(took, error);
    }

    /// API figures.
    pub fn api(&self) -> ApiStats {
        ApiStats {
            requests: self.0.api_requests.load(Ordering::Relaxed),
            server_errors: self.0.api_errors.load(Ordering::Relaxed),
            recent: self.0.api.summary(),
        }
    }

    // --- problems ----------------------------------------------------------------------------

    /// Records a standing problem of `kind` about `subject` (again: the message is updated,
    /// `since` kept).
    pub fn raise_problem(
        &self,
        kind: AlertKind,
        subject: &str,
        severity: Severity,
        message: String,
    ) {
        self.raise(kind, subject, severity, message, None);
    }

    /// Records a one-off happening worth an alert for `lasting` from now.
    pub fn raise_for(
        &self,
        kind: AlertKind,
        subject: &str,
        severity: Severity,
        message: String,
        lasting: Duration,
    ) {
        let until = self.now() + chrono::Duration::from_std(lasting).unwrap_or_default();
        self.raise(kind, subject, severity, message, Some(until));
    }

    fn raise(
        &self,
        kind: AlertKind,
        subject: &str,
        severity: Severity,
        message: String,
        until: Option<DateTime<Utc>>,
    ) {
        let id = kind.id(subject);
        let mut problems = self.0.problems.lock().expect("lock");
        let since = problems.get(&id).map_or_else(|| self.now(), |p| p.since);
        problems.insert(
            id.clone(),
            Problem {
                id,
                kind,
                severity,
                message,
                since,
                until,
            },
        );
    }

    /// The problem of `kind` about `subject` is over.
    pub fn clear_problem(&self, kind: AlertKind, subject: &str) {
        self.0
            .problems
            .lock()
            .expect("lock")
            .remove(&kind.id(subject));
    }

    /// The standing problems (expired one-offs dropped).
    pub fn problems(&self) -> Vec<Problem> {
        let now = self.now();
        let mut problems = self.0.problems.lock().expect("lock");
        problems.retain(|_, p| p.until.is_none_or(|u| u > now));
        problems.values().cloned().collect()
    }

    /// Up to `limit` logged messages, newest first.
    pub fn messages(&self, limit: usize) -> Vec<LoggedMessage> {
        self.0.log.newest(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_error_messages_lose_their_paths_and_keys() {
        assert_eq!(
            scrub("error sending request for url (http://127.0.0.1:8545/?apikey=K3Y) after 5 s"),
            "error sending request for url (http://127.0.0.1:8545) after 5 s"
        );
        assert_eq!(
            scrub("wss://user:pw@node.example/ws/K3Y failed; https://a.example/v1/K3Y too"),
            "wss://node.example failed; https://a.example too"
        );
        assert_eq!(scrub("no URL here"), "no URL here");
    }

    #[test]
    fn endpoints_are_shown_without_paths_or_keys() {
        assert_eq!(
            redact_endpoint("https://bsc.example/v1/SECRETKEY?x=1"),
            "https://bsc.example"
        );
        assert_eq!(
            redact_endpoint("wss://user:pw@node:8546/ws"),
            "wss://node:8546"
        );
    }

    #[test]
    fn a_socket_for_a_payment_seen_before_counts_as_a_reconnect() {
        let t = Telemetry::new(Arc::new(crate::clock::SystemClock));
        t.socket_opened("pay_a");
        t.socket_closed("pay_a", false);
        t.socket_opened("pay_a");
        t.socket_opened("pay_b");
        let s = t.sockets();
        assert_eq!(
            (
                s.total_connections,
                s.active_connections,
                s.reconnect_attempts
            ),
            (3, 2, 1)
        );
        assert!(s.last_connection_time.is_some() && s.last_disconnection_time.is_some());
    }

    #[test]
    fn a_push_is_timed_from_the_newest_head() {
        let t = Telemetry::new(Arc::new(crate::clock::SystemClock));
        t.chain_push_sent("bsc"); // no head yet: nothing to time
        assert_eq!(t.push_latency().count, 0);
        let seen = Instant::now();
        t.head_seen_at("bsc", 10, seen);
        t.push_sent_at("bsc", seen + Duration::from_millis(5));
        let l = t.push_latency();
        assert_eq!(l.count, 1);
        assert!((l.mean_ms - 5.0).abs() < 0.01, "{l:?}");
        assert_eq!(t.push_histogram().count, 1);
    }

    #[test]
    fn a_failed_pass_marks_the_node_down_until_one_succeeds() {
        let t = Telemetry::new(Arc::new(crate::clock::SystemClock));
        t.pass_finished("bsc", Err("connection refused"));
        let l = &t.links()["bsc"];
        assert!(!l.is_connected && !l.rpc_ok && l.down_since.is_some());
        t.head_seen("bsc", 12);
        t.pass_finished("bsc", Ok(("http://127.0.0.1:8545/", 10)));
        let l = &t.links()["bsc"];
        assert!(l.is_connected && l.down_since.is_none());
        assert_eq!(l.current_endpoint.as_deref(), Some("http://127.0.0.1:8545"));
        assert_eq!(l.blocks_behind(), 2);
    }

    #[test]
    fn only_server_errors_count_toward_the_api_error_rate() {
        let t = Telemetry::new(Arc::new(crate::clock::SystemClock));
        for status in [200, 404, 422, 503] {
            t.api_response(Duration::from_millis(2), status);
        }
        let api = t.api();
        assert_eq!((api.requests, api.server_errors), (4, 1));
        assert!((api.recent.flagged_percent - 25.0).abs() < 1e-9);
    }
}
