//! WebSocket subscriptions of a network: new heads and the matching Transfer logs wake the watcher
//! at once (polling covers a dead socket). Each socket's chain id is checked first: a socket on
//! another chain would announce heads that are not ours.

use std::{sync::Arc, time::Duration};

use alloy::{
    network::Ethereum,
    providers::{Provider, RootProvider},
    rpc::types::Filter,
};
use serde_json::json;
use tokio::sync::Notify;

use super::RpcChain;
use crate::{
    catalog::Network,
    progress::ChainProgress,
    telemetry::{redact_endpoint, scrub, AlertKind, Direction, Severity, Telemetry},
};

/// Longest wait between reconnect attempts.
const MAX_RECONNECT: Duration = Duration::from_secs(30);

/// What one WebSocket subscription needs.
pub(super) struct Subscription {
    pub(super) url: String,
    pub(super) network: Network,
    pub(super) filter: Filter,
    pub(super) wake: Arc<Notify>,
    pub(super) telemetry: Telemetry,
    pub(super) rpc: RpcChain,
    pub(super) progress: ChainProgress,
}

/// Keeps WebSocket subscriptions to new heads and to matching Transfer logs alive on `url`, waking
/// the watcher on each; reconnects with backoff. The socket's chain id is checked first: a socket
/// on another chain would announce heads that are not ours. Every connection event and
/// announcement goes to the telemetry log.
pub(super) async fn subscribe(s: Subscription) {
    let network = s.network.id.to_string();
    let mut backoff = Duration::from_millis(500);
    loop {
        s.telemetry.link_connecting(&network, &s.url);
        let connected = tokio::time::timeout(
            Duration::from_secs(10),
            RootProvider::<Ethereum>::connect(&s.url),
        )
        .await;
        let reason = match connected {
            Ok(Ok(provider)) => match provider
                .raw_request::<_, alloy::primitives::U64>("eth_chainId".into(), ())
                .await
                .map(|id| id.to::<u64>())
            {
                Ok(id) if id != s.network.chain_id => {
                    s.telemetry.raise_problem(
                        AlertKind::EndpointWrongChain,
                        &format!("{network}:{}", redact_endpoint(&s.url)),
                        Severity::Critical,
                        format!(
                            "the {network} WebSocket endpoint {} is on chain {id}, not {}: it is not used (fix networks.ws_urls)",
                            redact_endpoint(&s.url),
                            s.network.chain_id
                        ),
                    );
                    backoff = MAX_RECONNECT;
                    format!("on chain {id}")
                }
                Ok(_) => follow(&s, &network, &provider, &mut backoff).await,
                Err(e) => scrub(&format!("eth_chainId failed: {e}")),
            },
            Ok(Err(e)) => {
                let error = scrub(&e.to_string());
                tracing::debug!(url = %redact_endpoint(&s.url), %error, "WebSocket connect failed");
                error
            }
            Err(_) => {
                tracing::debug!(url = %redact_endpoint(&s.url), "WebSocket connect timed out");
                "connect timed out".to_string()
            }
        };
        s.telemetry.link_disconnected(&network, &s.url, &reason);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_RECONNECT);
    }
}

/// Follows the subscriptions of a connected, verified socket until they end; returns why.
async fn follow(
    s: &Subscription,
    network: &str,
    provider: &RootProvider<Ethereum>,
    backoff: &mut Duration,
) -> String {
    let heads = provider.subscribe_blocks().await;
    let logs = provider.subscribe_logs(&s.filter).await;
    let (mut heads, mut logs) = match (heads, logs) {
        (Ok(h), Ok(l)) => (h, l),
        (Err(e), _) | (_, Err(e)) => return scrub(&format!("subscribe failed: {e}")),
    };
    s.telemetry.link_connected(network, &s.url, 2);
    *backoff = Duration::from_millis(500);
    tracing::info!(url = %redact_endpoint(&s.url), "WebSocket subscriptions live");
    s.wake.notify_one(); // reconcile after every (re)connect
    loop {
        tokio::select! {
            head = heads.recv() => match head {
                Ok(h) => {
                    s.telemetry.head_seen(network, h.number);
                    s.rpc.note_head(h.number);
                    s.progress.head_seen(&s.network.id, h.number);
                    s.telemetry.blockchain("new_head", Direction::In, json!({ "number": h.number, "hash": h.hash.to_string() }));
                }
                Err(_) => break,
            },
            log = logs.recv() => match log {
                Ok(l) => s.telemetry.blockchain("log_notification", Direction::In, json!({
                    "transactionHash": l.transaction_hash.map(|h| h.to_string()),
                    "blockNumber": l.block_number,
                })),
                Err(_) => break,
            },
        }
        s.wake.notify_one();
    }
    tracing::warn!(url = %redact_endpoint(&s.url), "WebSocket subscription ended; reconnecting");
    "subscription ended".to_string()
}
