//! Whether the shop is seeing payments right now, per network — what every cashier screen and the
//! customer display show, so nobody is asked to pay into a sale that nobody watches.
//!
//! A network is *watched* when its watcher's last pass reached a node that serves `eth_getLogs`
//! and the watcher is close to the head. Otherwise the reason, most basic first:
//! - `disabled`: the chain watcher is off, or the network has no endpoint;
//! - `starting`: no watcher pass has finished yet;
//! - `no_node`: the last passes failed for [`GRACE`] or longer and no subscription is live;
//! - `logs_refused`: the nodes answer, but none serves `eth_getLogs`;
//! - `behind`: the watcher is more than [`MAX_BLOCKS_BEHIND`] blocks behind the head.
//!
//! One failed pass is not enough (a public endpoint drops a call now and then): a node must stay
//! unreachable for [`GRACE`] before the screens turn red, well within the 10 s a cashier may wait.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    chain::rpc::{Capability, EndpointView},
    telemetry::LinkStats,
};

/// How long the node must stay unreachable before the screens say so.
pub const GRACE: Duration = Duration::from_secs(4);
/// More blocks behind the head than this, and payments are seen late: the screens say so.
pub const MAX_BLOCKS_BEHIND: u64 = 20;

/// Why payments are not being seen on a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blind {
    /// The chain watcher is off, or the network has no endpoint.
    Disabled,
    /// No watcher pass has finished yet.
    Starting,
    /// No node has answered for a while.
    NoNode,
    /// Nodes answer, but none serves `eth_getLogs`.
    LogsRefused,
    /// The watcher is far behind the head.
    Behind,
}

impl Blind {
    /// The stable code (API and UI translations).
    pub fn code(self) -> &'static str {
        match self {
            Blind::Disabled => "disabled",
            Blind::Starting => "starting",
            Blind::NoNode => "no_node",
            Blind::LogsRefused => "logs_refused",
            Blind::Behind => "behind",
        }
    }
}

/// One network, as the screens show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkWatch {
    /// The network id.
    pub network: String,
    /// `None` while payments are seen; otherwise why not.
    pub blind: Option<Blind>,
    /// The head the watcher knows, and the last block it processed.
    pub head: u64,
    /// See `head`.
    pub last_block_processed: u64,
}

impl NetworkWatch {
    /// Whether payments on this network are being seen.
    pub fn seeing_payments(&self) -> bool {
        self.blind.is_none()
    }
}

/// How one network is watched, from its watcher's link and its endpoints, at `now`.
pub fn assess(
    network: &str,
    enabled: bool,
    link: Option<&LinkStats>,
    endpoints: &[EndpointView],
    now: DateTime<Utc>,
) -> NetworkWatch {
    let watch = |blind, link: Option<&LinkStats>| NetworkWatch {
        network: network.to_string(),
        blind,
        head: link.map_or(0, |l| l.head),
        last_block_processed: link.map_or(0, |l| l.last_block_processed),
    };
    if !enabled || endpoints.is_empty() {
        return watch(Some(Blind::Disabled), link);
    }
    let Some(link) = link.filter(|l| l.passes > 0 || l.active_subscriptions > 0) else {
        return watch(Some(Blind::Starting), link);
    };
    let logs_refused = endpoints
        .iter()
        .all(|e| matches!(e.logs, Capability::NotServed | Capability::Lost));
    if logs_refused {
        return watch(Some(Blind::LogsRefused), Some(link));
    }
    let down_for = link
        .down_since
        .filter(|_| !link.rpc_ok)
        .and_then(|since| (now - since).to_std().ok());
    if down_for.is_some_and(|d| d >= GRACE) && link.active_subscriptions == 0 {
        return watch(Some(Blind::NoNode), Some(link));
    }
    if link.blocks_behind() > MAX_BLOCKS_BEHIND {
        return watch(Some(Blind::Behind), Some(link));
    }
    watch(None, Some(link))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::rpc::{Connection, EndpointKey};

    fn endpoint(logs: Capability) -> EndpointView {
        EndpointView {
            key: EndpointKey::from_store("http://node".into()),
            health: 100,
            status: "ok",
            head: Some(100),
            logs,
            finality: Capability::Served,
            connection: Connection::Healthy,
        }
    }

    fn passed() -> LinkStats {
        LinkStats {
            rpc_ok: true,
            passes: 3,
            head: 100,
            last_block_processed: 100,
            ..LinkStats::default()
        }
    }

    fn blind(
        link: Option<&LinkStats>,
        endpoints: &[EndpointView],
        now: DateTime<Utc>,
    ) -> Option<&'static str> {
        assess("bsc", true, link, endpoints, now)
            .blind
            .map(Blind::code)
    }

    #[test]
    fn a_watcher_that_passes_close_to_the_head_sees_payments() {
        let now = Utc::now();
        assert_eq!(
            blind(Some(&passed()), &[endpoint(Capability::Served)], now),
            None
        );
    }

    #[test]
    fn without_endpoints_or_before_a_first_pass_nothing_is_seen() {
        let now = Utc::now();
        assert_eq!(blind(Some(&passed()), &[], now), Some("disabled"));
        assert_eq!(
            assess(
                "bsc",
                false,
                Some(&passed()),
                &[endpoint(Capability::Served)],
                now
            )
            .blind
            .map(Blind::code),
            Some("disabled")
        );
        assert_eq!(
            blind(None, &[endpoint(Capability::Unknown)], now),
            Some("starting")
        );
    }

    #[test]
    fn a_node_down_past_the_grace_is_no_node_but_one_failed_pass_is_not() {
        let now = Utc::now();
        let mut down = passed();
        down.rpc_ok = false;
        down.down_since = Some(now - chrono::Duration::seconds(1));
        let endpoints = [endpoint(Capability::Served)];
        assert_eq!(blind(Some(&down), &endpoints, now), None, "one failed pass");
        down.down_since = Some(now - chrono::Duration::seconds(5));
        assert_eq!(blind(Some(&down), &endpoints, now), Some("no_node"));
        down.active_subscriptions = 2;
        assert_eq!(
            blind(Some(&down), &endpoints, now),
            None,
            "a live subscription still delivers logs"
        );
    }

    #[test]
    fn logs_refused_everywhere_or_a_watcher_far_behind_is_blind() {
        let now = Utc::now();
        let refused = [endpoint(Capability::NotServed), endpoint(Capability::Lost)];
        assert_eq!(blind(Some(&passed()), &refused, now), Some("logs_refused"));
        let mixed = [
            endpoint(Capability::NotServed),
            endpoint(Capability::Served),
        ];
        assert_eq!(blind(Some(&passed()), &mixed, now), None);
        let mut behind = passed();
        behind.head = 200;
        assert_eq!(
            blind(Some(&behind), &[endpoint(Capability::Served)], now),
            Some("behind")
        );
    }
}
