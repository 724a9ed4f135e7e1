//! Settlement against hostile endpoints, replays and reorgs (issue 15; docs/settlement.md lists
//! each guarantee with the test here that proves it). A real anvil behind the fault proxy of
//! `devchain/` wherever an endpoint has to misbehave.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{
    anvil::Anvil,
    chain::{shop_with, Setup, Shop},
    proxy::FaultProxy,
};

mod endpoints;
mod finality;
mod reorgs;
mod replays;
mod tokens;

fn tx_of(receipt: &Value) -> &str {
    receipt["transactionHash"].as_str().unwrap()
}

impl Shop {
    /// Polls the payment for `within`, failing at once if it ever shows `never`.
    async fn never_shows(&self, id: &Value, never: &str, within: Duration) -> Value {
        let until = Instant::now() + within;
        loop {
            let p = self.get(id).await;
            assert_ne!(p["status"], never, "the payment showed {never}: {p}");
            if Instant::now() >= until {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        self.app.sql_count(sql).await
    }

    async fn alert_kinds(&self) -> Vec<String> {
        self.alerts()
            .await
            .iter()
            .map(|a| a["kind"].as_str().unwrap().to_string())
            .collect()
    }

    async fn wait_for_alert(&self, kind: &str) -> Value {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(a) = self.alerts().await.into_iter().find(|a| a["kind"] == kind) {
                return a;
            }
            assert!(
                Instant::now() < until,
                "no {kind} alert came: {:?}",
                self.alert_kinds().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn rpc_endpoints(&self) -> Vec<Value> {
        let m: Value = self.app.get_json("/api/v1/stats/monitoring").await;
        m["rpc_endpoints"].as_array().unwrap().clone()
    }
}

/// A shop whose only RPC endpoint is a fault proxy in front of anvil (no WebSocket: every read goes
/// through the proxy).
pub(crate) async fn shop_behind_a_proxy(payments: &str) -> (Shop, FaultProxy) {
    let chain = Anvil::start().await;
    let proxy = FaultProxy::start(&chain.http_url()).await;
    let shop = shop_with(
        chain,
        Setup {
            payments,
            rpc_urls: Some(format!("\"{}\"", proxy.url)),
            no_ws: true,
            ..Setup::default()
        },
    )
    .await;
    (shop, proxy)
}

/// A shop whose first RPC endpoint is a fault proxy (with `faults` set before the shop starts) and
/// whose second is anvil itself, with a one-second quorum wait.
async fn shop_with_a_proxy_first(faults: Value) -> (Shop, FaultProxy) {
    let chain = Anvil::start().await;
    let proxy = FaultProxy::start(&chain.http_url()).await;
    proxy.set(faults).await;
    let urls = format!("\"{}\", \"{}\"", proxy.url, chain.http_url());
    let shop = shop_with(
        chain,
        Setup {
            payments: "confirmations = 1\nquorum_wait_seconds = 1",
            rpc_urls: Some(urls),
            ..Setup::default()
        },
    )
    .await;
    (shop, proxy)
}
