//! Built-in networks beyond BSC (seed §9.2; issue 19): `[[networks]] preset = "polygon"` fills in the
//! chain id, name, explorer, public endpoints, a confirmation rule suited to the chain, and its
//! USDT/USDC contracts (added to the accepted tokens unless `[[tokens]]` lists that network's own).
//! Every contract's decimals are checked on chain at start, like the configured ones: a contract
//! that disagrees is disabled with the reason, never sold.

/// A network preset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Preset {
    pub id: &'static str,
    pub name: &'static str,
    pub chain_id: u64,
    pub rpc_urls: &'static [&'static str],
    pub explorer_url: &'static str,
    /// Blocks on top of the crediting one before `paid`.
    pub confirmations: u32,
    /// Wait for the `finalized` block too (BSC's is a few seconds behind; an L2's or Ethereum's is
    /// many minutes, too long for a counter: confirmations decide there).
    pub require_finalized: bool,
    /// `(symbol, name, contract, decimals)`.
    pub tokens: &'static [(&'static str, &'static str, &'static str, u8)],
}

/// The presets, by `preset` name.
pub(crate) const PRESETS: &[Preset] = &[
    Preset {
        id: "ethereum",
        name: "Ethereum",
        chain_id: 1,
        rpc_urls: &["https://ethereum-rpc.publicnode.com"],
        explorer_url: "https://etherscan.io",
        confirmations: 6,
        require_finalized: false,
        tokens: &[
            (
                "USDT",
                "Tether USD",
                "0xdAC17F958D2ee523a2206206994597C13D831ec7",
                6,
            ),
            (
                "USDC",
                "USD Coin",
                "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
                6,
            ),
        ],
    },
    Preset {
        id: "polygon",
        name: "Polygon PoS",
        chain_id: 137,
        rpc_urls: &["https://polygon-bor-rpc.publicnode.com"],
        explorer_url: "https://polygonscan.com",
        confirmations: 32,
        require_finalized: false,
        tokens: &[
            (
                "USDT",
                "Tether USD",
                "0xc2132D05D31c914a87C6611C10748AEb04B58e8F",
                6,
            ),
            (
                "USDC",
                "USD Coin",
                "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
                6,
            ),
        ],
    },
    Preset {
        id: "arbitrum",
        name: "Arbitrum One",
        chain_id: 42161,
        rpc_urls: &["https://arbitrum-one-rpc.publicnode.com"],
        explorer_url: "https://arbiscan.io",
        confirmations: 20,
        require_finalized: false,
        tokens: &[
            (
                "USDT",
                "Tether USD",
                "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
                6,
            ),
            (
                "USDC",
                "USD Coin",
                "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
                6,
            ),
        ],
    },
    Preset {
        id: "base",
        name: "Base",
        chain_id: 8453,
        rpc_urls: &["https://base-rpc.publicnode.com"],
        explorer_url: "https://basescan.org",
        confirmations: 10,
        require_finalized: false,
        tokens: &[
            (
                "USDC",
                "USD Coin",
                "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
                6,
            ),
            (
                "USDT",
                "Tether USD (bridged)",
                "0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2",
                6,
            ),
        ],
    },
    Preset {
        id: "opbnb",
        name: "opBNB",
        chain_id: 204,
        rpc_urls: &["https://opbnb-rpc.publicnode.com"],
        explorer_url: "https://opbnb.bscscan.com",
        confirmations: 10,
        require_finalized: false,
        tokens: &[(
            "USDT",
            "Tether USD",
            "0x9e5AAC1Ba1a2e6aEd6b32689DFcF62A509Ca96f3",
            18,
        )],
    },
];

/// The preset called `name`.
pub(crate) fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == name)
}
