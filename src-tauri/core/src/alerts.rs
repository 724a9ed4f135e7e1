//! Alerts (seed §11.4): conditions worth a human's attention, evaluated every few seconds from the
//! telemetry and the store. An alert is *raised* when its condition starts and *cleared* when it
//! ends; both are published on a broadcast channel (the server pushes them to `/ws/monitor`) and
//! the active set is served by `GET /api/v1/alerts`.
//!
//! Rules (see [`AlertRules::default`]): the success rate of payments closed in the last 24 h falls
//! under 80 % (with at least 5 closed); the API's server-error rate over the recent window exceeds
//! 5 % (with at least 20 requests); a network's node has been unreachable for 30 s; the watcher is
//! more than 20 blocks behind the head; transfers that arrived for a cancelled or already paid sale
//! in the last 24 h (they wait in the inbox, linked to that sale). Beside these rules, every standing
//! [`Problem`] the chain side reports (an endpoint on another chain or distrusted, `eth_getLogs` or
//! the finalized block not served, a token disabled, a payment settled on one source) is an alert
//! until it is cleared.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, Mutex};

use crate::{
    clock::Clock,
    error::CoreError,
    stats::Stats,
    telemetry::{AlertKind, LinkStats, Problem, Severity, Telemetry},
    transfers::Transfers,
};

/// Thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRules {
    /// Raise under this success rate (percent).
    pub min_success_rate: f64,
    /// … only when at least this many payments closed in the window.
    pub min_closed_payments: u64,
    /// Raise over this API server-error rate (percent).
    pub max_error_rate: f64,
    /// … only when the window holds at least this many requests.
    pub min_requests: usize,
    /// Raise when a node has been unreachable this long.
    pub disconnected_after: Duration,
    /// Raise when the watcher is more blocks behind than this.
    pub max_blocks_behind: u64,
    /// Raise when the API's 95th-percentile response time (ms) is over this (≥ `min_requests`).
    pub max_api_p95_ms: f64,
    /// Raise when the mean block → screen latency (ms) of recent pushes is over this.
    pub max_push_latency_ms: f64,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            min_success_rate: 80.0,
            min_closed_payments: 5,
            max_error_rate: 5.0,
            min_requests: 20,
            disconnected_after: Duration::from_secs(30),
            max_blocks_behind: 20,
            max_api_p95_ms: 1000.0,
            max_push_latency_ms: 10_000.0,
        }
    }
}

/// One active alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Stable id: the kind, plus `:<network>` for chain alerts.
    pub id: String,
    /// What it is about (the rules' own kinds, or a chain [`Problem`]'s).
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// Plain words for the dashboard.
    pub message: String,
    /// The measured value.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// When it was raised.
    pub since: DateTime<Utc>,
}

/// A change in the active set.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertChange {
    /// `true` when raised, `false` when cleared.
    pub raised: bool,
    /// The alert.
    pub alert: Alert,
}

/// What the rules look at.
#[derive(Debug, Clone, Default)]
pub struct AlertInputs {
    /// Success rate of recently closed payments and how many closed.
    pub success_rate: (f64, u64),
    /// API server-error rate (percent) and requests in the window.
    pub error_rate: (f64, usize),
    /// API 95th-percentile response time (ms) and requests in the window.
    pub api_p95: (f64, usize),
    /// Mean block → push latency (ms) and pushes in the window.
    pub push_latency: (f64, usize),
    /// Node connections per network.
    pub links: BTreeMap<String, LinkStats>,
    /// Transfers linked to a cancelled or paid sale, seen recently.
    pub linked_transfers: u64,
    /// Standing problems reported by the chain side.
    pub problems: Vec<Problem>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The alerts `inputs` call for (without `since`, which the caller keeps).
pub fn assess(inputs: &AlertInputs, rules: &AlertRules) -> Vec<Alert> {
    let mut out = Raised {
        now: inputs.now,
        alerts: Vec::new(),
    };
    let (rate, closed) = inputs.success_rate;
    if closed >= rules.min_closed_payments && rate < rules.min_success_rate {
        out.raise(
            AlertKind::LowSuccessRate,
            None,
            Severity::Warning,
            format!("only {rate:.1} % of the {closed} payments closed in the last 24 h were paid"),
            (rate, rules.min_success_rate),
        );
    }
    let (errors, requests) = inputs.error_rate;
    if requests >= rules.min_requests && errors > rules.max_error_rate {
        out.raise(
            AlertKind::HighErrorRate,
            None,
            Severity::Critical,
            format!("{errors:.1} % of recent API requests failed with a server error"),
            (errors, rules.max_error_rate),
        );
    }
    let (p95, requests) = inputs.api_p95;
    if requests >= rules.min_requests && p95 > rules.max_api_p95_ms {
        out.raise(
            AlertKind::SlowApi,
            None,
            Severity::Warning,
            format!("the API answers slowly: 95 % of recent requests within {p95:.0} ms"),
            (p95, rules.max_api_p95_ms),
        );
    }
    let (latency, pushes) = inputs.push_latency;
    if pushes > 0 && latency > rules.max_push_latency_ms {
        out.raise(
            AlertKind::SlowPushes,
            None,
            Severity::Warning,
            format!("payments reach the screens {latency:.0} ms after their block on average"),
            (latency, rules.max_push_latency_ms),
        );
    }
    for (network, link) in &inputs.links {
        out.assess_link(network, link, rules);
    }
    if inputs.linked_transfers > 0 {
        out.raise(
            AlertKind::InboxLinkedTransfers,
            None,
            Severity::Warning,
            format!(
                "{} transfer(s) in the last 24 h arrived for a cancelled or already paid sale; they wait in the inbox (refund or attach them)",
                inputs.linked_transfers
            ),
            (inputs.linked_transfers as f64, 0.0),
        );
    }
    out.alerts.extend(inputs.problems.iter().map(|p| Alert {
        id: p.id.clone(),
        kind: p.kind,
        severity: p.severity,
        message: p.message.clone(),
        value: 1.0,
        threshold: 0.0,
        since: p.since,
    }));
    out.alerts
}

/// The alerts raised so far by [`assess`].
struct Raised {
    now: DateTime<Utc>,
    alerts: Vec<Alert>,
}

impl Raised {
    /// Raises `kind` (about `subject`, if any) with its measured value and threshold.
    fn raise(
        &mut self,
        kind: AlertKind,
        subject: Option<&str>,
        severity: Severity,
        message: String,
        (value, threshold): (f64, f64),
    ) {
        self.alerts.push(Alert {
            id: subject.map_or_else(|| kind.as_str().to_string(), |s| kind.id(s)),
            kind,
            severity,
            message,
            value,
            threshold,
            since: self.now,
        });
    }

    /// A network's node link: down too long, or its watcher too far behind the head.
    fn assess_link(&mut self, network: &str, link: &LinkStats, rules: &AlertRules) {
        if let Some(down) = link.down_since {
            let down_for = (self.now - down).to_std().unwrap_or_default();
            if down_for >= rules.disconnected_after {
                self.raise(
                    AlertKind::ChainDisconnected,
                    Some(network),
                    Severity::Critical,
                    format!(
                        "no node of {network} has answered for {} s: payments are not being detected",
                        down_for.as_secs()
                    ),
                    (down_for.as_secs_f64(), rules.disconnected_after.as_secs_f64()),
                );
            }
        }
        let behind = link.blocks_behind();
        if behind > rules.max_blocks_behind {
            self.raise(
                AlertKind::BlocksBehind,
                Some(network),
                Severity::Warning,
                format!("the {network} watcher is {behind} blocks behind the chain head"),
                (behind as f64, rules.max_blocks_behind as f64),
            );
        }
    }
}

/// Evaluates the rules and keeps the active set.
#[derive(Debug, Clone)]
pub struct Alerts {
    stats: Stats,
    transfers: Transfers,
    telemetry: Telemetry,
    clock: Arc<dyn Clock>,
    rules: AlertRules,
    active: Arc<Mutex<BTreeMap<String, Alert>>>,
    changes: broadcast::Sender<AlertChange>,
}

impl Alerts {
    /// Alerts over the store's figures and `telemetry`, with `rules`.
    pub fn new(
        stats: Stats,
        transfers: Transfers,
        telemetry: Telemetry,
        clock: Arc<dyn Clock>,
        rules: AlertRules,
    ) -> Self {
        Self {
            stats,
            transfers,
            telemetry,
            clock,
            rules,
            active: Arc::default(),
            changes: broadcast::channel(256).0,
        }
    }

    /// Raised and cleared alerts from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AlertChange> {
        self.changes.subscribe()
    }

    /// The active alerts, oldest first.
    pub async fn active(&self) -> Vec<Alert> {
        let mut all: Vec<Alert> = self.active.lock().await.values().cloned().collect();
        all.sort_by_key(|a| a.since);
        all
    }

    /// Re-evaluates the rules, publishes what changed and returns the active set.
    pub async fn evaluate(&self) -> Result<Vec<Alert>, CoreError> {
        let now = self.clock.now();
        let api = self.telemetry.api().recent;
        let inputs = AlertInputs {
            success_rate: self
                .stats
                .recent_success_rate(now - chrono::Duration::hours(24))
                .await?,
            error_rate: (api.flagged_percent, api.count),
            api_p95: (api.p95_ms, api.count),
            push_latency: {
                let pushes = self.telemetry.push_latency();
                (pushes.mean_ms, pushes.count)
            },
            links: self.telemetry.links(),
            linked_transfers: self
                .transfers
                .linked_since(now - chrono::Duration::hours(24))
                .await?,
            problems: self.telemetry.problems(),
            now,
        };
        let current = assess(&inputs, &self.rules);
        let mut active = self.active.lock().await;
        let cleared: Vec<String> = active
            .keys()
            .filter(|id| !current.iter().any(|a| &a.id == *id))
            .cloned()
            .collect();
        for id in cleared {
            if let Some(alert) = active.remove(&id) {
                tracing::info!(alert = %alert.id, "alert cleared");
                let _ = self.changes.send(AlertChange {
                    raised: false,
                    alert,
                });
            }
        }
        for mut alert in current {
            match active.get_mut(&alert.id) {
                Some(existing) => {
                    alert.since = existing.since;
                    *existing = alert;
                }
                None => {
                    tracing::warn!(alert = %alert.id, message = %alert.message, "alert raised");
                    let _ = self.changes.send(AlertChange {
                        raised: true,
                        alert: alert.clone(),
                    });
                    active.insert(alert.id.clone(), alert);
                }
            }
        }
        let mut all: Vec<Alert> = active.values().cloned().collect();
        all.sort_by_key(|a| a.since);
        Ok(all)
    }

    /// Evaluates every `every` forever (the host spawns this).
    pub async fn run(self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = self.evaluate().await {
                tracing::warn!(error = %e, "alert evaluation failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(inputs: &AlertInputs) -> Vec<&'static str> {
        assess(inputs, &AlertRules::default())
            .into_iter()
            .map(|a| a.kind.as_str())
            .collect()
    }

    #[test]
    fn a_quiet_healthy_shop_has_no_alerts() {
        assert!(kinds(&AlertInputs {
            success_rate: (100.0, 0),
            ..Default::default()
        })
        .is_empty());
    }

    #[test]
    fn a_low_success_rate_alerts_only_with_enough_payments() {
        let few = AlertInputs {
            success_rate: (0.0, 4),
            ..Default::default()
        };
        assert!(kinds(&few).is_empty());
        let many = AlertInputs {
            success_rate: (50.0, 10),
            ..Default::default()
        };
        assert_eq!(kinds(&many), ["low_success_rate"]);
    }

    #[test]
    fn a_slow_api_or_slow_pushes_alert_past_their_thresholds() {
        let slow = AlertInputs {
            success_rate: (100.0, 0),
            api_p95: (1500.0, 100),
            push_latency: (12_000.0, 3),
            ..Default::default()
        };
        assert_eq!(kinds(&slow), ["slow_api", "slow_pushes"]);
        let quiet = AlertInputs {
            success_rate: (100.0, 0),
            api_p95: (1500.0, 5),
            push_latency: (12_000.0, 0),
            ..Default::default()
        };
        assert!(kinds(&quiet).is_empty(), "too few requests, no pushes");
    }

    #[test]
    fn a_high_api_error_rate_alerts() {
        let inputs = AlertInputs {
            success_rate: (100.0, 0),
            error_rate: (10.0, 100),
            ..Default::default()
        };
        assert_eq!(kinds(&inputs), ["high_error_rate"]);
    }

    #[test]
    fn a_node_down_for_thirty_seconds_and_a_lagging_watcher_alert() {
        let now = Utc::now();
        let mut links = BTreeMap::new();
        links.insert(
            "bsc".to_string(),
            LinkStats {
                down_since: Some(now - chrono::Duration::seconds(31)),
                head: 100,
                last_block_processed: 50,
                ..Default::default()
            },
        );
        links.insert(
            "opbnb".to_string(),
            LinkStats {
                down_since: Some(now - chrono::Duration::seconds(5)),
                ..Default::default()
            },
        );
        let inputs = AlertInputs {
            success_rate: (100.0, 0),
            links,
            now,
            ..Default::default()
        };
        let alerts = assess(&inputs, &AlertRules::default());
        let ids: Vec<_> = alerts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["chain_disconnected:bsc", "blocks_behind:bsc"]);
    }
}
