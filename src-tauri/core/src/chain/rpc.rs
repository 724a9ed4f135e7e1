//! JSON-RPC access to one network through several endpoints, with failover: calls go to the
//! healthiest endpoint first; a failing endpoint loses health and the next one is tried. Every call
//! has a timeout, so a black-holed endpoint costs seconds, not forever.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use alloy::{
    eips::BlockNumberOrTag,
    network::Ethereum,
    primitives::{Address as RawAddress, B256},
    providers::{Provider, RootProvider},
    rpc::types::{Filter, Log, TransactionReceipt},
};

use super::{BlockRef, ChainError};
use crate::telemetry::{redact_endpoint, Direction, Telemetry};

/// How long one RPC call may take before the endpoint counts as failing.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// One endpoint and how it has been doing.
#[derive(Debug)]
struct Endpoint {
    url: String,
    provider: RootProvider<Ethereum>,
    /// 0 (dead) – 100 (healthy); failures cost 25, successes give back 5.
    health: AtomicU64,
}

/// Counters the monitoring endpoints read.
#[derive(Debug, Default)]
pub struct RpcStats {
    /// Calls made.
    pub calls: AtomicU64,
    /// Calls that failed (each failover attempt counts).
    pub failures: AtomicU64,
    /// Times the preferred endpoint changed.
    pub failovers: AtomicU64,
}

/// JSON-RPC client for one network.
#[derive(Debug, Clone)]
pub struct RpcChain {
    endpoints: Arc<Vec<Endpoint>>,
    preferred: Arc<Mutex<usize>>,
    /// Call counters.
    pub stats: Arc<RpcStats>,
    telemetry: Option<Telemetry>,
}

impl RpcChain {
    /// A client over `urls` (http or https), tried in order of health, then of listing.
    pub fn new(urls: &[String]) -> Result<Self, ChainError> {
        let mut endpoints = Vec::new();
        for url in urls {
            let parsed = url
                .parse()
                .map_err(|_| ChainError::Config(format!("{url:?} is not a URL")))?;
            endpoints.push(Endpoint {
                url: url.clone(),
                provider: RootProvider::new_http(parsed),
                health: AtomicU64::new(100),
            });
        }
        if endpoints.is_empty() {
            return Err(ChainError::Config("the network has no rpc_urls".into()));
        }
        Ok(Self {
            endpoints: Arc::new(endpoints),
            preferred: Arc::default(),
            stats: Arc::default(),
            telemetry: None,
        })
    }

    /// Logs every request and response to `telemetry`'s blockchain message log.
    pub fn observed_by(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    fn log(&self, kind: &str, direction: Direction, data: serde_json::Value) {
        if let Some(t) = &self.telemetry {
            t.blockchain(kind, direction, data);
        }
    }

    /// The URL currently preferred.
    pub fn current_url(&self) -> String {
        self.endpoints[*self.preferred.lock().expect("lock")]
            .url
            .clone()
    }

    /// `(url, health 0–100)` for each endpoint.
    pub fn health(&self) -> Vec<(String, u64)> {
        self.endpoints
            .iter()
            .map(|e| (e.url.clone(), e.health.load(Ordering::Relaxed)))
            .collect()
    }

    /// Runs `call` on the preferred endpoint, failing over through the others.
    async fn call<T, F, Fut>(&self, what: &'static str, call: F) -> Result<T, ChainError>
    where
        F: Fn(RootProvider<Ethereum>) -> Fut,
        Fut: Future<Output = Result<T, alloy::transports::TransportError>>,
    {
        let n = self.endpoints.len();
        let start = *self.preferred.lock().expect("lock");
        let mut last_error = String::new();
        let mut all_timed_out = true;
        for i in 0..n {
            let idx = (start + i) % n;
            let endpoint = &self.endpoints[idx];
            self.stats.calls.fetch_add(1, Ordering::Relaxed);
            let shown = redact_endpoint(&endpoint.url);
            self.log(
                "rpc_request",
                Direction::Out,
                serde_json::json!({ "method": what, "endpoint": shown }),
            );
            let started = std::time::Instant::now();
            let outcome = tokio::time::timeout(CALL_TIMEOUT, call(endpoint.provider.clone())).await;
            let ok = matches!(outcome, Ok(Ok(_)));
            self.log(
                "rpc_response",
                Direction::In,
                serde_json::json!({ "method": what, "endpoint": shown, "ok": ok, "ms": started.elapsed().as_millis() as u64 }),
            );
            match outcome {
                Ok(Ok(value)) => {
                    let h = endpoint.health.load(Ordering::Relaxed);
                    endpoint.health.store((h + 5).min(100), Ordering::Relaxed);
                    if idx != start {
                        *self.preferred.lock().expect("lock") = idx;
                        self.stats.failovers.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(endpoint = %endpoint.url, "failed over to another RPC endpoint");
                    }
                    return Ok(value);
                }
                Ok(Err(e)) if is_range_refusal(&e) => {
                    return Err(ChainError::RangeRefused(e.to_string()))
                }
                Ok(Err(e)) => {
                    all_timed_out = false;
                    last_error = format!("{}: {e}", endpoint.url)
                }
                Err(_) => {
                    last_error = format!("{}: no answer within {CALL_TIMEOUT:?}", endpoint.url)
                }
            }
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
            let h = endpoint.health.load(Ordering::Relaxed);
            endpoint
                .health
                .store(h.saturating_sub(25), Ordering::Relaxed);
            tracing::debug!(what, error = %last_error, "RPC call failed");
        }
        Err(if all_timed_out {
            ChainError::TimedOut(last_error)
        } else {
            ChainError::Unavailable(last_error)
        })
    }

    /// The newest block.
    pub async fn head(&self) -> Result<BlockRef, ChainError> {
        self.block(BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| ChainError::Unavailable("node returned no latest block".into()))
    }

    /// The block at `number` on the canonical chain, if it exists.
    pub async fn block_at(&self, number: u64) -> Result<Option<BlockRef>, ChainError> {
        self.block(BlockNumberOrTag::Number(number)).await
    }

    /// The node's finalized block number; `None` when it does not serve the tag.
    pub async fn finalized(&self) -> Result<Option<u64>, ChainError> {
        match self.block(BlockNumberOrTag::Finalized).await {
            Ok(b) => Ok(b.map(|b| b.number)),
            Err(ChainError::Unavailable(m)) if m.contains("finalized") => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn block(&self, tag: BlockNumberOrTag) -> Result<Option<BlockRef>, ChainError> {
        let block = self
            .call("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(tag).await
            })
            .await?;
        Ok(block.map(|b| BlockRef {
            number: b.header.number,
            hash: b.header.hash,
            parent: b.header.parent_hash,
        }))
    }

    /// Transfer logs of `tokens` to `to` in `[from, to_block]`.
    pub async fn transfer_logs(
        &self,
        tokens: &[RawAddress],
        to: RawAddress,
        from: u64,
        to_block: u64,
    ) -> Result<Vec<Log>, ChainError> {
        let filter = Filter::new()
            .address(tokens.to_vec())
            .event_signature(super::Transfer::SIGNATURE_HASH)
            .topic2(to.into_word())
            .from_block(from)
            .to_block(to_block);
        self.call("eth_getLogs", |p| {
            let filter = filter.clone();
            async move { p.get_logs(&filter).await }
        })
        .await
    }

    /// A transaction's receipt, if the transaction is mined.
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, ChainError> {
        self.call("eth_getTransactionReceipt", |p| async move {
            p.get_transaction_receipt(hash).await
        })
        .await
    }
}

/// Nodes refuse large `eth_getLogs` ranges with messages like these; the caller shrinks the range.
fn is_range_refusal(e: &alloy::transports::TransportError) -> bool {
    let m = e.to_string().to_ascii_lowercase();
    [
        "block range",
        "range too large",
        "too many",
        "limit exceeded",
        "query returned more than",
        "exceed maximum block range",
    ]
    .iter()
    .any(|s| m.contains(s))
}

use alloy::sol_types::SolEvent as _;
