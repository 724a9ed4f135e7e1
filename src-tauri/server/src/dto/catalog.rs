//! Accepted tokens and networks on the wire.

use serde::Serialize;
use utoipa::ToSchema;

/// An accepted token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Ticker, e.g. `USDT`.
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// Network slug.
    pub network: String,
    /// ERC-20 contract (EIP-55).
    pub contract_address: String,
    /// ERC-20 decimals.
    pub decimals: u8,
    /// Still accepted but no longer recommended (e.g. BUSD).
    pub legacy: bool,
    /// Why no payment can be made in it now (its contract on chain disagrees with the
    /// configuration), or null.
    pub disabled: Option<String>,
}

/// An accepted network.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkResponse {
    /// Slug used in the API.
    pub id: String,
    /// Display name.
    pub name: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// Block explorer base URL, or empty.
    pub explorer_url: String,
}

/// The API view of catalog tokens.
pub fn token_views(tokens: Vec<stablepay_core::catalog::Token>) -> Vec<TokenResponse> {
    tokens
        .into_iter()
        .map(|t| TokenResponse {
            symbol: t.symbol.to_string(),
            name: t.name,
            network: t.network.to_string(),
            contract_address: t.contract_address.to_string(),
            decimals: t.decimals,
            legacy: t.legacy,
            disabled: t.disabled,
        })
        .collect()
}

/// `GET /api/v1/chain/status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainStatusResponse {
    /// Payments are being seen on every network the shop watches.
    pub seeing_payments: bool,
    /// Each network.
    pub networks: Vec<NetworkWatchView>,
}

/// One network's watching.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkWatchView {
    /// Network id.
    pub network: String,
    /// Payments on it are being seen now.
    pub seeing_payments: bool,
    /// Why not, when not: `disabled`, `starting`, `no_node`, `logs_refused`, `behind`.
    pub reason: Option<String>,
    /// The newest head the watcher knows.
    pub head: u64,
    /// The last block it processed.
    pub last_block_processed: u64,
}

impl From<stablepay_core::watching::NetworkWatch> for NetworkWatchView {
    fn from(w: stablepay_core::watching::NetworkWatch) -> Self {
        Self {
            network: w.network.clone(),
            seeing_payments: w.seeing_payments(),
            reason: w.blind.map(|b| b.code().to_string()),
            head: w.head,
            last_block_processed: w.last_block_processed,
        }
    }
}
