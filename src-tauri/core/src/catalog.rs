//! Networks and tokens the shop accepts. Rows come from the config file at start (and later from the
//! settings screen); reads go to an in-memory snapshot so creating a payment costs no catalog query.
//! A token whose contract disagrees with its configuration on chain (its `decimals()`) is disabled
//! for this run: it is listed with the reason, and no payment can be created in it.

use std::{collections::HashMap, fmt, sync::Arc};

use crate::store::Db;
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::{address::Address, clock::to_millis, error::CoreError};

/// A network slug such as `bsc`: 1–32 of `a-z 0-9 -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NetworkId(String);

impl NetworkId {
    /// Parses a slug, case-insensitively.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let s = s.trim().to_ascii_lowercase();
        let ok = (1..=32).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(s))
        } else {
            Err(CoreError::field(
                "network",
                "a network id is 1–32 of a-z, 0-9 and -",
            ))
        }
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token ticker such as `USDT`: 1–16 of `A-Z 0-9 . _`, upper-cased on parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenSymbol(String);

impl TokenSymbol {
    /// Parses a ticker, case-insensitively.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let s = s.trim().to_ascii_uppercase();
        let ok = (1..=16).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
        if ok {
            Ok(Self(s))
        } else {
            Err(CoreError::field(
                "token",
                "a token symbol is 1–16 of A-Z, 0-9, . and _",
            ))
        }
    }

    /// The ticker.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A network payments can be made on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Slug.
    pub id: NetworkId,
    /// Display name.
    pub name: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// JSON-RPC endpoints in failover order (may embed provider keys: never shown to customers).
    pub rpc_urls: Vec<String>,
    /// WebSocket endpoints.
    pub ws_urls: Vec<String>,
    /// Explorer base URL, or empty.
    pub explorer_url: String,
}

/// A token payments can be made in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Ticker.
    pub symbol: TokenSymbol,
    /// Display name.
    pub name: String,
    /// Network slug.
    pub network: NetworkId,
    /// ERC-20 contract.
    pub contract_address: Address,
    /// ERC-20 decimals.
    pub decimals: u8,
    /// Accepted but shown as legacy.
    pub legacy: bool,
    /// Why it cannot be sold in now (its contract disagrees with the configuration), if so.
    pub disabled: Option<String>,
}

/// A `networks` row as stored.
#[derive(sqlx::FromRow)]
struct NetworkRow {
    id: String,
    name: String,
    chain_id: i64,
    rpc_urls: String,
    ws_urls: String,
    explorer_url: String,
}

/// A `tokens` row as stored.
#[derive(sqlx::FromRow)]
struct TokenRow {
    network_id: String,
    symbol: String,
    name: String,
    contract_address: String,
    decimals: i64,
    legacy: i64,
}

#[derive(Debug, Default)]
struct Snapshot {
    networks: Vec<Network>,
    tokens: Vec<Token>,
}

/// The enabled networks and tokens.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: Db,
    snapshot: Arc<RwLock<Snapshot>>,
    disabled: Arc<RwLock<HashMap<(NetworkId, TokenSymbol), String>>>,
}

impl Catalog {
    /// Upserts the config's networks and tokens, disables config rows the file no longer lists
    /// (rows added in settings are left alone), and loads the snapshot.
    pub async fn from_config(
        pool: Db,
        networks: &[Network],
        tokens: &[Token],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, CoreError> {
        let now = to_millis(now);
        let mut tx = crate::store::begin_write(&pool).await?;
        sqlx::query("UPDATE tokens SET enabled = 0 WHERE source = 'config'")
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE networks SET enabled = 0 WHERE source = 'config'")
            .execute(&mut *tx)
            .await?;
        for n in networks {
            sqlx::query(
                "INSERT INTO networks (id, name, chain_id, rpc_urls, ws_urls, explorer_url, enabled, source, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, 'config', $7)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, chain_id = excluded.chain_id,
                   rpc_urls = excluded.rpc_urls, ws_urls = excluded.ws_urls, explorer_url = excluded.explorer_url,
                   enabled = 1, source = 'config', updated_at = excluded.updated_at",
            )
            .bind(n.id.as_str())
            .bind(&n.name)
            .bind(n.chain_id as i64)
            .bind(serde_json::to_string(&n.rpc_urls).expect("strings serialize"))
            .bind(serde_json::to_string(&n.ws_urls).expect("strings serialize"))
            .bind(&n.explorer_url)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for t in tokens {
            sqlx::query(
                "INSERT INTO tokens (network_id, symbol, name, contract_address, decimals, legacy, enabled, source, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, 'config', $7)
                 ON CONFLICT (network_id, symbol) DO UPDATE SET name = excluded.name,
                   contract_address = excluded.contract_address, decimals = excluded.decimals,
                   legacy = excluded.legacy, enabled = 1, source = 'config', updated_at = excluded.updated_at",
            )
            .bind(t.network.as_str())
            .bind(t.symbol.as_str())
            .bind(&t.name)
            .bind(t.contract_address.checksummed())
            .bind(t.decimals as i64)
            .bind(i64::from(t.legacy))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let catalog = Self {
            pool,
            snapshot: Arc::default(),
            disabled: Arc::default(),
        };
        catalog.reload().await?;
        Ok(catalog)
    }

    /// Re-reads the enabled rows from the store.
    pub async fn reload(&self) -> Result<(), CoreError> {
        let corrupt = |what: String| CoreError::Corrupt(what);
        let mut networks = Vec::new();
        for r in sqlx::query_as::<_, NetworkRow>(
            "SELECT id, name, chain_id, rpc_urls, ws_urls, explorer_url FROM networks WHERE enabled = 1 ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let urls = |what: &str, json: &str| {
                serde_json::from_str::<Vec<String>>(json)
                    .map_err(|_| corrupt(format!("network {}: {what}", r.id)))
            };
            networks.push(Network {
                chain_id: u64::try_from(r.chain_id)
                    .map_err(|_| corrupt(format!("network {}: chain id {}", r.id, r.chain_id)))?,
                rpc_urls: urls("rpc_urls", &r.rpc_urls)?,
                ws_urls: urls("ws_urls", &r.ws_urls)?,
                id: NetworkId(r.id),
                name: r.name,
                explorer_url: r.explorer_url,
            });
        }
        let mut tokens = Vec::new();
        for r in sqlx::query_as::<_, TokenRow>(
            "SELECT t.network_id, t.symbol, t.name, t.contract_address, t.decimals, t.legacy
             FROM tokens t JOIN networks n ON n.id = t.network_id
             WHERE t.enabled = 1 AND n.enabled = 1 ORDER BY t.legacy, t.rowid",
        )
        .fetch_all(&self.pool)
        .await?
        {
            tokens.push(Token {
                contract_address: Address::parse(&r.contract_address)?,
                decimals: u8::try_from(r.decimals)
                    .map_err(|_| corrupt(format!("token {}: decimals {}", r.symbol, r.decimals)))?,
                symbol: TokenSymbol(r.symbol),
                name: r.name,
                network: NetworkId(r.network_id),
                legacy: r.legacy != 0,
                disabled: None,
            });
        }
        *self.snapshot.write().await = Snapshot { networks, tokens };
        Ok(())
    }

    /// Enabled networks.
    pub async fn networks(&self) -> Vec<Network> {
        self.snapshot.read().await.networks.clone()
    }

    /// The symbols accepted on any network, sorted, each once (`USDT` on two networks is one).
    pub async fn symbols(&self) -> Vec<String> {
        let mut symbols: Vec<String> = self
            .snapshot
            .read()
            .await
            .tokens
            .iter()
            .map(|t| t.symbol.to_string())
            .collect();
        symbols.sort();
        symbols.dedup();
        symbols
    }

    /// Enabled tokens, legacy ones last (disabled ones say why).
    pub async fn tokens(&self) -> Vec<Token> {
        let disabled = self.disabled.read().await;
        let mut tokens = self.snapshot.read().await.tokens.clone();
        for t in &mut tokens {
            t.disabled = disabled
                .get(&(t.network.clone(), t.symbol.clone()))
                .cloned();
        }
        tokens
    }

    /// Stops sales in a token for this run (its contract disagrees with the configuration).
    pub async fn disable_token(&self, network: &NetworkId, symbol: &TokenSymbol, reason: String) {
        self.disabled
            .write()
            .await
            .insert((network.clone(), symbol.clone()), reason);
    }

    /// One enabled network.
    pub async fn network(&self, id: &NetworkId) -> Result<Network, CoreError> {
        self.snapshot
            .read()
            .await
            .networks
            .iter()
            .find(|n| &n.id == id)
            .cloned()
            .ok_or_else(|| CoreError::UnknownNetwork(id.to_string()))
    }

    /// One enabled token on an enabled network.
    pub async fn token(
        &self,
        network: &NetworkId,
        symbol: &TokenSymbol,
    ) -> Result<(Network, Token), CoreError> {
        let network = self.network(network).await?;
        let snapshot = self.snapshot.read().await;
        let token = snapshot
            .tokens
            .iter()
            .find(|t| t.network == network.id && &t.symbol == symbol)
            .cloned()
            .ok_or_else(|| CoreError::UnknownToken {
                symbol: symbol.to_string(),
                network: network.id.to_string(),
            })?;
        drop(snapshot);
        if let Some(reason) = self
            .disabled
            .read()
            .await
            .get(&(network.id.clone(), symbol.clone()))
        {
            return Err(CoreError::TokenDisabled {
                symbol: symbol.to_string(),
                network: network.id.to_string(),
                reason: reason.clone(),
            });
        }
        Ok((network, token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_and_network_ids_are_normalised() {
        assert_eq!(TokenSymbol::parse("usdt").unwrap().as_str(), "USDT");
        assert_eq!(NetworkId::parse("BSC").unwrap().as_str(), "bsc");
        assert!(TokenSymbol::parse("").is_err());
        assert!(TokenSymbol::parse("US DT").is_err());
        assert!(NetworkId::parse("bsc/../x").is_err());
    }
}
