//! The chain side: reading BSC (or any EVM chain) through JSON-RPC with failover, the per-network
//! watcher that turns Transfer logs into credited payments, and the manual transaction check.
//! Only watching: no key, no signing.

mod rpc;
pub mod verify;
pub mod watcher;

use alloy::primitives::B256;

/// A transaction hash.
pub type TxHash = B256;
pub use rpc::{RpcChain, RpcStats};

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
}

/// What can go wrong talking to a chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// Every endpoint failed or timed out.
    #[error("no RPC endpoint answered: {0}")]
    Unavailable(String),
    /// The node refused the `eth_getLogs` block range (the caller shrinks it).
    #[error("the node refused the log range: {0}")]
    RangeRefused(String),
    /// Every endpoint answered too slowly (for `eth_getLogs`, a range too big to serve in time:
    /// the caller shrinks it too).
    #[error("no RPC endpoint answered in time: {0}")]
    TimedOut(String),
    /// Bad endpoint configuration.
    #[error("chain configuration: {0}")]
    Config(String),
}

impl ChainError {
    /// Worth retrying later (all but configuration errors).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, ChainError::Config(_))
    }
}
