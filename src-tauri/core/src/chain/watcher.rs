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
//!
//! **Settle** (on one endpoint that serves the `finalized` block, when the network does):
//! for each credited (`confirming`) payment, re-check its block hash (a different hash: un-credit it
//! and rewind the cursor below it, so a re-included transfer is found again), count confirmations,
//! and once it has enough and is at or below the finalized block, have a second, independent
//! endpoint confirm the receipt and block ([`super::quorum`]) before making it `paid`.
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

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address as RawAddress, B256},
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt};
use tokio::{sync::Notify, task::JoinHandle};

pub use super::WatchError;
use super::{
    history::ChainHistory,
    observe,
    quorum::{self, Verdict},
    rpc::Finality,
    subscription::{self, Subscription},
    BlockRef, ChainError, Need, Pinned, RpcChain, Transfer,
};
use crate::{
    address::Address,
    catalog::{Catalog, Network, Token},
    clock::Clock,
    config::ChainConfig,
    payments::{Ingested, ObservedTransfer, OpenCredit, PaymentId, Payments, Settlement, Uncredit},
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
            require_finalized: payments.require_finalized,
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

    /// Scans on the best endpoint serving logs, failing over to the next when one refuses or
    /// fails; returns the endpoint used and the block scanned through.
    async fn scan(&self) -> Result<(String, u64), WatchError> {
        let mut last = None;
        for _ in 0..self.rpc.len() {
            let pinned = match self.rpc.pick(&Need::logs()).await {
                Ok(p) => {
                    self.telemetry
                        .clear_problem(AlertKind::NoLogsEndpoint, self.id());
                    p
                }
                Err(ChainError::NotServed(m)) => {
                    self.telemetry.raise_problem(
                        AlertKind::NoLogsEndpoint,
                        self.id(),
                        Severity::Critical,
                        format!("{m}: transfers are not detected by themselves (a manual check still works); add an RPC endpoint that serves eth_getLogs"),
                    );
                    return Err(ChainError::NotServed(m).into());
                }
                Err(e) => return Err(last.unwrap_or(e.into())),
            };
            match self.scan_on(&pinned).await {
                Ok(block) => return Ok((pinned.shown().to_string(), block)),
                Err(WatchError::Chain(e)) if fails_over(&e) => {
                    tracing::info!(network = %self.network.id, endpoint = pinned.shown(), error = %e, "scan failing over to another endpoint");
                    last = Some(e.into());
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ChainError::Unavailable("no endpoint left".into()).into()))
    }

    async fn scan_on(&self, pinned: &Pinned<'_>) -> Result<u64, WatchError> {
        let head = pinned.head().await?;
        self.saw_head(&head);
        let mut from = match self.history.cursor().await? {
            None => head
                .number
                .saturating_sub(self.settings.initial_lookback_blocks),
            // This endpoint is behind what was already scanned: nothing new here yet.
            Some((number, _)) if number > head.number => return Ok(number),
            Some((number, hash)) => match pinned.header(number).await? {
                Some(b) if b.hash == hash => number + 1,
                Some(_) => {
                    self.telemetry.reorg(self.id(), number);
                    tracing::warn!(network = %self.network.id, block = number, "cursor block left the chain; rewinding to the common ancestor");
                    self.rewind(pinned, number).await? + 1
                }
                None => {
                    return Err(ChainError::Inconsistent(format!(
                        "{} has head {} but no block {number}",
                        pinned.shown(),
                        head.number
                    ))
                    .into())
                }
            },
        };
        let mut range = self.settings.max_log_range;
        let mut through = from.saturating_sub(1);
        while from <= head.number {
            let to = (from + range - 1).min(head.number);
            match pinned
                .transfer_logs(&self.contracts(), self.receive.as_alloy(), from, to)
                .await
            {
                Ok(logs) => {
                    let observed = self.observe_checked(pinned, &logs).await?;
                    self.store(&observed).await?;
                    let end = if to == head.number {
                        head
                    } else {
                        pinned.header(to).await?.ok_or_else(|| {
                            ChainError::Inconsistent(format!(
                                "{} served logs up to block {to} but not the block",
                                pinned.shown()
                            ))
                        })?
                    };
                    self.history.advance(end.number, end.hash).await?;
                    self.progress.scanned_through(
                        &self.network.id,
                        end.number,
                        block_time(end.timestamp),
                    );
                    through = to;
                    from = to + 1;
                    range = (range * 2).min(self.settings.max_log_range);
                }
                Err(ChainError::RangeRefused(m) | ChainError::TimedOut(m)) if range > 1 => {
                    range = (range / 2).max(1);
                    tracing::info!(network = %self.network.id, range, reason = %m, "node refused the log range; shrinking");
                }
                Err(ChainError::RangeRefused(m)) => {
                    self.rpc.logs_refused(pinned.key());
                    return Err(ChainError::RateLimited(m).into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(through)
    }

    fn saw_head(&self, head: &BlockRef) {
        self.telemetry.head_seen(self.id(), head.number);
        self.progress.head_seen(&self.network.id, head.number);
        self.check_clock(head);
    }

    /// The relevant transfers among `logs`, each checked against the pinned endpoint's own block
    /// (a log whose block hash is not that block's is a view changing under us: the pass is
    /// retried), with its block's time. Self-transfers from the receive address are dropped.
    async fn observe_checked(
        &self,
        pinned: &Pinned<'_>,
        logs: &[Log],
    ) -> Result<Vec<ObservedTransfer>, WatchError> {
        let mut observed: Vec<ObservedTransfer> = logs
            .iter()
            .filter_map(|log| observe(&self.network.id, self.network.chain_id, log))
            .filter(|o| o.to == self.receive && o.from != self.receive)
            .filter(|o| {
                self.tokens
                    .iter()
                    .any(|t| t.contract_address == o.token_contract)
            })
            .collect();
        let blocks: HashSet<u64> = observed.iter().map(|o| o.block_number).collect();
        let headers: Vec<(u64, Result<Option<BlockRef>, ChainError>)> = stream::iter(blocks)
            .map(|n| async move { (n, pinned.header(n).await) })
            .buffer_unordered(HEADER_FETCHES)
            .collect()
            .await;
        let mut canonical = HashMap::new();
        for (n, header) in headers {
            let header = header?.ok_or_else(|| {
                ChainError::Inconsistent(format!(
                    "{} served a log in block {n} it does not have",
                    pinned.shown()
                ))
            })?;
            canonical.insert(n, header);
        }
        for o in &mut observed {
            let header = &canonical[&o.block_number];
            if header.hash != o.block_hash {
                return Err(ChainError::Inconsistent(format!(
                    "{} served a log of block {} with hash {} but the block's hash is {}",
                    pinned.shown(),
                    o.block_number,
                    o.block_hash,
                    header.hash
                ))
                .into());
            }
            o.block_time = Some(block_time(header.timestamp));
            o.source = Some(pinned.key().to_string());
        }
        Ok(observed)
    }

    /// Stores checked transfers of one range, a transaction per [`STORE_BATCH`].
    async fn store(&self, observed: &[ObservedTransfer]) -> Result<(), WatchError> {
        for chunk in observed.chunks(STORE_BATCH) {
            for o in chunk {
                let symbol = self
                    .tokens
                    .iter()
                    .find(|t| t.contract_address == o.token_contract)
                    .map_or("", |t| t.symbol.as_str());
                self.telemetry.transfer_seen(o, symbol);
            }
            let started = Instant::now();
            let ingested = self.payments.ingest_batch(chunk).await?;
            let each = started.elapsed() / chunk.len() as u32;
            for (result, o) in ingested.iter().zip(chunk) {
                match result {
                    Ingested::Credited(p) => {
                        self.telemetry.validation(each, true);
                        tracing::info!(payment = %p.id, tx = %o.tx_hash, "transfer credited")
                    }
                    Ingested::Unmatched(_) => {
                        self.telemetry.validation(each, false);
                        tracing::info!(tx = %o.tx_hash, value = %o.value, "transfer matches no payment; kept as unmatched")
                    }
                    Ingested::AlreadyKnown => {}
                }
            }
        }
        Ok(())
    }

    // --- reorgs --------------------------------------------------------------------------------

    /// The block at `bad` (or a crediting block) left the chain: finds the common ancestor, takes
    /// back credits above it whose blocks are gone, marks orphaned logs removed and moves the cursor
    /// to the ancestor. Returns the ancestor's number.
    async fn rewind(&self, pinned: &Pinned<'_>, bad: u64) -> Result<u64, WatchError> {
        let (ancestor, hash) = self.common_ancestor(pinned, bad).await?;
        for credit in self.payments.open_credits(&self.network.id).await? {
            let number = credit.payment.block_number.unwrap_or_default();
            if number <= ancestor {
                continue;
            }
            if let Some(h) = pinned.header(number).await? {
                if h.hash != credit.block_hash {
                    self.payments
                        .uncredit(&credit.payment, &Uncredit::Reorg)
                        .await?;
                }
            }
        }
        let mut orphaned = Vec::new();
        for (number, hash) in self
            .payments
            .recent_log_blocks(&self.network.id, ancestor + 1)
            .await?
        {
            if pinned.header(number).await?.map(|b| b.hash) != Some(hash) {
                orphaned.push((number, hash));
            }
        }
        self.payments
            .remove_orphaned_logs(&self.network.id, &orphaned)
            .await?;
        self.history.rewind_to(ancestor, hash).await?;
        Ok(ancestor)
    }

    /// The highest remembered block below `below` still on the pinned endpoint's chain; without
    /// one, the finalized block, else [`BLIND_REWIND`] blocks back.
    async fn common_ancestor(
        &self,
        pinned: &Pinned<'_>,
        below: u64,
    ) -> Result<(u64, B256), WatchError> {
        if let Some(found) = self.history.highest_canonical(pinned, below).await? {
            return Ok(found);
        }
        let fallback = match pinned.finalized().await {
            Ok(Some(f)) if f < below => f,
            _ => below.saturating_sub(BLIND_REWIND),
        };
        tracing::warn!(network = %self.network.id, block = fallback, "no remembered block is on the chain any more; rewinding to a safe block");
        let block = pinned.header(fallback).await?.ok_or_else(|| {
            ChainError::Inconsistent(format!("{} has no block {fallback}", pinned.shown()))
        })?;
        Ok((block.number, block.hash))
    }

    // --- settle --------------------------------------------------------------------------------

    async fn settle(&self) -> Result<(), WatchError> {
        let credits = self.payments.open_credits(&self.network.id).await?;
        if credits.is_empty() {
            self.awaiting_quorum.lock().expect("lock").clear();
            return Ok(());
        }
        let need_finality = self.require_finalized && self.rpc.finality() != Finality::NotServed;
        let need = Need {
            finality: need_finality,
            ..Need::default()
        };
        let (pinned, mut finality) = match self.rpc.pick(&need).await {
            Ok(p) => (p, None),
            Err(ChainError::NotServed(m)) if need_finality => {
                self.raise_finality_unavailable(&m);
                // Confirmations still count; nothing becomes paid.
                (
                    self.rpc.pick(&Need::any()).await?,
                    Some(FinalityView::Unavailable),
                )
            }
            Err(e) => return Err(e.into()),
        };
        let head = pinned.head().await?;
        self.saw_head(&head);
        if finality.is_none() {
            finality = Some(if !self.require_finalized {
                FinalityView::NotNeeded
            } else {
                match pinned.finalized().await {
                    Ok(Some(f)) => {
                        self.telemetry
                            .clear_problem(AlertKind::FinalityUnavailable, self.id());
                        FinalityView::Final(f)
                    }
                    Ok(None) => FinalityView::NotNeeded,
                    Err(ChainError::NotServed(m)) => {
                        self.raise_finality_unavailable(&m);
                        FinalityView::Unavailable
                    }
                    Err(e) => return Err(e.into()),
                }
            });
        }
        let finality = finality.expect("decided above");
        let mut open: HashSet<PaymentId> = HashSet::new();
        for credit in credits {
            open.insert(credit.payment.id.clone());
            self.settle_one(&pinned, &head, finality, credit).await?;
        }
        self.awaiting_quorum
            .lock()
            .expect("lock")
            .retain(|id, _| open.contains(id));
        Ok(())
    }

    fn raise_finality_unavailable(&self, why: &str) {
        self.telemetry.raise_problem(
            AlertKind::FinalityUnavailable,
            self.id(),
            Severity::Critical,
            format!("{why}: payments stay confirming until an endpoint answers the finalized block again"),
        );
    }

    async fn settle_one(
        &self,
        pinned: &Pinned<'_>,
        head: &BlockRef,
        finality: FinalityView,
        credit: OpenCredit,
    ) -> Result<(), WatchError> {
        let number = credit.payment.block_number.unwrap_or_default();
        if number > head.number {
            return Ok(()); // not on this endpoint yet
        }
        match pinned.header(number).await? {
            None => return Ok(()), // not found yet is never a reorg
            Some(b) if b.hash != credit.block_hash => {
                self.payments
                    .uncredit(&credit.payment, &Uncredit::Reorg)
                    .await?;
                self.telemetry.reorg(self.id(), number);
                // The transfer may be re-included later: scan from below its old block again.
                if self
                    .history
                    .cursor()
                    .await?
                    .is_some_and(|(c, _)| c >= number)
                {
                    self.rewind(pinned, number).await?;
                }
                return Ok(());
            }
            Some(_) => {}
        }
        // Never fewer than already shown: an endpoint a few blocks behind sees fewer on top.
        let confirmations = (head
            .number
            .saturating_sub(number)
            .saturating_add(1)
            .min(u32::MAX as u64) as u32)
            .max(credit.payment.confirmations);
        let final_enough = match finality {
            FinalityView::NotNeeded => true,
            FinalityView::Final(f) => number <= f,
            FinalityView::Unavailable => false,
        };
        let settlement = if confirmations >= credit.payment.required_confirmations && final_enough {
            self.corroborate(pinned, &credit).await?
        } else {
            None
        };
        if let Some(p) = self
            .payments
            .confirm(&credit.payment, confirmations, settlement.as_ref())
            .await?
        {
            if settlement.is_some() {
                tracing::info!(payment = %p.id, confirmations, "payment paid");
            }
        }
        Ok(())
    }

    /// Has independent endpoints confirm the credit (the quorum); takes the credit back and
    /// distrusts its source when one contradicts it; settles on one source when none can answer
    /// within the wait. `None`: not yet.
    async fn corroborate(
        &self,
        pinned: &Pinned<'_>,
        credit: &OpenCredit,
    ) -> Result<Option<Settlement>, WatchError> {
        let needed = self.quorum.saturating_sub(1) as usize;
        if needed == 0 {
            return Ok(Some(Settlement::default()));
        }
        let outcome = quorum::confirm(&self.rpc, pinned, credit, needed).await;
        match outcome.verdict {
            Verdict::Confirmed => {
                self.forget_wait(&credit.payment.id);
                Ok(Some(Settlement {
                    confirmed_by: outcome.confirmed_by,
                    single_source: false,
                }))
            }
            Verdict::Contradicted { by } => {
                self.forget_wait(&credit.payment.id);
                let tx = credit.tx_hash;
                let number = credit.payment.block_number.unwrap_or_default();
                if let Some(source) = &credit.source {
                    self.rpc.distrust(
                        &super::EndpointKey::from_store(source.clone()),
                        &format!("it reported transaction {tx} in block {number}, which {by} says is not there"),
                    );
                }
                self.payments
                    .uncredit(&credit.payment, &Uncredit::NotConfirmed { by })
                    .await?;
                Ok(None)
            }
            Verdict::Pending { anyone_answered } => {
                let since = *self
                    .awaiting_quorum
                    .lock()
                    .expect("lock")
                    .entry(credit.payment.id.clone())
                    .or_insert_with(Instant::now);
                if anyone_answered || since.elapsed() < self.quorum_wait {
                    return Ok(None);
                }
                self.forget_wait(&credit.payment.id);
                tracing::warn!(payment = %credit.payment.id, "no second endpoint could answer in time; settling on one source");
                self.telemetry.raise_for(
                    AlertKind::SingleSourceSettlement,
                    credit.payment.id.as_str(),
                    Severity::Warning,
                    format!(
                        "payment {} was settled on one endpoint's word: no second {} endpoint could answer within {} s",
                        credit.payment.id,
                        self.id(),
                        self.quorum_wait.as_secs()
                    ),
                    Duration::from_secs(24 * 3600),
                );
                Ok(Some(Settlement {
                    confirmed_by: outcome.confirmed_by,
                    single_source: true,
                }))
            }
        }
    }

    fn forget_wait(&self, id: &PaymentId) {
        self.awaiting_quorum.lock().expect("lock").remove(id);
    }
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
