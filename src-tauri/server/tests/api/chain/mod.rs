//! The watcher and the manual check against a real anvil node and real token contracts.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use serde_json::{json, Value};

use crate::{
    anvil::{units, Anvil},
    helpers::{spawn_app_at, TestApp, MERCHANT},
};

mod display;
mod endpoints;
mod epusdt;
mod manual;
mod matching;
mod networks;
mod refunds;
mod reorgs;

pub(crate) struct Shop {
    pub app: TestApp,
    pub chain: Anvil,
    pub usdt: Address,
    pub usdc: Address,
    /// The receipt of [`Setup::paid_before_start`]'s transfer.
    pub prepaid: Option<Value>,
}

/// How a test shop watches its chain.
#[derive(Default)]
pub(crate) struct Setup<'a> {
    /// Lines of the `[payments]` section.
    pub payments: &'a str,
    /// `rpc_urls` (TOML list items); default: the node itself.
    pub rpc_urls: Option<String>,
    /// No WebSocket subscription (only the RPC endpoints are read).
    pub no_ws: bool,
    /// USDT as configured, when not 18.
    pub usdt_decimals: Option<u8>,
    /// Lines added to the `[chain]` section.
    pub chain: &'a str,
    /// More TOML (e.g. `[[webhooks]]`).
    pub extra: &'a str,
    /// Pays this much USDT to the shop before the server starts (an old transfer), then mines
    /// blocks past the first start's look-back.
    pub paid_before_start: Option<&'a str>,
}

/// anvil with USDT and USDC mocks, and the server watching it.
pub(crate) async fn shop(payments: &str) -> Shop {
    let chain = Anvil::start().await;
    shop_on(chain, payments, None).await
}

pub(crate) async fn shop_on(chain: Anvil, payments: &str, rpc_urls: Option<String>) -> Shop {
    shop_with(
        chain,
        Setup {
            payments,
            rpc_urls,
            ..Setup::default()
        },
    )
    .await
}

pub(crate) async fn shop_with(chain: Anvil, setup: Setup<'_>) -> Shop {
    let usdt = chain.deploy_token("Tether USD (mock)", "USDT", 18).await;
    let usdc = chain.deploy_token("USD Coin (mock)", "USDC", 18).await;
    let rpc_urls = setup
        .rpc_urls
        .unwrap_or_else(|| format!("\"{}\"", chain.http_url()));
    let ws = if setup.no_ws {
        String::new()
    } else {
        format!("\"{}\"", chain.ws_url())
    };
    let prepaid = match setup.paid_before_start {
        Some(amount) => {
            let receipt = chain.pay(usdt, MERCHANT, units(amount, 18)).await;
            chain.mine(150).await;
            Some(receipt)
        }
        None => None,
    };
    let extra = format!(
        "[payments]\n{payments}\n[chain]\npoll_interval_ms = 200\n{chain_lines}\n{more}\n\
         [[networks]]\nid = \"bsc\"\nname = \"anvil\"\nchain_id = 56\nrpc_urls = [{rpc_urls}]\nws_urls = [{ws}]\n\
         [[tokens]]\nsymbol = \"USDT\"\nnetwork = \"bsc\"\ncontract_address = \"{usdt}\"\ndecimals = {usdt_decimals}\n\
         [[tokens]]\nsymbol = \"USDC\"\nnetwork = \"bsc\"\ncontract_address = \"{usdc}\"\ndecimals = 18\n",
        payments = setup.payments,
        chain_lines = setup.chain,
        more = setup.extra,
        usdt = usdt.to_checksum(None),
        usdc = usdc.to_checksum(None),
        usdt_decimals = setup.usdt_decimals.unwrap_or(18),
    );
    // The chain's blocks carry real timestamps: the shop's clock starts at the real time.
    let app = spawn_app_at(&extra, |_| {}, chrono::Utc::now()).await;
    Shop {
        app,
        chain,
        usdt,
        usdc,
        prepaid,
    }
}

impl Shop {
    pub(crate) async fn payment(&self, amount: &str) -> Value {
        self.app
            .create_ok(json!({"amount": amount, "token": "USDT", "network": "bsc"}))
            .await
    }

    pub(crate) async fn get(&self, id: &Value) -> Value {
        self.app
            .get(&format!("/api/v1/payments/{}", id.as_str().unwrap()))
            .await
            .json()
            .await
            .unwrap()
    }

    /// Polls the payment until `done` holds (20 s at most).
    pub(crate) async fn wait_for(
        &self,
        id: &Value,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let p = self.get(id).await;
            if done(&p) {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "payment never became {what}: {p}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn wait_status(&self, id: &Value, status: &str) -> Value {
        self.wait_for(id, status, |p| p["status"] == status).await
    }

    /// The watcher's view of the network, as its telemetry records it.
    pub(crate) fn link(&self) -> stablepay_core::telemetry::LinkStats {
        let core = &self.app.server.as_ref().expect("running").core;
        core.telemetry.links().remove("bsc").unwrap_or_default()
    }

    /// Waits until `done` holds for the watcher's view (20 s at most).
    pub(crate) async fn until_link(
        &self,
        what: &str,
        done: impl Fn(&stablepay_core::telemetry::LinkStats) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&self.link()) {
            assert!(Instant::now() < deadline, "the watcher never {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Lets the watcher finish two more passes (so one started after this call ran whole).
    pub(crate) async fn settle_a_while(&self) {
        let from = self.link().passes;
        self.until_link("finished two passes", |l| l.passes >= from + 2)
            .await;
    }

    pub(crate) async fn transfers(&self, matched: &str) -> Vec<Value> {
        self.app
            .get(&format!("/api/v1/transfers?matched={matched}"))
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
    }

    /// The payment became paid on one endpoint's word (no second could answer), and says so.
    pub(crate) async fn assert_settled_on_one_source(&self, id: &Value) {
        let flagged = self
            .app
            .sql_count(&format!(
                "SELECT COUNT(*) FROM events WHERE payment_id = '{}' AND to_status = 'paid' AND detail LIKE '%\"single_source\":true%'",
                id.as_str().unwrap()
            ))
            .await;
        assert_eq!(flagged, 1, "the audit trail flags the single source");
        assert!(
            self.alerts()
                .await
                .iter()
                .any(|a| a["kind"] == "single_source_settlement"),
            "an alert says so"
        );
    }

    /// The active alerts.
    pub(crate) async fn alerts(&self) -> Vec<Value> {
        let body: Value = self.app.get_json("/api/v1/alerts").await;
        body["alerts"].as_array().unwrap().clone()
    }

    pub(crate) async fn process(&self, id: &Value, tx: &str) -> reqwest::Response {
        let url = self.app.url(&format!(
            "/api/v1/payments/{}/process",
            id.as_str().unwrap()
        ));
        self.app
            .client
            .post(url)
            .json(&json!({"transaction_hash": tx}))
            .send()
            .await
            .unwrap()
    }
}

/// The block number of a receipt (or block) as JSON-RPC spells it.
pub(crate) fn block_of(receipt: &Value) -> u64 {
    u64::from_str_radix(
        receipt["blockNumber"]
            .as_str()
            .or_else(|| receipt["number"].as_str())
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap()
}

pub(crate) fn exact(p: &Value) -> U256 {
    p["amount_base_units"].as_str().unwrap().parse().unwrap()
}
