//! Standing problems the chain side reports (an endpoint on another chain, logs not served, a token
//! disabled, …), each of an [`AlertKind`] and a [`Severity`]; the alert rules turn each into an alert.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Telemetry;

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
    /// The API answers slowly (its 95th percentile over the threshold).
    SlowApi,
    /// Payments reach the screens slowly after their block (block → push latency).
    SlowPushes,
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
            AlertKind::SlowApi => "slow_api",
            AlertKind::SlowPushes => "slow_pushes",
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

impl Telemetry {
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
}
