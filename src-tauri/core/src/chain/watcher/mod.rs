//! The per-network watcher. Each pass has two independent halves, so settlement advances even while
//! log scanning fails (BSC's official endpoints do not serve `eth_getLogs`):
//!
//! **Scan** (on one endpoint that serves logs, pinned for the whole scan):
//! 1. read that endpoint's head; scan only up to it. A cursor above it means the endpoint is behind:
//!    nothing to do ("not found yet" is never a reorg);
//! 2. check the persisted cursor's block hash on that endpoint; if the block left the chain, rewind
//!    to the highest remembered block still on it (the common ancestor, however deep; see
//!    [`super::history`]), un-credit payments whose crediting block is gone and mark their logs
//!    removed;
//! 3. fetch Transfer logs of the configured tokens to the receive address with `eth_getLogs` from the
//!    cursor, in ranges that halve when the node refuses them; check each log's block hash against
//!    the same endpoint's block (and take its time); store each log once and credit the payment
//!    holding its exact amount; advance the cursor after each range.
//!    A rate limit or refusal mid-scan fails over to the next endpoint within the pass.
//!    While a refund is awaited on the network, each range also reads Transfer logs *from* the
//!    receive address (from the lowest awaited refund's lower bound) and matches them to refunds
//!    (see [`crate::payments::Refund`]).
//!
//! **Settle** (on one endpoint that serves the `finalized` block, when the network does):
//! for each credited (`confirming`) payment, re-check its block hash (a different hash: un-credit it
//! and rewind the cursor below it, so a re-included transfer is found again), count confirmations,
//! and once it has enough and is at or below the finalized block, have a second, independent
//! endpoint confirm the receipt and block ([`super::quorum`]) before making it `paid`. Seen refunds
//! are settled the same way (block re-checked, confirmations, finality), without the quorum.
//!
//! First contact: endpoints are verified on their chain id, the network's `finalized` support is
//! decided, and each token's `decimals()` is checked against the configuration (a mismatch
//! disables the token, with an alert).
//!
//! The loop runs on every new head and log announced over WebSocket subscriptions (when `ws_urls`
//! are configured), after every reconnect, and every `poll_interval` regardless, so a dead socket
//! delays nothing by more than one poll. After a failed pass it waits out its back-off (wake-ups do
//! not cut it short, so a rate-limiting endpoint is not hammered on every new block). Because each
//! pass resumes from the persisted cursor, nothing is lost across a restart, a kill -9, a node
//! outage or an endpoint switch.

mod scan;
mod settle;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{primitives::Address as RawAddress, rpc::types::Filter, sol_types::SolEvent};
use chrono::{DateTime, Utc};
use tokio::{sync::Notify, task::JoinHandle};

pub use super::WatchError;
use super::{
    history::ChainHistory,
    subscription::{self, Subscription},
    BlockRef, ChainError, Need, RpcChain, Transfer,
};
use crate::{
    address::Address,
    catalog::{Catalog, Network, Token},
    clock::Clock,
    config::ChainConfig,
    payments::{PaymentId, Payments},
    progress::ChainProgress,
    telemetry::{AlertKind, Severity, Telemetry},
    Core,
};

/// Longest wait between passes after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(15);
/// Logs stored per transaction: large enough that a backfill is not bound by commits, small enough
/// that the write lock is never held for long.
const STORE_BATCH: usize = 500;
/// When no remembered block is canonical any more and the network serves no finality: how far back
/// to rewind (a last resort).
const BLIND_REWIND: u64 = 256;
/// Block headers fetched at once to check a range's logs.
const HEADER_FETCHES: usize = 8;
/// The shop's clock and the chain's may differ this much before an alert.
const CLOCK_TOLERANCE: chrono::Duration = chrono::Duration::seconds(120);

/// A handle on a running watcher.
#[derive(Debug)]
pub struct WatcherHandle {
    /// Its network.
    pub network: Network,
    /// Its RPC client.
    pub rpc: RpcChain,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for WatcherHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts a watcher for every enabled network that has RPC endpoints.
pub async fn spawn_all(core: &Core) -> Vec<WatcherHandle> {
    let Some(receive) = core.config.merchant.receive_address else {
        tracing::warn!(
            "no merchant.receive_address: chain watching is off until one is configured"
        );
        return vec![];
    };
    let mut handles = Vec::new();
    for network in core.catalog.networks().await {
        let Some(rpc) = core.chains.get(&network.id).cloned() else {
            tracing::warn!(network = %network.id, "no rpc_urls: this network is not watched");
            continue;
        };
        let tokens: Vec<Token> = core
            .catalog
            .tokens()
            .await
            .into_iter()
            .filter(|t| t.network == network.id)
            .collect();
        core.progress.watch(&network.id);
        let payments = core.config.payments.clone();
        let watcher = Watcher {
            network: network.clone(),
            tokens,
            receive,
            rpc: rpc.clone(),
            payments: core.payments.clone(),
            catalog: core.catalog.clone(),
            history: ChainHistory::new(core.pool.clone(), network.id.clone(), core.clock.clone()),
            settings: core.config.chain.clone(),
            require_finalized: payments.require_finalized_for(network.id.as_str()),
            quorum: payments.quorum_for(rpc.len()),
            quorum_wait: payments.quorum_wait,
            wake: Arc::new(Notify::new()),
            telemetry: core.telemetry.clone(),
            progress: core.progress.clone(),
            clock: core.clock.clone(),
            verified_tokens: Mutex::default(),
            awaiting_quorum: Mutex::default(),
        };
        let mut tasks = Vec::new();
        for url in network.ws_urls.clone() {
            tasks.push(tokio::spawn(subscription::subscribe(Subscription {
                url,
                network: network.clone(),
                filter: watcher.filter(),
                wake: watcher.wake.clone(),
                telemetry: core.telemetry.clone(),
                rpc: rpc.clone(),
                progress: core.progress.clone(),
            })));
        }
        tasks.push(tokio::spawn(watcher.run()));
        handles.push(WatcherHandle {
            network,
            rpc,
            tasks,
        });
    }
    handles
}

/// The watcher of one network.
#[derive(Debug)]
pub struct Watcher {
    network: Network,
    tokens: Vec<Token>,
    receive: Address,
    rpc: RpcChain,
    payments: Payments,
    catalog: Catalog,
    history: ChainHistory,
    settings: ChainConfig,
    require_finalized: bool,
    quorum: u32,
    quorum_wait: Duration,
    wake: Arc<Notify>,
    telemetry: Telemetry,
    progress: ChainProgress,
    clock: Arc<dyn Clock>,
    verified_tokens: Mutex<HashSet<Address>>,
    /// Payments eligible for `paid` still waiting for a second endpoint, since when.
    awaiting_quorum: Mutex<HashMap<PaymentId, Instant>>,
}

/// Whether the finalized block allows settling, this pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FinalityView {
    /// `require_finalized = false`, or the network does not serve the tag: confirmations decide.
    NotNeeded,
    /// Blocks at or below this are final.
    Final(u64),
    /// The network serves it but no endpoint answers it now: nothing settles.
    Unavailable,
}

impl Watcher {
    fn id(&self) -> &str {
        self.network.id.as_str()
    }

    fn contracts(&self) -> Vec<RawAddress> {
        self.tokens
            .iter()
            .map(|t| t.contract_address.as_alloy())
            .collect()
    }

    fn filter(&self) -> Filter {
        Filter::new()
            .address(self.contracts())
            .event_signature(Transfer::SIGNATURE_HASH)
            .topic2(self.receive.as_alloy().into_word())
    }

    /// Runs passes forever: on every wake-up, and every poll interval.
    pub async fn run(self) {
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.pass().await {
                Ok(()) => {
                    backoff = Duration::from_millis(500);
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    }
                }
                Err(e) => {
                    self.telemetry.pass_finished(self.id(), Err(&e.to_string()));
                    // No endpoint serving logs is a steady state (alerted), not a reason to slow down.
                    let steady = matches!(e, WatchError::Chain(ChainError::NotServed(_)));
                    let wait = if steady {
                        self.settings.poll_interval
                    } else {
                        let wait = backoff;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        wait
                    };
                    tracing::warn!(network = %self.network.id, error = %e, retry_in = ?wait, "chain pass failed");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One pass: first contact upkeep, scan, settle (settle runs even when the scan failed).
    pub async fn pass(&self) -> Result<(), WatchError> {
        self.rpc.survey().await;
        self.verify_tokens().await;
        let scanned = self.scan().await;
        let settled = self.settle().await;
        let (endpoint, block) = scanned?;
        settled?;
        self.telemetry
            .pass_finished(self.id(), Ok((&endpoint, block)));
        Ok(())
    }

    // --- first contact -------------------------------------------------------------------------

    /// Checks each token's on-chain `decimals()` against the configuration, once per run.
    async fn verify_tokens(&self) {
        let pending: Vec<&Token> = {
            let done = self.verified_tokens.lock().expect("lock");
            self.tokens
                .iter()
                .filter(|t| !done.contains(&t.contract_address))
                .collect()
        };
        if pending.is_empty() {
            return;
        }
        let Ok(pinned) = self.rpc.pick(&Need::any()).await else {
            return;
        };
        for token in pending {
            let problem = match pinned.decimals(token.contract_address.as_alloy()).await {
                Ok(Some(d)) if d == token.decimals => None,
                Ok(Some(d)) => Some(format!(
                    "it is configured with {} decimals, but its contract {} reports {d}: fix tokens.decimals (an amount would be off by 10^{})",
                    token.decimals,
                    token.contract_address,
                    (i32::from(d) - i32::from(token.decimals)).abs()
                )),
                Ok(None) => Some(format!(
                    "no token contract at {} answers decimals() on chain {}: fix tokens.contract_address",
                    token.contract_address, self.network.chain_id
                )),
                Err(e) => {
                    tracing::debug!(token = %token.symbol, error = %e, "cannot check decimals yet");
                    continue;
                }
            };
            if let Some(reason) = problem {
                tracing::error!(network = %self.network.id, token = %token.symbol, %reason, "token disabled");
                self.catalog
                    .disable_token(&token.network, &token.symbol, reason.clone())
                    .await;
                if let Err(e) = self
                    .payments
                    .fail_open_in_token(&token.network, &token.symbol, &reason)
                    .await
                {
                    tracing::error!(token = %token.symbol, error = %e, "cannot fail the open payments of a disabled token");
                }
                self.telemetry.raise_problem(
                    AlertKind::TokenDisabled,
                    &format!("{}:{}", self.id(), token.symbol),
                    Severity::Critical,
                    format!("{} on {} is disabled: {reason}", token.symbol, self.id()),
                );
            }
            self.verified_tokens
                .lock()
                .expect("lock")
                .insert(token.contract_address);
        }
    }

    /// Alerts when the shop's clock and the chain's differ by more than [`CLOCK_TOLERANCE`] (the
    /// lower bound of matching compares block times with the shop's clock).
    fn check_clock(&self, head: &BlockRef) {
        let id = self.id();
        let chain = block_time(head.timestamp);
        let skew = self.clock.now() - chain;
        if skew.abs() > CLOCK_TOLERANCE {
            self.telemetry.raise_problem(
                AlertKind::ClockSkew,
                id,
                Severity::Warning,
                format!(
                    "this computer's clock is {} s {} the {} chain's: set the clock right (payments compare block times with it)",
                    skew.num_seconds().abs(),
                    if skew > chrono::Duration::zero() { "ahead of" } else { "behind" },
                    self.id()
                ),
            );
        } else {
            self.telemetry.clear_problem(AlertKind::ClockSkew, id);
        }
    }

    // --- scan ----------------------------------------------------------------------------------

    // --- reorgs --------------------------------------------------------------------------------

    // --- settle --------------------------------------------------------------------------------
}

/// Errors after which a scan moves to the next endpoint within the same pass.
fn fails_over(e: &ChainError) -> bool {
    matches!(
        e,
        ChainError::RateLimited(_)
            | ChainError::MethodUnavailable(_)
            | ChainError::Unavailable(_)
            | ChainError::TimedOut(_)
            | ChainError::WrongChain(_)
    )
}

fn block_time(unix_seconds: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix_seconds as i64, 0).unwrap_or_default()
}
