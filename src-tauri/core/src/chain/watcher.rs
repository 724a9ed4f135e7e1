//! The per-network watcher. One loop, one code path for live and catch-up:
//!
//! 1. check the persisted cursor's block hash against the canonical chain; if it left the chain
//!    (reorg or rollback), rewind, un-credit payments whose crediting block is gone and mark their
//!    logs removed;
//! 2. fetch Transfer logs of the configured tokens to the receive address with `eth_getLogs` from the
//!    cursor to the head, in ranges that halve when the node refuses them; store each log once and
//!    credit the payment holding its exact amount; advance the cursor after each range;
//! 3. for each credited (`confirming`) payment, re-check its block hash, count confirmations and make
//!    it `paid` once it has enough and is at or below the node's `finalized` block (when served).
//!
//! The loop runs on every new head and log announced over WebSocket subscriptions (when `ws_urls`
//! are configured), after every reconnect, and every `poll_interval` regardless, so a dead socket
//! delays nothing by more than one poll. Because each pass resumes from the persisted cursor,
//! nothing is lost across a restart, a kill -9, a node outage or an endpoint switch.

use std::{sync::Arc, time::Duration};

use alloy::{
    network::Ethereum,
    primitives::{Address as RawAddress, B256},
    providers::{Provider, RootProvider},
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use chrono::Utc;
use serde_json::json;
use sqlx::{Row, SqlitePool};
use tokio::{sync::Notify, task::JoinHandle};

use super::{ChainError, RpcChain, Transfer};
use crate::{
    address::Address,
    catalog::{Network, Token},
    clock::to_millis,
    config::ChainConfig,
    error::CoreError,
    payments::{Ingested, ObservedTransfer, Payments},
    telemetry::{Direction, Telemetry},
    Core,
};

/// Blocks re-scanned when the cursor's block left the chain. BSC finalizes in 2 blocks; this is
/// ample for any reorg a BSC node reports.
const REORG_REWIND: u64 = 64;
/// Longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Logs stored per transaction: large enough that a backfill is not bound by commits, small enough
/// that the write lock is never held for long.
const STORE_BATCH: usize = 500;

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
    let settings = core.config.chain.clone();
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
        let watcher = Watcher {
            network: network.clone(),
            tokens,
            receive,
            rpc: rpc.clone(),
            payments: core.payments.clone(),
            pool: core.pool.clone(),
            settings: settings.clone(),
            require_finalized: core.config.payments.require_finalized,
            wake: Arc::new(Notify::new()),
            telemetry: core.telemetry.clone(),
        };
        let mut tasks = Vec::new();
        for url in network.ws_urls.clone() {
            tasks.push(tokio::spawn(subscribe(
                url,
                network.id.to_string(),
                watcher.filter(),
                watcher.wake.clone(),
                core.telemetry.clone(),
            )));
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
    pool: SqlitePool,
    settings: ChainConfig,
    require_finalized: bool,
    wake: Arc<Notify>,
    telemetry: Telemetry,
}

impl Watcher {
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
            let wait = match self.pass().await {
                Ok(()) => {
                    backoff = Duration::from_millis(500);
                    self.settings.poll_interval
                }
                Err(e) => {
                    self.telemetry
                        .pass_finished(self.network.id.as_str(), Err(&e.to_string()));
                    tracing::warn!(network = %self.network.id, error = %e, retry_in = ?backoff, "chain pass failed");
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One pass: reorg check, catch-up to head, settlement.
    pub async fn pass(&self) -> Result<(), WatchError> {
        let head = self.rpc.head().await?;
        self.telemetry
            .head_seen(self.network.id.as_str(), head.number);
        let mut from = match self.cursor().await? {
            None => head
                .number
                .saturating_sub(self.settings.initial_lookback_blocks),
            Some((number, hash)) => match self.rpc.block_at(number).await? {
                Some(b) if b.hash == hash => number + 1,
                _ => {
                    let rewind_to = number.saturating_sub(REORG_REWIND);
                    self.telemetry.reorg(self.network.id.as_str(), number);
                    tracing::warn!(network = %self.network.id, block = number, "cursor block left the chain; rewinding");
                    self.drop_orphans(rewind_to).await?;
                    rewind_to + 1
                }
            },
        };
        let mut range = self.settings.max_log_range;
        while from <= head.number {
            let to = (from + range - 1).min(head.number);
            match self
                .rpc
                .transfer_logs(&self.contracts(), self.receive.as_alloy(), from, to)
                .await
            {
                Ok(logs) => {
                    self.store(&logs).await?;
                    let hash = if to == head.number {
                        Some(head.hash)
                    } else {
                        self.rpc.block_at(to).await?.map(|b| b.hash)
                    };
                    if let Some(hash) = hash {
                        self.save_cursor(to, hash).await?;
                    }
                    from = to + 1;
                    range = (range * 2).min(self.settings.max_log_range);
                }
                Err(ChainError::RangeRefused(m) | ChainError::TimedOut(m)) if range > 1 => {
                    range = (range / 2).max(1);
                    tracing::info!(network = %self.network.id, range, reason = %m, "node refused the log range; shrinking");
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.settle(head.number).await?;
        self.telemetry.pass_finished(
            self.network.id.as_str(),
            Ok((&self.rpc.current_url(), head.number)),
        );
        Ok(())
    }

    /// Stores the relevant logs of one range, a transaction per [`STORE_BATCH`] logs.
    async fn store(&self, logs: &[Log]) -> Result<(), WatchError> {
        let observed: Vec<(ObservedTransfer, &Token)> = logs
            .iter()
            .filter_map(|log| observe(&self.network, log))
            .filter(|o| o.to == self.receive)
            .filter_map(|o| {
                let token = self
                    .tokens
                    .iter()
                    .find(|t| t.contract_address == o.token_contract)?;
                Some((o, token))
            })
            .collect();
        for chunk in observed.chunks(STORE_BATCH) {
            for (o, token) in chunk {
                self.telemetry.transfer_seen(o, token.symbol.as_str());
            }
            let transfers: Vec<ObservedTransfer> = chunk.iter().map(|(o, _)| o.clone()).collect();
            let started = std::time::Instant::now();
            let ingested = self.payments.ingest_batch(&transfers).await?;
            let each = started.elapsed() / chunk.len() as u32;
            for (result, o) in ingested.iter().zip(&transfers) {
                match result {
                    Ingested::Credited(p) => {
                        self.telemetry.validation(each, true);
                        tracing::info!(payment = %p.id, tx = %o.tx_hash, "transfer credited")
                    }
                    Ingested::Unmatched => {
                        self.telemetry.validation(each, false);
                        tracing::info!(tx = %o.tx_hash, value = %o.value, "transfer matches no payment; kept as unmatched")
                    }
                    Ingested::AlreadyKnown => {}
                }
            }
        }
        Ok(())
    }

    /// Un-credits payments and marks logs whose blocks above `rewind_to` are no longer canonical.
    async fn drop_orphans(&self, rewind_to: u64) -> Result<(), WatchError> {
        for credit in self.payments.open_credits(&self.network.id).await? {
            let number = credit.payment.block_number.unwrap_or_default();
            if self.rpc.block_at(number).await?.map(|b| b.hash) != Some(credit.block_hash) {
                self.payments.orphan_credit(&credit.payment).await?;
            }
        }
        let mut orphaned = Vec::new();
        for (number, hash) in self
            .payments
            .recent_log_blocks(&self.network.id, rewind_to + 1)
            .await?
        {
            if self.rpc.block_at(number).await?.map(|b| b.hash) != Some(hash) {
                orphaned.push((number, hash));
            }
        }
        self.payments
            .remove_orphaned_logs(&self.network.id, &orphaned)
            .await?;
        Ok(())
    }

    async fn settle(&self, head: u64) -> Result<(), WatchError> {
        let credits = self.payments.open_credits(&self.network.id).await?;
        if credits.is_empty() {
            return Ok(());
        }
        let finalized = if self.require_finalized {
            self.rpc.finalized().await?
        } else {
            None
        };
        for credit in credits {
            let number = credit.payment.block_number.unwrap_or_default();
            if self.rpc.block_at(number).await?.map(|b| b.hash) != Some(credit.block_hash) {
                self.payments.orphan_credit(&credit.payment).await?;
                continue;
            }
            let confirmations = head
                .saturating_sub(number)
                .saturating_add(1)
                .min(u32::MAX as u64) as u32;
            let final_enough = finalized.is_none_or(|f| number <= f);
            let settled = confirmations >= credit.payment.required_confirmations && final_enough;
            if let Some(p) = self
                .payments
                .confirm(&credit.payment, confirmations, settled)
                .await?
            {
                if settled {
                    tracing::info!(payment = %p.id, confirmations, "payment paid");
                }
            }
        }
        Ok(())
    }

    async fn cursor(&self) -> Result<Option<(u64, B256)>, CoreError> {
        let row =
            sqlx::query("SELECT block_number, block_hash FROM chain_cursors WHERE network_id = ?")
                .bind(self.network.id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|r| {
            Some((
                r.get::<i64, _>("block_number") as u64,
                r.get::<String, _>("block_hash").parse().ok()?,
            ))
        }))
    }

    async fn save_cursor(&self, number: u64, hash: B256) -> Result<(), CoreError> {
        sqlx::query(
            "INSERT INTO chain_cursors (network_id, block_number, block_hash, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (network_id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash, updated_at = excluded.updated_at",
        )
        .bind(self.network.id.as_str())
        .bind(number as i64)
        .bind(hash.to_string())
        .bind(to_millis(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// A mined Transfer log as an observation; `None` for pending or undecodable logs.
pub(crate) fn observe(network: &Network, log: &Log) -> Option<ObservedTransfer> {
    let decoded = log.log_decode::<Transfer>().ok()?;
    let event = decoded.inner.data;
    Some(ObservedTransfer {
        network: network.id.clone(),
        chain_id: network.chain_id,
        token_contract: Address::from_alloy(log.address()),
        tx_hash: log.transaction_hash?,
        log_index: log.log_index?,
        block_number: log.block_number?,
        block_hash: log.block_hash?,
        from: Address::from_alloy(event.from),
        to: Address::from_alloy(event.to),
        value: event.value,
    })
}

/// Keeps WebSocket subscriptions to new heads and to matching Transfer logs alive on `url`, waking
/// the watcher on each; reconnects with backoff. Every connection event and announcement goes to
/// the telemetry log.
async fn subscribe(
    url: String,
    network: String,
    filter: Filter,
    wake: Arc<Notify>,
    telemetry: Telemetry,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        telemetry.link_connecting(&network, &url);
        let connected = tokio::time::timeout(
            Duration::from_secs(10),
            RootProvider::<Ethereum>::connect(&url),
        )
        .await;
        let reason = match connected {
            Ok(Ok(provider)) => {
                let heads = provider.subscribe_blocks().await;
                let logs = provider.subscribe_logs(&filter).await;
                match (heads, logs) {
                    (Ok(mut heads), Ok(mut logs)) => {
                        telemetry.link_connected(&network, &url, 2);
                        backoff = Duration::from_millis(500);
                        tracing::info!(%url, "WebSocket subscriptions live");
                        wake.notify_one(); // reconcile after every (re)connect
                        loop {
                            tokio::select! {
                                head = heads.recv() => match head {
                                    Ok(h) => {
                                        telemetry.head_seen(&network, h.number);
                                        telemetry.blockchain("new_head", Direction::In, json!({ "number": h.number, "hash": h.hash.to_string() }));
                                    }
                                    Err(_) => break,
                                },
                                log = logs.recv() => match log {
                                    Ok(l) => telemetry.blockchain("log_notification", Direction::In, json!({
                                        "transactionHash": l.transaction_hash.map(|h| h.to_string()),
                                        "blockNumber": l.block_number,
                                    })),
                                    Err(_) => break,
                                },
                            }
                            wake.notify_one();
                        }
                        tracing::warn!(%url, "WebSocket subscription ended; reconnecting");
                        "subscription ended".to_string()
                    }
                    (Err(e), _) | (_, Err(e)) => format!("subscribe failed: {e}"),
                }
            }
            Ok(Err(e)) => {
                tracing::debug!(%url, error = %e, "WebSocket connect failed");
                e.to_string()
            }
            Err(_) => {
                tracing::debug!(%url, "WebSocket connect timed out");
                "connect timed out".to_string()
            }
        };
        telemetry.link_disconnected(&network, &url, &reason);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Why a pass failed; the loop retries with backoff.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The node.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The store.
    #[error(transparent)]
    Core(#[from] CoreError),
}
