//! The scan half of a pass: on one endpoint that serves logs, pinned for the whole scan — its head,
//! the cursor's block checked (a reorg rewinds to the common ancestor), Transfer logs fetched in
//! ranges that shrink when refused, each log's block checked, each range stored.

use std::{
    collections::{HashMap, HashSet},
    time::Instant,
};

use alloy::{primitives::B256, rpc::types::Log};
use futures_util::{stream, StreamExt};

use super::{
    block_time, fails_over, WatchError, Watcher, BLIND_REWIND, HEADER_FETCHES, STORE_BATCH,
};
use crate::chain::{observe, BlockRef, ChainError, Need, Pinned};
use crate::{
    payments::{Ingested, ObservedTransfer, Uncredit},
    telemetry::{AlertKind, Severity},
};

/// Which way a transfer goes, seen from the receive address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// A payment to the shop.
    In,
    /// A refund sent by the shop's wallet.
    Out,
}

impl Watcher {
    /// Scans on the best endpoint serving logs, failing over to the next when one refuses or
    /// fails; returns the endpoint used and the block scanned through.
    pub(super) async fn scan(&self) -> Result<(String, u64), WatchError> {
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

    pub(super) async fn scan_on(&self, pinned: &Pinned<'_>) -> Result<u64, WatchError> {
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
        // Outgoing transfers are read only while a refund is awaited, from its lower bound.
        let refunds_from = self.payments.awaited_refunds_from(&self.network.id).await?;
        let mut range = self.settings.max_log_range;
        let mut through = from.saturating_sub(1);
        while from <= head.number {
            let to = (from + range - 1).min(head.number);
            match self.range_logs(pinned, from, to, refunds_from).await {
                Ok((incoming, outgoing)) => {
                    let observed = self
                        .observe_checked(pinned, &incoming, Direction::In)
                        .await?;
                    self.store(&observed).await?;
                    let sent = self
                        .observe_checked(pinned, &outgoing, Direction::Out)
                        .await?;
                    self.payments.match_refunds(&sent).await?;
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

    pub(super) fn saw_head(&self, head: &BlockRef) {
        self.telemetry.head_seen(self.id(), head.number);
        self.progress.head_seen(&self.network.id, head.number);
        self.check_clock(head);
    }

    /// Transfer logs to the receive address in `from..=to`, and from it where a refund may be
    /// (`refunds_from`: the lowest block an awaited refund matches in).
    async fn range_logs(
        &self,
        pinned: &Pinned<'_>,
        from: u64,
        to: u64,
        refunds_from: Option<u64>,
    ) -> Result<(Vec<Log>, Vec<Log>), ChainError> {
        let contracts = self.contracts();
        let receive = self.receive.as_alloy();
        let incoming = pinned.transfer_logs(&contracts, receive, from, to).await?;
        let outgoing = match refunds_from {
            Some(low) if low <= to => {
                pinned
                    .outgoing_transfer_logs(&contracts, receive, from.max(low), to)
                    .await?
            }
            _ => vec![],
        };
        Ok((incoming, outgoing))
    }

    /// The relevant transfers among `logs` — to the receive address (`In`) or from it (`Out`),
    /// in a configured token — each checked against the pinned endpoint's own block (a log whose
    /// block hash is not that block's is a view changing under us: the pass is retried), with its
    /// block's time. Self-transfers of the receive address are dropped.
    pub(super) async fn observe_checked(
        &self,
        pinned: &Pinned<'_>,
        logs: &[Log],
        direction: Direction,
    ) -> Result<Vec<ObservedTransfer>, WatchError> {
        let mut observed: Vec<ObservedTransfer> = logs
            .iter()
            .filter_map(|log| observe(&self.network.id, self.network.chain_id, log))
            .filter(|o| match direction {
                Direction::In => o.to == self.receive && o.from != self.receive,
                Direction::Out => o.from == self.receive && o.to != self.receive,
            })
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
    pub(super) async fn store(&self, observed: &[ObservedTransfer]) -> Result<(), WatchError> {
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

    /// The block at `bad` (or a crediting block) left the chain: finds the common ancestor, takes
    /// back credits above it whose blocks are gone, marks orphaned logs removed and moves the cursor
    /// to the ancestor. Returns the ancestor's number.
    pub(super) async fn rewind(&self, pinned: &Pinned<'_>, bad: u64) -> Result<u64, WatchError> {
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
        for refund in self.payments.confirming_refunds(&self.network.id).await? {
            let number = refund.block_number.unwrap_or_default();
            if number <= ancestor {
                continue;
            }
            if let Some(h) = pinned.header(number).await? {
                if Some(h.hash) != refund.block_hash() {
                    self.payments.unmatch_refund(&refund).await?;
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
    pub(super) async fn common_ancestor(
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
}
