//! Each network's node connection as the watcher and its subscriptions see it (seed §11.2
//! `blockchain`): connection state, heads, passes, reorgs, transfers seen.

use std::{collections::BTreeMap, time::Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{redact_endpoint, Direction, LoggedMessage, Source, Telemetry};
use crate::payments::ObservedTransfer;

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

impl Telemetry {
    pub(super) fn link<R>(&self, network: &str, f: impl FnOnce(&mut LinkStats) -> R) -> R {
        let mut links = self.0.links.lock().expect("lock");
        f(links.entry(network.to_string()).or_default())
    }

    /// Logs a message exchanged with a node.
    pub fn blockchain(&self, kind: &str, direction: Direction, data: Value) {
        self.0.log.push(LoggedMessage {
            source: Source::Blockchain,
            kind: kind.to_string(),
            payment_id: None,
            session_id: None,
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

    pub(super) fn head_seen_at(&self, network: &str, number: u64, at: Instant) {
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
}
