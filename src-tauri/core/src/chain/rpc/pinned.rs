//! One endpoint pinned for a use: every call on it is timed, judged ([`super::super::classify`])
//! and booked to its health, back-offs and capabilities; the calls a watcher pass makes.

use std::{
    future::Future,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use alloy::{
    eips::BlockNumberOrTag,
    network::{Ethereum, TransactionBuilder},
    primitives::{Address as RawAddress, Bytes, B256},
    providers::{Provider, RootProvider},
    rpc::types::{Filter, Log, TransactionReceipt, TransactionRequest},
    sol_types::{SolCall, SolEvent},
    transports::{RpcError, TransportError},
};

use super::{
    decimalsCall,
    endpoint::{growing, Capability, Endpoint, EndpointKey, Finality, Trust},
    RpcChain, CALL_TIMEOUT, CAPABILITY_RETRY, LOGS_STRIKES, MAX_FAILURE_BACKOFF, MAX_RATE_BACKOFF,
};
use crate::chain::{
    classify::{classify, Fault, GET_LOGS},
    BlockRef, ChainError, Transfer,
};
use crate::telemetry::{scrub, AlertKind, Direction, Severity};

/// A block as one endpoint reports it.
pub(super) type Header = BlockRef;

/// One endpoint, pinned for a series of calls that must see one chain.
#[derive(Debug, Clone, Copy)]
pub struct Pinned<'a> {
    pub(super) chain: &'a RpcChain,
    pub(super) idx: usize,
}

impl Pinned<'_> {
    pub(super) fn endpoint(&self) -> &Endpoint {
        &self.chain.0.endpoints[self.idx]
    }

    /// Which endpoint this is.
    pub fn key(&self) -> &EndpointKey {
        &self.endpoint().key
    }

    /// `scheme://host[:port]` of it.
    pub fn shown(&self) -> &str {
        &self.endpoint().shown
    }

    /// Runs one call with a timeout, classifies a failure and updates the endpoint's record.
    pub(super) async fn call<T, F, Fut>(
        &self,
        method: &'static str,
        call: F,
    ) -> Result<T, ChainError>
    where
        F: FnOnce(RootProvider<Ethereum>) -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let inner = &self.chain.0;
        let e = self.endpoint();
        inner.stats.calls.fetch_add(1, Ordering::Relaxed);
        inner.telemetry.blockchain(
            "rpc_request",
            Direction::Out,
            serde_json::json!({ "method": method, "endpoint": e.shown }),
        );
        let started = Instant::now();
        let outcome = tokio::time::timeout(CALL_TIMEOUT, call(e.provider.clone())).await;
        let fault = match &outcome {
            Ok(Ok(_)) => None,
            Ok(Err(error)) => Some(classify(method, error)),
            Err(_) => Some(Fault::TimedOut),
        };
        inner.telemetry.blockchain(
            "rpc_response",
            Direction::In,
            serde_json::json!({
                "method": method, "endpoint": e.shown, "ok": fault.is_none(),
                "fault": fault.as_ref().map(|f| format!("{f:?}")),
                "ms": started.elapsed().as_millis() as u64,
            }),
        );
        let (error, json_rpc) = match outcome {
            Ok(Ok(value)) => {
                self.succeeded();
                return Ok(value);
            }
            Ok(Err(error)) => (
                scrub(&error.to_string()),
                matches!(error, RpcError::ErrorResp(_)),
            ),
            Err(_) => (format!("no answer within {CALL_TIMEOUT:?}"), false),
        };
        let fault = fault.expect("a failed call has a fault");
        let detail = format!("{} {method}: {error}", e.shown);
        tracing::debug!(network = %inner.network, %detail, ?fault, "RPC call failed");
        Err(match fault {
            Fault::RangeRefused => ChainError::RangeRefused(detail),
            Fault::NotFound => ChainError::NotFound(detail),
            Fault::Reverted => ChainError::Reverted(detail),
            Fault::RateLimited(retry_after) => {
                // A JSON-RPC refusal of eth_getLogs refuses that method; an HTTP 429 refuses us.
                self.rate_limited(method == GET_LOGS && json_rpc, retry_after, &error);
                ChainError::RateLimited(detail)
            }
            Fault::MethodUnavailable => {
                self.unavailable(method, &error);
                ChainError::MethodUnavailable(detail)
            }
            Fault::TimedOut => {
                self.failed();
                ChainError::TimedOut(detail)
            }
            Fault::Failed => {
                self.failed();
                ChainError::Unavailable(detail)
            }
        })
    }

    pub(super) fn succeeded(&self) {
        let e = self.endpoint();
        let h = e.health.load(Ordering::Relaxed);
        e.health.store((h + 5).min(100), Ordering::Relaxed);
        let mut s = e.state();
        s.failures = 0;
        s.rate_strikes = 0;
        s.last_answer = Some(Instant::now());
    }

    pub(super) fn failed(&self) {
        let inner = &self.chain.0;
        let e = self.endpoint();
        inner.stats.failures.fetch_add(1, Ordering::Relaxed);
        let h = e.health.load(Ordering::Relaxed);
        e.health.store(h.saturating_sub(25), Ordering::Relaxed);
        let mut s = e.state();
        s.failures += 1;
        s.last_failure = Some(Instant::now());
        s.backoff_until = Some(
            Instant::now() + growing(Duration::from_millis(500), s.failures, MAX_FAILURE_BACKOFF),
        );
        // Whoever answers at this URL next must show again that it is on our chain.
        if s.trust == Trust::Verified {
            s.trust = Trust::Unverified;
        }
    }

    pub(super) fn rate_limited(&self, logs_only: bool, retry_after: Option<Duration>, error: &str) {
        let inner = &self.chain.0;
        let e = self.endpoint();
        inner.stats.failures.fetch_add(1, Ordering::Relaxed);
        let h = e.health.load(Ordering::Relaxed);
        e.health.store(h.saturating_sub(10), Ordering::Relaxed);
        e.state().last_failure = Some(Instant::now());
        if logs_only {
            self.logs_strike(error);
            let mut s = e.state();
            let wait = retry_after.unwrap_or_else(|| {
                growing(Duration::from_secs(1), s.logs_strikes, MAX_RATE_BACKOFF)
            });
            s.logs_backoff_until = Some(Instant::now() + wait);
        } else {
            let mut s = e.state();
            s.rate_strikes += 1;
            let wait = retry_after.unwrap_or_else(|| {
                growing(Duration::from_secs(1), s.rate_strikes, MAX_RATE_BACKOFF)
            });
            s.backoff_until = Some(Instant::now() + wait);
            tracing::warn!(network = %inner.network, endpoint = %e.shown, ?wait, "RPC endpoint rate-limits us; backing off");
        }
    }

    /// One more refusal of `eth_getLogs`; after a few in a row the endpoint is skipped for logs.
    pub(super) fn logs_strike(&self, error: &str) {
        let e = self.endpoint();
        let mut s = e.state();
        s.logs_strikes += 1;
        if s.logs_strikes >= LOGS_STRIKES && s.logs != Capability::NotServed {
            s.logs = Capability::NotServed;
            s.logs_retry_at = Some(Instant::now() + CAPABILITY_RETRY);
            drop(s);
            self.logs_not_served(error);
        }
    }

    pub(super) fn logs_not_served(&self, error: &str) {
        let inner = &self.chain.0;
        let e = self.endpoint();
        tracing::warn!(network = %inner.network, endpoint = %e.shown, error, "RPC endpoint does not serve eth_getLogs; skipping it for logs");
        inner.telemetry.raise_problem(
            AlertKind::LogsUnavailable,
            &self.chain.subject(e),
            Severity::Warning,
            format!(
                "the {} endpoint {} does not serve eth_getLogs ({error}); payments are detected through the other endpoints",
                inner.network, e.shown
            ),
        );
    }

    pub(super) fn unavailable(&self, method: &str, error: &str) {
        let e = self.endpoint();
        if method == GET_LOGS {
            let mut s = e.state();
            s.logs = Capability::NotServed;
            s.logs_retry_at = Some(Instant::now() + CAPABILITY_RETRY);
            drop(s);
            self.logs_not_served(error);
        } else {
            // It cannot serve a basic method: do not come back soon.
            e.state().backoff_until = Some(Instant::now() + MAX_RATE_BACKOFF);
        }
    }

    /// Makes sure the endpoint is on the network's chain (asked once, and again after a failure).
    pub(super) async fn verify(&self) -> Result<(), ChainError> {
        let inner = &self.chain.0;
        let e = self.endpoint();
        match &e.state().trust {
            Trust::Verified => return Ok(()),
            Trust::WrongChain(id) => {
                return Err(ChainError::WrongChain(format!(
                    "{} is on chain {id}, not {}",
                    e.shown, inner.chain_id
                )))
            }
            Trust::Untrusted(why) => {
                return Err(ChainError::Unavailable(format!(
                    "{} is distrusted: {why}",
                    e.shown
                )))
            }
            Trust::Unverified => {}
        }
        let id = self
            .call("eth_chainId", |p| async move { p.get_chain_id().await })
            .await?;
        let mut s = e.state();
        if id == inner.chain_id {
            s.trust = Trust::Verified;
            return Ok(());
        }
        s.trust = Trust::WrongChain(id);
        drop(s);
        tracing::error!(network = %inner.network, endpoint = %e.shown, chain_id = id, expected = inner.chain_id, "RPC endpoint is on another chain; never using it");
        inner.telemetry.raise_problem(
            AlertKind::EndpointWrongChain,
            &self.chain.subject(e),
            Severity::Critical,
            format!(
                "the {} endpoint {} is on chain {id}, not {}: it is not used (fix networks.rpc_urls)",
                inner.network, e.shown, inner.chain_id
            ),
        );
        Err(ChainError::WrongChain(format!(
            "{} is on chain {id}, not {}",
            e.shown, inner.chain_id
        )))
    }

    pub(super) async fn block(&self, tag: BlockNumberOrTag) -> Result<Option<Header>, ChainError> {
        let block = match self
            .call("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(tag).await
            })
            .await
        {
            Err(ChainError::NotFound(_)) => None,
            other => other?,
        };
        Ok(block.map(|b| BlockRef {
            number: b.header.number,
            hash: b.header.hash,
            parent: b.header.parent_hash,
            timestamp: b.header.timestamp,
        }))
    }

    /// The newest block this endpoint has.
    pub async fn head(&self) -> Result<Header, ChainError> {
        let head = self.block(BlockNumberOrTag::Latest).await?.ok_or_else(|| {
            ChainError::Unavailable(format!("{} returned no latest block", self.shown()))
        })?;
        self.endpoint().state().head = Some((head.number, Instant::now()));
        Ok(head)
    }

    /// The block at `number` on this endpoint's chain; `None` when it does not have it (yet).
    pub async fn header(&self, number: u64) -> Result<Option<Header>, ChainError> {
        self.block(BlockNumberOrTag::Number(number)).await
    }

    /// The finalized block number: `Some` when served, `None` when the network does not serve the
    /// tag. When the network serves it and this endpoint does not answer it, that is an error (and an
    /// alert), never a silent `None`.
    pub async fn finalized(&self) -> Result<Option<u64>, ChainError> {
        let inner = &self.chain.0;
        let e = self.endpoint();
        let answer = match self.block(BlockNumberOrTag::Finalized).await {
            Ok(Some(b)) => Some(b.number),
            Ok(None) | Err(ChainError::MethodUnavailable(_)) => None,
            Err(other) => return Err(other),
        };
        // Lock order everywhere: an endpoint's state, then the network's finality.
        let mut s = e.state();
        let mut network = inner.finality.lock().expect("finality lock");
        match answer {
            Some(n) => {
                let was = std::mem::replace(&mut s.finality, Capability::Served);
                if *network != Finality::Served {
                    tracing::info!(network = %inner.network, "the network serves the finalized block: settlement waits for it");
                    *network = Finality::Served;
                }
                drop(network);
                drop(s);
                if was == Capability::Lost {
                    inner
                        .telemetry
                        .clear_problem(AlertKind::FinalityLost, &self.chain.subject(e));
                }
                Ok(Some(n))
            }
            None if *network == Finality::Served => {
                let was = std::mem::replace(&mut s.finality, Capability::Lost);
                drop(network);
                drop(s);
                if was != Capability::Lost {
                    tracing::warn!(network = %inner.network, endpoint = %e.shown, "RPC endpoint stopped answering the finalized block");
                    inner.telemetry.raise_problem(
                        AlertKind::FinalityLost,
                        &self.chain.subject(e),
                        Severity::Warning,
                        format!(
                            "the {} endpoint {} no longer answers the finalized block; it is not used to settle payments",
                            inner.network, e.shown
                        ),
                    );
                }
                Err(ChainError::NotServed(format!(
                    "{} does not answer the finalized block",
                    e.shown
                )))
            }
            None => {
                s.finality = Capability::NotServed;
                if *network == Finality::Unknown {
                    tracing::info!(network = %inner.network, "the network does not serve the finalized block: settlement goes by confirmations");
                    *network = Finality::NotServed;
                }
                Ok(None)
            }
        }
    }

    /// Transfer logs of `tokens` to `to` in `[from, to_block]`.
    pub async fn transfer_logs(
        &self,
        tokens: &[RawAddress],
        to: RawAddress,
        from: u64,
        to_block: u64,
    ) -> Result<Vec<Log>, ChainError> {
        let filter = transfers(tokens, from, to_block).topic2(to.into_word());
        self.logs(filter).await
    }

    /// Transfer logs of `tokens` sent *from* `sender` in `[from, to_block]` (refunds sent by the
    /// shop's wallet), with the same bookkeeping as [`Self::transfer_logs`].
    pub async fn outgoing_transfer_logs(
        &self,
        tokens: &[RawAddress],
        sender: RawAddress,
        from: u64,
        to_block: u64,
    ) -> Result<Vec<Log>, ChainError> {
        let filter = transfers(tokens, from, to_block).topic1(sender.into_word());
        self.logs(filter).await
    }

    async fn logs(&self, filter: Filter) -> Result<Vec<Log>, ChainError> {
        let filter = &filter;
        let logs = self
            .call(GET_LOGS, |p| async move { p.get_logs(filter).await })
            .await?;
        let e = self.endpoint();
        let mut s = e.state();
        s.logs_strikes = 0;
        if s.logs != Capability::Served {
            let was = std::mem::replace(&mut s.logs, Capability::Served);
            drop(s);
            if was == Capability::NotServed {
                self.chain
                    .0
                    .telemetry
                    .clear_problem(AlertKind::LogsUnavailable, &self.chain.subject(e));
            }
        }
        Ok(logs)
    }

    /// A transaction's receipt, if this endpoint knows it mined.
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, ChainError> {
        match self
            .call("eth_getTransactionReceipt", |p| async move {
                p.get_transaction_receipt(hash).await
            })
            .await
        {
            Err(ChainError::NotFound(_)) => Ok(None),
            other => other,
        }
    }

    /// `decimals()` of an ERC-20 contract; `None` when the address holds no contract answering it.
    pub async fn decimals(&self, token: RawAddress) -> Result<Option<u8>, ChainError> {
        let request = TransactionRequest::default()
            .with_to(token)
            .with_input(Bytes::from(decimalsCall {}.abi_encode()));
        let answer = match self
            .call("eth_call", |p| async move { p.call(request).await })
            .await
        {
            Ok(bytes) => bytes,
            // A revert means no such function at this address.
            Err(ChainError::Reverted(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(decimalsCall::abi_decode_returns(&answer).ok())
    }
}

/// The filter for Transfer events of `tokens` in `[from, to_block]`.
fn transfers(tokens: &[RawAddress], from: u64, to_block: u64) -> Filter {
    Filter::new()
        .address(tokens.to_vec())
        .event_signature(Transfer::SIGNATURE_HASH)
        .from_block(from)
        .to_block(to_block)
}
