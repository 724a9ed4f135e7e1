//! `[chain]` (how the watcher reads the chain) and `[[networks]]` / `[[tokens]]` (what is accepted),
//! which become the catalog's own [`Network`] and [`Token`]. Without either list in the file, the
//! built-in BSC mainnet network and its four stablecoins are used.

use std::{collections::HashSet, time::Duration};

use super::{bad, is_url, section, PaymentsConfig};
use crate::{
    address::Address,
    catalog::{Network, NetworkId, Token, TokenSymbol},
    error::CoreError,
    telemetry::redact_endpoint,
};

section! {
    /// `[chain]` as written.
    struct RawChain {
        enabled: bool = true,
        poll_interval_ms: u64 = 2000,
        max_log_range: u64 = 2000,
        initial_lookback_blocks: u64 = 100,
    }
}

/// One `[[networks]]` entry as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    /// A built-in network ([`super::presets`]) whose blanks fill the others.
    #[serde(default)]
    preset: Option<String>,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    chain_id: u64,
    #[serde(default)]
    rpc_urls: Vec<String>,
    #[serde(default)]
    ws_urls: Vec<String>,
    #[serde(default)]
    explorer_url: String,
    /// Overrides `payments.confirmations` on this network.
    #[serde(default)]
    confirmations: Option<u32>,
    /// Overrides `payments.require_finalized` on this network.
    #[serde(default)]
    require_finalized: Option<bool>,
}

/// A network's own confirmation rule, where it differs from `[payments]`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkRule {
    /// Blocks on top of the crediting one before `paid`.
    pub confirmations: Option<u32>,
    /// Wait for the `finalized` block too.
    pub require_finalized: Option<bool>,
}

impl RawNetwork {
    /// The entry with its preset's values where it left them blank; the preset's tokens.
    fn resolved(mut self, i: usize) -> Result<(Self, Vec<RawToken>), CoreError> {
        let Some(name) = self.preset.clone() else {
            return Ok((self, Vec::new()));
        };
        let p = super::presets::preset(&name).ok_or_else(|| {
            let names: Vec<&str> = super::presets::PRESETS.iter().map(|p| p.id).collect();
            bad(
                &format!("networks[{i}].preset"),
                format!("{name:?} is not one of {}", names.join(", ")),
            )
        })?;
        if self.chain_id != 0 && self.chain_id != p.chain_id {
            return Err(bad(
                &format!("networks[{i}].chain_id"),
                format!(
                    "{} is not {}'s chain id ({})",
                    self.chain_id, p.name, p.chain_id
                ),
            ));
        }
        if self.id.is_empty() {
            self.id = p.id.into();
        }
        if self.name.is_empty() {
            self.name = p.name.into();
        }
        self.chain_id = p.chain_id;
        if self.rpc_urls.is_empty() {
            self.rpc_urls = p.rpc_urls.iter().map(|u| u.to_string()).collect();
        }
        if self.explorer_url.is_empty() {
            self.explorer_url = p.explorer_url.into();
        }
        self.confirmations = self.confirmations.or(Some(p.confirmations));
        self.require_finalized = self.require_finalized.or(Some(p.require_finalized));
        let tokens = p
            .tokens
            .iter()
            .map(|(symbol, name, contract, decimals)| RawToken {
                symbol: symbol.to_string(),
                name: name.to_string(),
                network: self.id.clone(),
                contract_address: contract.to_string(),
                decimals: *decimals,
                legacy: false,
            })
            .collect();
        Ok((self, tokens))
    }
}

/// One `[[tokens]]` entry as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawToken {
    symbol: String,
    #[serde(default)]
    name: String,
    network: String,
    contract_address: String,
    decimals: u8,
    #[serde(default)]
    legacy: bool,
}

/// `[chain]`: how the watcher reads the chain.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// Watch the chain at all (off: API only, e.g. for tests or a read-only back office).
    pub enabled: bool,
    /// A pass runs at least this often, even with no WebSocket announcement.
    pub poll_interval: std::time::Duration,
    /// Largest `eth_getLogs` block range (halved automatically when a node refuses it).
    pub max_log_range: u64,
    /// On first start (no cursor yet), how many blocks before the head to scan.
    pub initial_lookback_blocks: u64,
}

impl TryFrom<RawChain> for ChainConfig {
    type Error = CoreError;

    fn try_from(c: RawChain) -> Result<Self, CoreError> {
        if !(100..=600_000).contains(&c.poll_interval_ms) {
            return Err(bad(
                "chain.poll_interval_ms",
                "must be between 100 and 600000",
            ));
        }
        if !(1..=100_000).contains(&c.max_log_range) {
            return Err(bad("chain.max_log_range", "must be between 1 and 100000"));
        }
        if c.initial_lookback_blocks > 1_000_000 {
            return Err(bad(
                "chain.initial_lookback_blocks",
                "must be at most 1000000",
            ));
        }
        Ok(ChainConfig {
            enabled: c.enabled,
            poll_interval: Duration::from_millis(c.poll_interval_ms),
            max_log_range: c.max_log_range,
            initial_lookback_blocks: c.initial_lookback_blocks,
        })
    }
}

/// `[[networks]]` (or the built-in one), each checked.
pub(crate) fn networks(raw: Option<Vec<RawNetwork>>) -> Result<Vec<Network>, CoreError> {
    Ok(networks_and_presets(raw)?.0)
}

/// The networks, the tokens their presets bring, and each network's own confirmation rule.
pub(crate) type Networks = (
    Vec<Network>,
    Vec<RawToken>,
    std::collections::BTreeMap<String, NetworkRule>,
);

/// `[[networks]]` (or the built-in BSC), presets resolved.
pub(crate) fn networks_and_presets(raw: Option<Vec<RawNetwork>>) -> Result<Networks, CoreError> {
    let raw = raw.unwrap_or_else(default_networks);
    if raw.is_empty() {
        return Err(bad("networks", "at least one network is needed"));
    }
    let mut seen = HashSet::new();
    let (mut networks, mut preset_tokens, mut rules) =
        (Vec::new(), Vec::new(), std::collections::BTreeMap::new());
    for (i, n) in raw.into_iter().enumerate() {
        let (n, tokens) = n.resolved(i)?;
        let rule = NetworkRule {
            confirmations: n.confirmations,
            require_finalized: n.require_finalized,
        };
        if rule.confirmations.is_some_and(|c| c > 1000) {
            return Err(bad(
                &format!("networks[{i}].confirmations"),
                "must be at most 1000",
            ));
        }
        let network = network(i, n)?;
        if !seen.insert(network.id.clone()) {
            return Err(bad(
                &format!("networks[{i}].id"),
                format!("{} appears twice", network.id),
            ));
        }
        rules.insert(network.id.to_string(), rule);
        preset_tokens.extend(tokens);
        networks.push(network);
    }
    Ok((networks, preset_tokens, rules))
}

fn network(i: usize, n: RawNetwork) -> Result<Network, CoreError> {
    let key = |k: &str| format!("networks[{i}].{k}");
    let id = NetworkId::parse(&n.id).map_err(|e| bad(&key("id"), e.to_string()))?;
    if n.chain_id == 0 {
        return Err(bad(&key("chain_id"), "must be positive"));
    }
    for (j, u) in n.rpc_urls.iter().enumerate() {
        if !is_url(u, &["http://", "https://"]) {
            return Err(bad(
                &key(&format!("rpc_urls[{j}]")),
                format!("{} is not an http(s) URL", redact_endpoint(u)),
            ));
        }
    }
    for (j, u) in n.ws_urls.iter().enumerate() {
        if !is_url(u, &["ws://", "wss://"]) {
            return Err(bad(
                &key(&format!("ws_urls[{j}]")),
                format!("{} is not a ws(s) URL", redact_endpoint(u)),
            ));
        }
    }
    if !n.explorer_url.is_empty() && !is_url(&n.explorer_url, &["http://", "https://"]) {
        return Err(bad(
            &key("explorer_url"),
            format!("{:?} is not an http(s) URL", n.explorer_url),
        ));
    }
    let name = match n.name.trim() {
        "" => id.to_string(),
        name => name.to_string(),
    };
    Ok(Network {
        id,
        name,
        chain_id: n.chain_id,
        rpc_urls: n.rpc_urls,
        ws_urls: n.ws_urls,
        explorer_url: n.explorer_url.trim_end_matches('/').to_string(),
    })
}

/// `[[tokens]]` (or the built-in ones), each on one of `networks` and able to carry the payments'
/// amount step.
pub(crate) fn tokens(
    raw: Option<Vec<RawToken>>,
    networks: &[Network],
    payments: &PaymentsConfig,
) -> Result<Vec<Token>, CoreError> {
    tokens_with_presets(raw, Vec::new(), networks, payments)
}

/// [`tokens`], plus the presets' tokens of the networks `[[tokens]]` lists none for. Without
/// `[[tokens]]`, the built-in BSC ones count for a BSC network only.
pub(crate) fn tokens_with_presets(
    raw: Option<Vec<RawToken>>,
    preset_tokens: Vec<RawToken>,
    networks: &[Network],
    payments: &PaymentsConfig,
) -> Result<Vec<Token>, CoreError> {
    let listed = raw.is_some();
    let mut all = raw.unwrap_or_else(|| {
        default_tokens()
            .into_iter()
            .filter(|t| networks.iter().any(|n| n.id.as_str() == t.network))
            .collect()
    });
    let configured: HashSet<String> = all.iter().map(|t| t.network.clone()).collect();
    all.extend(
        preset_tokens
            .into_iter()
            .filter(|t| !listed || !configured.contains(&t.network)),
    );
    let mut seen = HashSet::new();
    all.into_iter()
        .enumerate()
        .map(|(i, t)| {
            let token = token(i, t, networks, payments)?;
            if !seen.insert((token.network.clone(), token.symbol.clone())) {
                return Err(bad(
                    &format!("tokens[{i}].symbol"),
                    format!("{} on {} appears twice", token.symbol, token.network),
                ));
            }
            Ok(token)
        })
        .collect()
}

fn token(
    i: usize,
    t: RawToken,
    networks: &[Network],
    payments: &PaymentsConfig,
) -> Result<Token, CoreError> {
    let key = |k: &str| format!("tokens[{i}].{k}");
    let symbol = TokenSymbol::parse(&t.symbol).map_err(|e| bad(&key("symbol"), e.to_string()))?;
    let network = NetworkId::parse(&t.network).map_err(|e| bad(&key("network"), e.to_string()))?;
    if !networks.iter().any(|n| n.id == network) {
        return Err(bad(
            &key("network"),
            format!("no [[networks]] entry has id {network:?}"),
        ));
    }
    let contract_address = Address::parse(&t.contract_address)
        .map_err(|e| bad(&key("contract_address"), e.to_string()))?;
    if t.decimals > 36 {
        return Err(bad(&key("decimals"), "must be at most 36"));
    }
    if payments.amount_step.to_token(t.decimals).is_err() {
        return Err(bad(
            "payments.amount_step",
            format!(
                "{} has more decimals than {symbol} ({})",
                payments.amount_step, t.decimals
            ),
        ));
    }
    let name = match t.name.trim() {
        "" => symbol.to_string(),
        name => name.to_string(),
    };
    Ok(Token {
        symbol,
        name,
        network,
        contract_address,
        decimals: t.decimals,
        legacy: t.legacy,
        disabled: None,
    })
}

fn default_networks() -> Vec<RawNetwork> {
    vec![RawNetwork {
        preset: None,
        confirmations: None,
        require_finalized: None,
        id: "bsc".into(),
        name: "BNB Smart Chain".into(),
        chain_id: 56,
        rpc_urls: vec![
            "https://bsc-dataseed.bnbchain.org".into(),
            "https://bsc-dataseed1.defibit.io".into(),
            "https://bsc-rpc.publicnode.com".into(),
        ],
        ws_urls: vec!["wss://bsc-rpc.publicnode.com".into()],
        explorer_url: "https://bscscan.com".into(),
    }]
}

/// The built-in tokens, validated (the Settings screen offers them even when the file's
/// `[[tokens]]` leaves some out).
pub(crate) fn builtin_tokens(payments: &PaymentsConfig) -> Vec<Token> {
    let networks = networks(None).unwrap_or_default();
    tokens(None, &networks, payments).unwrap_or_default()
}

fn default_tokens() -> Vec<RawToken> {
    let token = |symbol: &str, name: &str, contract: &str, legacy| RawToken {
        symbol: symbol.into(),
        name: name.into(),
        network: "bsc".into(),
        contract_address: contract.into(),
        decimals: 18,
        legacy,
    };
    vec![
        token(
            "USDT",
            "Tether USD",
            "0x55d398326f99059fF775485246999027B3197955",
            false,
        ),
        token(
            "USDC",
            "USD Coin",
            "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d",
            false,
        ),
        // Binance ended BUSD support in 2023; still accepted for shops that hold it.
        token(
            "BUSD",
            "Binance USD (legacy)",
            "0xe9e7CEA3DedcA5984780Bafc599bD69ADd087D56",
            true,
        ),
        token(
            "FDUSD",
            "First Digital USD",
            "0xc5f0f7b66764F6ec8C8Dff7BA683102295E16409",
            false,
        ),
    ]
}
