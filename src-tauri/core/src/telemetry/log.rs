//! The WebSocket message log (seed §14.3): what went over the customer-facing sockets ("frontend")
//! and over the node connections ("blockchain"), each in its own bounded ring so chatty RPC traffic
//! never pushes the payment messages out.

use std::{collections::VecDeque, sync::Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Entries kept per source.
pub const LOG_CAPACITY: usize = 500;

/// Which side a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Sockets of POS screens, customer displays and integrators.
    Frontend,
    /// Connections to blockchain nodes (subscriptions, RPC requests and responses).
    Blockchain,
}

impl Source {
    /// `frontend` or `blockchain`, as the seed names them.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Frontend => "frontend",
            Source::Blockchain => "blockchain",
        }
    }
}

/// Which way a message went, seen from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received by the server.
    In,
    /// Sent by the server.
    Out,
}

impl Direction {
    /// `in` or `out`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// One logged message.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedMessage {
    /// Frontend or blockchain.
    pub source: Source,
    /// Message type, e.g. `payment_status_update`, `transfer_event`, `connected`.
    pub kind: String,
    /// The payment it concerns, if any.
    pub payment_id: Option<String>,
    /// The socket session it went over (the `sessionId` of its `connection_ack`), if any.
    pub session_id: Option<String>,
    /// In or out.
    pub direction: Direction,
    /// The payload (or a summary of it).
    pub data: Value,
    /// When.
    pub at: DateTime<Utc>,
    /// Order of arrival in the log (set by [`MessageLog::push`]): ties of `at` are broken by it, so
    /// the order holds whatever the clock does (a test's clock may stand still).
    pub seq: u64,
}

/// Who a frontend message belongs to: the payment it concerns and the socket session it went over.
#[derive(Debug, Clone, Copy, Default)]
pub struct About<'a> {
    /// The payment, if any.
    pub payment_id: Option<&'a str>,
    /// The socket session, if any.
    pub session_id: Option<&'a str>,
}

/// Two bounded rings, one per source.
#[derive(Debug, Default)]
pub struct MessageLog {
    frontend: Mutex<VecDeque<LoggedMessage>>,
    blockchain: Mutex<VecDeque<LoggedMessage>>,
    next: std::sync::atomic::AtomicU64,
}

impl MessageLog {
    /// Appends, evicting the oldest entry of that source when full.
    pub fn push(&self, mut message: LoggedMessage) {
        message.seq = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ring = match message.source {
            Source::Frontend => &self.frontend,
            Source::Blockchain => &self.blockchain,
        };
        let mut ring = ring.lock().expect("lock");
        if ring.len() == LOG_CAPACITY {
            ring.pop_front();
        }
        ring.push_back(message);
    }

    /// Up to `limit` messages of `source` — or of each source when `None` — newest first. The limit
    /// is per source, so a flood of node traffic never crowds the customer-facing messages out.
    pub fn newest(&self, source: Option<Source>, limit: usize) -> Vec<LoggedMessage> {
        let newest_of = |ring: &Mutex<VecDeque<LoggedMessage>>| -> Vec<LoggedMessage> {
            ring.lock()
                .expect("lock")
                .iter()
                .rev()
                .take(limit)
                .cloned()
                .collect()
        };
        let mut all = Vec::new();
        if source != Some(Source::Blockchain) {
            all.extend(newest_of(&self.frontend));
        }
        if source != Some(Source::Frontend) {
            all.extend(newest_of(&self.blockchain));
        }
        all.sort_by_key(|m| std::cmp::Reverse((m.at, m.seq)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(source: Source, kind: &str, second: i64) -> LoggedMessage {
        LoggedMessage {
            source,
            kind: kind.into(),
            payment_id: None,
            session_id: None,
            direction: Direction::Out,
            data: json!({}),
            at: DateTime::from_timestamp(second, 0).unwrap(),
            seq: 0,
        }
    }

    #[test]
    fn newest_messages_come_first_across_both_sources() {
        let log = MessageLog::default();
        log.push(message(Source::Frontend, "a", 1));
        log.push(message(Source::Blockchain, "b", 3));
        log.push(message(Source::Frontend, "c", 2));
        let kinds: Vec<_> = log.newest(None, 2).into_iter().map(|m| m.kind).collect();
        assert_eq!(kinds, ["b", "c", "a"], "up to two of each source");
        let frontend: Vec<_> = log
            .newest(Some(Source::Frontend), 1)
            .into_iter()
            .map(|m| m.kind)
            .collect();
        assert_eq!(frontend, ["c"]);
    }

    #[test]
    fn a_chatty_source_cannot_evict_the_other() {
        let log = MessageLog::default();
        log.push(message(Source::Frontend, "kept", 0));
        for i in 0..(LOG_CAPACITY as i64 * 2) {
            log.push(message(Source::Blockchain, "rpc", i + 1));
        }
        let all = log.newest(None, usize::MAX);
        assert_eq!(all.len(), LOG_CAPACITY + 1);
        assert!(all.iter().any(|m| m.kind == "kept"));
        let frontend = log.newest(Some(Source::Frontend), 50);
        assert_eq!(frontend.len(), 1);
        assert_eq!(frontend[0].kind, "kept");
    }
}
