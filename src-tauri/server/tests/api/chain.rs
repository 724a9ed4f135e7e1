//! The watcher and the manual check against a real anvil node and real token contracts.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use serde_json::{json, Value};

use crate::{
    anvil::{units, Anvil, STRANGER},
    helpers::{assert_error, spawn_app_at, TestApp, MERCHANT},
};

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
        let body: Value = self.app.get("/api/v1/alerts").await.json().await.unwrap();
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

#[tokio::test]
async fn an_exact_payment_confirms_within_a_block_then_is_paid_after_the_confirmation_rule() {
    let shop = shop("confirmations = 3").await;
    let p = shop.payment("10").await;

    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    let confirming = shop.wait_status(&p["id"], "confirming").await;
    assert_eq!(confirming["transaction_hash"], receipt["transactionHash"]);
    let block = block_of(&receipt);
    assert_eq!(confirming["block_number"], block);

    shop.chain.mine(2).await;
    let paid = shop.wait_status(&p["id"], "paid").await;

    assert!(paid["confirmations"].as_u64().unwrap() >= 3);
    assert!(paid["paid_at"].is_string());
    assert_eq!(paid["late"], false);
}

#[tokio::test]
async fn a_socket_connected_before_the_transfer_sees_confirming_then_paid() {
    let shop = shop("confirmations = 3").await;
    let p = shop.payment("11").await;
    let mut socket = crate::ws::connect(&shop.app, p["id"].as_str().unwrap()).await;
    assert_eq!(
        crate::ws::next_json(&mut socket).await["type"],
        "connection_ack"
    );

    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    let mut seen = vec![];
    loop {
        let update = crate::ws::next_json(&mut socket).await;
        assert_eq!(update["type"], "payment_status_update");
        let status = update["data"]["status"].as_str().unwrap().to_string();
        if status == "confirming" && seen.is_empty() {
            shop.chain.mine(2).await;
        }
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "paid" {
            assert_eq!(
                update["data"]["transactionHash"],
                receipt["transactionHash"]
            );
            assert!(update["data"]["blockNumber"].as_u64().is_some());
            break;
        }
    }
    assert_eq!(seen, ["confirming", "paid"]);
}

#[tokio::test]
async fn a_cent_too_little_or_too_much_is_not_paid_and_kept_as_unmatched() {
    let shop = shop("").await;
    let p = shop.payment("10").await;

    shop.chain.pay(shop.usdt, MERCHANT, units("9.99", 18)).await;
    shop.chain
        .pay(shop.usdt, MERCHANT, units("10.01", 18))
        .await;
    shop.chain.mine(3).await;
    shop.settle_a_while().await;

    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
    let unmatched = shop.transfers("false").await;
    let values: Vec<_> = unmatched
        .iter()
        .map(|t| t["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["10.01", "9.99"]);
    let audit = shop
        .app
        .sql_count(
            "SELECT COUNT(*) FROM events WHERE kind = 'transfer.unmatched' AND payment_id IS NULL",
        )
        .await;
    assert_eq!(
        audit, 2,
        "each unmatched transfer is in the audit trail once"
    );
}

#[tokio::test]
async fn the_right_amount_from_another_contract_with_the_same_symbol_is_not_paid() {
    let shop = shop("").await;
    let fake = shop.chain.deploy_token("Tether USD", "USDT", 18).await;
    let p = shop.payment("10").await;

    shop.chain.pay(fake, MERCHANT, exact(&p)).await;
    shop.chain.mine(3).await;
    shop.settle_a_while().await;

    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
}

#[tokio::test]
async fn the_right_token_to_another_address_is_ignored() {
    let shop = shop("").await;
    let p = shop.payment("10").await;

    shop.chain.pay(shop.usdt, STRANGER, exact(&p)).await;
    shop.chain.mine(3).await;
    shop.settle_a_while().await;

    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
    assert!(shop.transfers("false").await.is_empty());
}

#[tokio::test]
async fn one_transfer_seen_by_subscription_backfill_and_process_is_credited_once() {
    let shop = shop("confirmations = 50").await;
    let p = shop.payment("25").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;

    // Rewind the cursor so the next pass backfills the same block again.
    shop.app
        .sql("UPDATE chain_cursors SET block_number = 1")
        .await;
    shop.chain.mine(1).await;
    shop.settle_a_while().await;
    let again = shop
        .process(&p["id"], receipt["transactionHash"].as_str().unwrap())
        .await;

    assert_eq!(again.status(), 200);
    assert_eq!(shop.transfers("true").await.len(), 1, "one stored transfer");
    let page: Value = shop.app.get("/api/v1/payments").await.json().await.unwrap();
    assert_eq!(page["payments"].as_array().unwrap().len(), 1);
    assert_eq!(page["payments"][0]["status"], "confirming");
    assert_eq!(
        page["payments"][0]["transaction_hash"],
        receipt["transactionHash"]
    );
}

#[tokio::test]
async fn a_log_seen_again_after_its_payment_is_paid_never_credits_a_newer_payment() {
    let shop = shop("confirmations = 1\nrequire_finalized = false\npaid_hold_seconds = 0").await;
    let first = shop.payment("25").await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&first)).await;
    shop.wait_status(&first["id"], "paid").await;
    let second = shop.payment("25").await;
    assert_eq!(
        second["amount_base_units"], first["amount_base_units"],
        "no hold after paid here: the newer payment asks the very same amount"
    );

    shop.app
        .sql("UPDATE chain_cursors SET block_number = 1")
        .await; // backfill sees the old log again
    shop.chain.mine(1).await;
    shop.settle_a_while().await;

    assert_eq!(shop.get(&second["id"]).await["status"], "pending");
    assert_eq!(
        shop.app
            .sql_count("SELECT COUNT(*) FROM events WHERE to_status = 'confirming'")
            .await,
        1,
        "credited once, ever"
    );
}

#[tokio::test]
async fn a_reorg_that_removes_the_crediting_block_returns_the_payment_to_pending() {
    let shop = shop("confirmations = 20").await;
    let p = shop.payment("12").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;

    let block = block_of(&receipt);
    let depth = shop.chain.block_number().await - block + 1;
    shop.chain.call("anvil_reorg", json!([depth, []])).await;
    let back = shop.wait_status(&p["id"], "pending").await;
    assert!(back["transaction_hash"].is_null());

    shop.chain.mine(25).await;
    shop.settle_a_while().await;
    assert_eq!(
        shop.get(&p["id"]).await["status"],
        "pending",
        "never paid on an orphaned block"
    );
}

#[tokio::test]
async fn a_rollback_below_the_crediting_block_then_new_blocks_return_the_payment_to_pending() {
    let shop = shop("confirmations = 20").await;
    let p = shop.payment("13").await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;

    shop.chain.call("anvil_rollback", json!([1])).await;
    // A rollback alone looks like an endpoint that lags; the chain growing again past the credit's
    // height on another block is what shows the reorg.
    shop.chain.mine(2).await;

    shop.wait_status(&p["id"], "pending").await;
}

#[tokio::test]
async fn when_the_only_endpoint_restarts_transfers_made_meanwhile_are_found() {
    let mut shop = shop("").await;
    let p = shop.payment("30").await;

    shop.chain.stop().await;
    shop.until_link("saw the node go away", |l| !l.rpc_ok).await;
    shop.chain.restart().await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(2).await;

    shop.wait_status(&p["id"], "paid").await;
}

#[tokio::test]
async fn with_two_endpoints_and_the_first_dead_the_second_serves() {
    let chain = Anvil::start().await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let urls = format!("\"http://127.0.0.1:{dead}\", \"{}\"", chain.http_url());
    let shop = shop_on(chain, "quorum_wait_seconds = 1", Some(urls)).await;
    let p = shop.payment("8").await;

    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(2).await;

    shop.wait_status(&p["id"], "paid").await;
    shop.assert_settled_on_one_source(&p["id"]).await;
}

#[tokio::test]
async fn process_credits_a_valid_transaction_the_watcher_has_not_seen_yet() {
    let shop = shop("confirmations = 50").await;
    let p = shop.payment("5").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;

    let r = shop
        .process(&p["id"], receipt["transactionHash"].as_str().unwrap())
        .await;

    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "confirming");
    assert_eq!(body["transaction_hash"], receipt["transactionHash"]);
}

#[tokio::test]
async fn process_refuses_bad_transactions_with_the_reason_and_leaves_the_payment_unchanged() {
    let shop = shop("confirmations = 1\nrequire_finalized = false\npaid_hold_seconds = 0").await;
    let p = shop.payment("10").await;
    let id = &p["id"];

    let wrong_amount = shop.chain.pay(shop.usdt, MERCHANT, units("10.5", 18)).await;
    let elsewhere = shop.chain.pay(shop.usdt, STRANGER, exact(&p)).await;
    let other_token = shop.chain.pay(shop.usdc, MERCHANT, exact(&p)).await;
    shop.chain
        .call_token(
            crate::anvil::DEPLOYER,
            shop.usdt,
            "setFrozen(bool)",
            alloy::sol_types::SolValue::abi_encode(&true),
        )
        .await;
    let reverted = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    assert_eq!(reverted["status"], "0x0", "the frozen token reverts");
    shop.chain
        .call_token(
            crate::anvil::DEPLOYER,
            shop.usdt,
            "setFrozen(bool)",
            alloy::sol_types::SolValue::abi_encode(&false),
        )
        .await;

    for (tx, reason) in [
        (
            wrong_amount["transactionHash"].as_str().unwrap(),
            "amount_mismatch",
        ),
        (
            elsewhere["transactionHash"].as_str().unwrap(),
            "address_mismatch",
        ),
        (
            other_token["transactionHash"].as_str().unwrap(),
            "token_mismatch",
        ),
        (
            reverted["transactionHash"].as_str().unwrap(),
            "transaction_failed",
        ),
        (
            "0x1111111111111111111111111111111111111111111111111111111111111111",
            "not_found",
        ),
    ] {
        assert_error(shop.process(id, tx).await, 422, reason).await;
    }
    assert_error(shop.process(id, "0x1234").await, 422, "invalid_field").await;
    assert_eq!(
        shop.get(id).await["status"],
        "pending",
        "failed checks change nothing"
    );

    // A transfer already used by one payment cannot pay another.
    let used = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(id, "paid").await;
    let second = shop.payment("10").await;
    assert_eq!(
        second["amount_base_units"], p["amount_base_units"],
        "no hold after paid here: the second payment asks the same amount"
    );
    assert_error(
        shop.process(&second["id"], used["transactionHash"].as_str().unwrap())
            .await,
        422,
        "already_used",
    )
    .await;
    assert_eq!(shop.get(&second["id"]).await["status"], "pending");
}

#[tokio::test]
async fn staff_can_attach_an_unmatched_transfer_to_a_payment() {
    let shop = shop("confirmations = 1\nrequire_finalized = false").await;
    let p = shop.payment("20").await;
    shop.chain.pay(shop.usdt, MERCHANT, units("19.7", 18)).await; // an exchange withdrawal minus fees
    shop.settle_a_while().await;
    let inbox = shop.transfers("false").await;
    assert_eq!(inbox.len(), 1);

    let url = shop.app.url(&format!(
        "/api/v1/payments/{}/attach",
        p["id"].as_str().unwrap()
    ));
    let no_reason = shop
        .app
        .client
        .post(&url)
        .json(&json!({"transfer_id": inbox[0]["id"], "reason": " "}))
        .send()
        .await
        .unwrap();
    assert_error(no_reason, 422, "invalid_field").await;
    let attached = shop
        .app
        .client
        .post(&url)
        .json(
            &json!({"transfer_id": inbox[0]["id"], "reason": "exchange withdrawal, fee deducted"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(attached.status(), 200);
    let attached: Value = attached.json().await.unwrap();
    assert_eq!(attached["amount_received"], "19.70");
    assert_eq!(attached["amount_match"], "underpaid");

    let paid = shop.wait_status(&p["id"], "paid").await;
    assert_eq!(paid["amount_received"], "19.70", "received, not asked");
    assert_eq!(paid["amount_match"], "underpaid");
    let audit = shop
        .app
        .sql_count(
            "SELECT COUNT(*) FROM events WHERE detail LIKE '%exchange withdrawal, fee deducted%'",
        )
        .await;
    assert_eq!(audit, 1, "the reason is in the audit trail");
    assert!(shop.transfers("false").await.is_empty());
    let again = shop
        .app
        .client
        .post(&url)
        .json(&json!({"transfer_id": inbox[0]["id"], "reason": "again"}))
        .send()
        .await
        .unwrap();
    assert_error(again, 409, "invalid_state").await;
}

#[tokio::test]
async fn the_display_reaches_success_and_the_monitoring_figures_come_from_the_real_chain() {
    let shop = shop("confirmations = 3").await;
    let p = shop.payment("14").await;
    let id = p["id"].as_str().unwrap();
    let url = format!("{}/ws/display", shop.app.base.replace("http://", "ws://"));
    let mut display: crate::ws::Socket = tokio_tungstenite::connect_async(url).await.unwrap().0;
    assert_eq!(
        crate::ws::next_json(&mut display).await["data"]["mode"],
        "idle"
    );
    shop.app
        .client
        .put(shop.app.url("/api/v1/display"))
        .json(&json!({ "payment_id": id }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        crate::ws::next_json(&mut display).await["data"]["mode"],
        "payment"
    );
    let mut socket = crate::ws::connect(&shop.app, id).await;
    crate::ws::next_json(&mut socket).await;

    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(3).await;
    let mut mode = String::new();
    while mode != "success" {
        let update = crate::ws::next_json(&mut display).await;
        mode = update["data"]["mode"].as_str().unwrap().to_string();
        if mode == "success" {
            assert_eq!(update["data"]["payment"]["status"], "paid");
        }
    }
    // The payment socket saw chain-driven pushes, so latency has been measured.
    while crate::ws::next_json(&mut socket).await["data"]["status"] != "paid" {}

    let ws: Value = shop
        .app
        .get("/api/v1/stats/websocket")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ws["blockchain"]["isConnected"], true);
    assert_eq!(ws["blockchain"]["activeSubscriptions"], 2);
    assert!(ws["blockchain"]["currentEndpoint"]
        .as_str()
        .unwrap()
        .starts_with("ws://127.0.0.1:"));
    assert!(
        ws["blockchain"]["totalConnectionAttempts"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let monitoring: Value = shop
        .app
        .get("/api/v1/stats/monitoring")
        .await
        .json()
        .await
        .unwrap();
    let chain = &monitoring["blockchain_monitoring"];
    assert!(
        chain["average_latency"].as_f64().unwrap() > 0.0,
        "{monitoring}"
    );
    assert!(chain["last_block_processed"].as_u64().unwrap() > 0);
    assert_eq!(chain["events_detected"], 1);
    assert!(
        monitoring["websocket_connections"]["active"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(
        monitoring["validation_performance"]["validation_success_rate"],
        100.0
    );
    let system: Value = shop
        .app
        .get("/api/v1/stats/system")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(system["blockchain_connection"], "connected");
    // The node's announcements arrive on their own socket: give the last ones a moment.
    let mut blockchain: Vec<String> = vec![];
    for _ in 0..40 {
        let messages: Value = shop
            .app
            .get("/api/v1/stats/websocket/messages?limit=500")
            .await
            .json()
            .await
            .unwrap();
        blockchain = messages["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["source"] == "blockchain")
            .map(|m| m["type"].as_str().unwrap().to_string())
            .collect();
        if blockchain.iter().any(|k| k == "new_head") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for kind in [
        "subscribed",
        "new_head",
        "transfer_event",
        "rpc_request",
        "rpc_response",
    ] {
        assert!(
            blockchain.iter().any(|k| k == kind),
            "no {kind} in {blockchain:?}"
        );
    }
    let stats: Value = shop
        .app
        .get("/api/v1/stats/payments")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["successful_payments"], 1);
    assert_eq!(stats["success_rate"], 100.0);
}

#[tokio::test]
async fn with_the_first_of_two_endpoints_black_holed_the_second_serves() {
    let chain = Anvil::start().await;
    // Accepts connections and never answers: worse than refusing them.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = hole.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            held.push(socket);
        }
    });
    let urls = format!("\"http://127.0.0.1:{port}\", \"{}\"", chain.http_url());
    let shop = shop_on(chain, "quorum_wait_seconds = 1", Some(urls)).await;
    let p = shop.payment("9").await;

    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(2).await;

    shop.wait_status(&p["id"], "paid").await;
    shop.assert_settled_on_one_source(&p["id"]).await;
}
