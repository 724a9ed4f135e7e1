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

mod links;
mod problems;
mod redact;

pub use links::LinkStats;
pub use log::{About, Direction, LoggedMessage, MessageLog, Source, LOG_CAPACITY};
pub use problems::{AlertKind, Problem, Severity};
pub use redact::{redact_endpoint, scrub};
pub use samples::{Histogram, HistogramData, Window, WindowSummary, LATENCY_BUCKETS};

use crate::clock::Clock;

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

    /// A socket for `payment_id` was accepted as session `about.session_id`.
    pub fn socket_opened(&self, about: About<'_>) {
        let payment_id = about.payment_id.unwrap_or_default();
        let mut s = self.0.sockets.lock().expect("lock");
        s.total_connections += 1;
        s.active_connections += 1;
        s.last_connection_time = Some(self.now());
        if let Some(i) = s.recently_closed.iter().position(|p| p == payment_id) {
            s.recently_closed.remove(i);
            s.reconnect_attempts += 1;
        }
        drop(s);
        self.frontend("connection_open", about, Direction::In, json!({}));
    }

    /// A socket accepted by [`Telemetry::socket_opened`] closed; `error` when it ended badly.
    pub fn socket_closed(&self, about: About<'_>, error: bool) {
        let payment_id = about.payment_id.unwrap_or_default();
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
            about,
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
    pub fn frontend(&self, kind: &str, about: About<'_>, direction: Direction, data: Value) {
        self.0.log.push(LoggedMessage {
            source: Source::Frontend,
            kind: kind.to_string(),
            payment_id: about.payment_id.map(String::from),
            session_id: about.session_id.map(String::from),
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

    /// Up to `limit` logged messages, newest first.
    pub fn messages(&self, source: Option<Source>, limit: usize) -> Vec<LoggedMessage> {
        self.0.log.newest(source, limit)
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
        t.socket_opened(About {
            payment_id: Some("pay_a"),
            session_id: None,
        });
        t.socket_closed(
            About {
                payment_id: Some("pay_a"),
                session_id: None,
            },
            false,
        );
        t.socket_opened(About {
            payment_id: Some("pay_a"),
            session_id: None,
        });
        t.socket_opened(About {
            payment_id: Some("pay_b"),
            session_id: None,
        });
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
