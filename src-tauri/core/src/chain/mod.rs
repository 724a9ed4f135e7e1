//! The chain side: reading BSC (or any EVM chain) through JSON-RPC with failover, the per-network
//! watcher that turns Transfer logs into credited payments, and the manual transaction check.
//! Only watching: no key, no signing.

mod classify;
pub mod history;
pub mod probe;
pub mod quorum;
pub mod rpc;
mod subscription;
pub mod verify;
pub mod watcher;

use alloy::{primitives::B256, rpc::types::Log};
use chrono::DateTime;

use crate::{address::Address, catalog::NetworkId, payments::ObservedTransfer};

/// A transaction hash.
pub type TxHash = B256;
pub use rpc::{EndpointKey, Need, Pinned, RpcChain, RpcStats};

alloy::sol! {
    /// The ERC-20 Transfer event.
    #[derive(Debug)]
    event Transfer(address indexed from, address indexed to, uint256 value);
}

/// A block's number and hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    /// Height.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Parent's hash.
    pub parent: B256,
    /// Unix seconds.
    pub timestamp: u64,
}

/// What can go wrong talking to a chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The endpoint failed, or no endpoint is usable now (down, backing off, distrusted).
    #[error("no RPC endpoint answered: {0}")]
    Unavailable(String),
    /// The node refused the `eth_getLogs` block range (the caller shrinks it).
    #[error("the node refused the log range: {0}")]
    RangeRefused(String),
    /// No answer in time (for `eth_getLogs`, a range too big to serve in time: the caller shrinks it
    /// too).
    #[error("no RPC endpoint answered in time: {0}")]
    TimedOut(String),
    /// The endpoint rate-limits us; it is backed off from and the caller fails over.
    #[error("rate-limited: {0}")]
    RateLimited(String),
    /// The endpoint does not serve this method or block tag.
    #[error("not served: {0}")]
    MethodUnavailable(String),
    /// The endpoint answered with an error meaning "not there (yet)".
    #[error("not found: {0}")]
    NotFound(String),
    /// The call ran and reverted (`eth_call`).
    #[error("reverted: {0}")]
    Reverted(String),
    /// Usable endpoints exist, but none serves what is needed (logs, the finalized block).
    #[error("{0}")]
    NotServed(String),
    /// The endpoint is on another chain.
    #[error("wrong chain: {0}")]
    WrongChain(String),
    /// The endpoint contradicted itself within one pass (a log in a block it does not have), as
    /// during a reorg: the pass is retried.
    #[error("inconsistent answers: {0}")]
    Inconsistent(String),
    /// Bad endpoint configuration.
    #[error("chain configuration: {0}")]
    Config(String),
}

/// Why a pass (or part of one) failed; the watcher retries with backoff.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The node.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The store.
    #[error(transparent)]
    Core(#[from] crate::error::CoreError),
}

impl ChainError {
    /// Worth retrying later (all but configuration errors).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, ChainError::Config(_))
    }
}

/// A mined Transfer log of `network` as an observation; `None` for pending or undecodable logs.
pub(crate) fn observe(network: &NetworkId, chain_id: u64, log: &Log) -> Option<ObservedTransfer> {
    let decoded = log.log_decode::<Transfer>().ok()?;
    let event = decoded.inner.data;
    Some(ObservedTransfer {
        network: network.clone(),
        chain_id,
        token_contract: Address::from_alloy(log.address()),
        tx_hash: log.transaction_hash?,
        log_index: log.log_index?,
        block_number: log.block_number?,
        block_hash: log.block_hash?,
        block_time: log
            .block_timestamp
            .and_then(|t| DateTime::from_timestamp(t as i64, 0)),
        from: Address::from_alloy(event.from),
        to: Address::from_alloy(event.to),
        value: event.value,
        source: None,
    })
}
