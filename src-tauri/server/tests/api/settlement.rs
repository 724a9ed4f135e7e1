//! Settlement against hostile endpoints, replays and reorgs (issue 15; docs/settlement.md lists
//! each guarantee with the test here that proves it). A real anvil behind the fault proxy of
//! `devchain/` wherever an endpoint has to misbehave.

use std::time::{Duration, Instant};

use alloy::{primitives::keccak256, sol_types::SolValue};
use serde_json::{json, Value};

use crate::{
    anvil::{addr, units, Anvil, CUSTOMER, DEPLOYER},
    chain::{block_of, exact, shop, shop_with, Setup, Shop},
    helpers::{assert_error, MERCHANT},
    proxy::FaultProxy,
};

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
        let m: Value = self
            .app
            .get("/api/v1/stats/monitoring")
            .await
            .json()
            .await
            .unwrap();
        m["rpc_endpoints"].as_array().unwrap().clone()
    }
}

/// A shop whose only RPC endpoint is a fault proxy in front of anvil (no WebSocket: every read goes
/// through the proxy).
async fn shop_behind_a_proxy(payments: &str) -> (Shop, FaultProxy) {
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

// --- replays -------------------------------------------------------------------------------------

#[tokio::test]
async fn an_old_transfer_an_inbox_transfer_and_a_double_payment_replayed_through_process_are_too_old(
) {
    let chain = Anvil::start().await;
    let shop = shop_with(
        chain,
        Setup {
            payments: "confirmations = 1\nrequire_finalized = false",
            chain: "initial_lookback_blocks = 10",
            paid_before_start: Some("7"),
            ..Setup::default()
        },
    )
    .await;
    // An old transfer, mined long before the watcher started (it never saw it).
    let old = shop.prepaid.clone().unwrap();
    // A transfer the watcher saw and kept in the inbox before the sale existed.
    let inbox = shop.chain.pay(shop.usdt, MERCHANT, units("9", 18)).await;
    shop.settle_a_while().await;
    assert_eq!(shop.transfers("false").await.len(), 1);
    // A double payment: the customer pays a sale, then sends the same amount again.
    let first = shop.payment("8").await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&first)).await;
    shop.wait_status(&first["id"], "paid").await;
    let again = shop.chain.pay(shop.usdt, MERCHANT, exact(&first)).await;
    shop.settle_a_while().await;
    let inboxed = shop.transfers("false").await;
    let double = inboxed
        .iter()
        .find(|t| t["transaction_hash"] == again["transactionHash"])
        .expect("the second send is in the inbox");
    assert_eq!(double["reason"], "second_payment");
    assert_eq!(double["related_payment_id"], first["id"]);
    // Past the paid sale's hold, a new sale may ask the very same amount again.
    shop.app.advance(chrono::Duration::seconds(901));

    for (amount, replayed) in [("7", &old), ("9", &inbox), ("8", &again)] {
        let sale = shop.payment(amount).await;
        assert_eq!(
            sale["amount"],
            format!("{amount}.00"),
            "the sale asks exactly the replayed amount"
        );
        let r = shop.process(&sale["id"], tx_of(replayed)).await;
        assert_error(r, 422, "transaction_too_old").await;
        shop.settle_a_while().await;
        assert_eq!(shop.get(&sale["id"]).await["status"], "pending");
    }
    let stats: Value = shop
        .app
        .get("/api/v1/stats/payments")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["failure_reasons"]["transaction_too_old"], 3);
}

#[tokio::test]
async fn a_transfer_sent_before_a_cancel_goes_to_the_inbox_linked_to_it_and_never_pays_the_next_sale(
) {
    let shop = shop("confirmations = 1\nrequire_finalized = false").await;
    let cancelled = shop.payment("10").await;
    shop.chain.set_automine(false).await;
    let in_flight = shop
        .chain
        .transfer_only(CUSTOMER, shop.usdt, MERCHANT, exact(&cancelled))
        .await;
    let r = shop
        .app
        .post_empty(&format!(
            "/api/v1/payments/{}/cancel",
            cancelled["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status(), 200);

    let next = shop.payment("10").await;
    assert_ne!(
        next["amount"], cancelled["amount"],
        "the cancelled sale still holds its amount"
    );
    shop.chain.mine(1).await;
    shop.chain.set_automine(true).await;
    assert!(!shop.chain.receipt(&in_flight).await.is_null(), "mined");
    shop.settle_a_while().await;

    assert_eq!(shop.get(&next["id"]).await["status"], "pending");
    assert_eq!(shop.get(&cancelled["id"]).await["status"], "cancelled");
    let inbox = shop.transfers("false").await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["transaction_hash"], in_flight);
    assert_eq!(inbox[0]["reason"], "paid_after_cancel");
    assert_eq!(inbox[0]["related_payment_id"], cancelled["id"]);
    assert!(shop
        .alert_kinds()
        .await
        .contains(&"inbox_linked_transfers".to_string()));
}

// --- endpoints that refuse -----------------------------------------------------------------------

/// Three endpoints, the first behind a proxy with `faults`: a sale is paid through the others as
/// fast as usual.
async fn paid_through_the_other_endpoints_when_the_first(faults: Value) {
    let chain = Anvil::start().await;
    let bad = FaultProxy::start(&chain.http_url()).await;
    let good = FaultProxy::start(&chain.http_url()).await;
    bad.set(faults).await;
    let urls = format!(
        "\"{}\", \"{}\", \"{}\"",
        bad.url,
        good.url,
        chain.http_url()
    );
    let shop = shop_with(
        chain,
        Setup {
            payments: "confirmations = 1",
            rpc_urls: Some(urls),
            ..Setup::default()
        },
    )
    .await;
    let p = shop.payment("12").await;

    let started = Instant::now();
    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(2).await;
    shop.wait_status(&p["id"], "paid").await;

    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "paid after {took:?}");
    let flagged = shop
        .count("SELECT COUNT(*) FROM events WHERE to_status = 'paid' AND detail LIKE '%\"single_source\":false%'")
        .await;
    assert_eq!(
        flagged, 1,
        "confirmed by a second endpoint, not settled on one"
    );
}

#[tokio::test]
async fn a_first_endpoint_refusing_logs_with_limit_exceeded_fails_over_and_the_sale_is_paid() {
    paid_through_the_other_endpoints_when_the_first(json!({
        "methods": { "eth_getLogs": { "error": { "code": -32005, "message": "limit exceeded" } } }
    }))
    .await;
}

#[tokio::test]
async fn a_first_endpoint_answering_http_429_to_everything_fails_over_and_the_sale_is_paid() {
    paid_through_the_other_endpoints_when_the_first(json!({
        "http": { "status": 429, "retryAfter": 30 }
    }))
    .await;
}

#[tokio::test]
async fn a_first_endpoint_without_get_logs_fails_over_and_the_sale_is_paid() {
    paid_through_the_other_endpoints_when_the_first(json!({
        "methods": { "eth_getLogs": { "error": { "code": -32601, "message": "the method eth_getLogs does not exist/is not available" } } }
    }))
    .await;
}

#[tokio::test]
async fn with_get_logs_refused_everywhere_a_payment_credited_through_process_still_reaches_paid() {
    let (shop, proxy) = shop_behind_a_proxy("confirmations = 2").await;
    proxy
        .set(json!({ "methods": { "eth_getLogs": { "error": { "code": -32005, "message": "limit exceeded" } } } }))
        .await;
    let p = shop.payment("6").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.settle_a_while().await;
    assert_eq!(
        shop.get(&p["id"]).await["status"],
        "pending",
        "no endpoint serves logs: the watcher cannot see it"
    );
    shop.wait_for_alert("no_logs_endpoint").await;

    let r = shop.process(&p["id"], tx_of(&receipt)).await;
    assert_eq!(r.status(), 200);
    shop.chain.mine(3).await;

    shop.wait_status(&p["id"], "paid").await;
    shop.wait_for_alert("logs_unavailable").await;
    let endpoints = shop.rpc_endpoints().await;
    assert_eq!(endpoints[0]["logs"], "not_served", "{endpoints:?}");
}

// --- a lagging endpoint ---------------------------------------------------------------------------

#[tokio::test]
async fn an_endpoint_lagging_for_a_few_seconds_never_turns_a_confirming_payment_back_to_pending() {
    let (shop, proxy) = shop_behind_a_proxy("confirmations = 30").await;
    let p = shop.payment("15").await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;

    proxy.set(json!({ "lag": 6 })).await;
    for _ in 0..6 {
        shop.chain.mine(1).await;
        shop.never_shows(&p["id"], "pending", Duration::from_millis(500))
            .await;
    }
    proxy.set(json!({})).await;
    let after = shop
        .never_shows(&p["id"], "pending", Duration::from_secs(1))
        .await;

    assert_eq!(after["status"], "confirming");
    assert_eq!(
        shop.count("SELECT COUNT(*) FROM events WHERE kind = 'payment.reverted'")
            .await,
        0,
        "no reverted event: webhooks do not flap"
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) FROM events WHERE kind = 'payment.confirming'")
            .await,
        1
    );
}

// --- finality ------------------------------------------------------------------------------------

#[tokio::test]
async fn with_anvil_s_default_epoch_and_one_confirmation_a_payment_stays_confirming_until_finalized(
) {
    let chain = Anvil::start_with_default_epoch().await;
    let shop = shop_with(
        chain,
        Setup {
            payments: "confirmations = 1",
            ..Setup::default()
        },
    )
    .await;
    let p = shop.payment("3").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;

    shop.chain.mine(20).await;
    let waiting = shop
        .never_shows(&p["id"], "paid", Duration::from_secs(1))
        .await;
    assert_eq!(waiting["status"], "confirming");
    assert!(waiting["confirmations"].as_u64().unwrap() >= 20);

    shop.chain.mine(60).await;
    let paid = shop.wait_status(&p["id"], "paid").await;
    let finalized = shop
        .chain
        .call("eth_getBlockByNumber", json!(["finalized", false]))
        .await;
    assert!(block_of(&finalized) >= block_of(&receipt));
    // The confirmations shown are counted from the head the settling pass read, which may be from
    // before the last 60 blocks were mined: at least the 20 seen while it waited.
    assert!(paid["confirmations"].as_u64().unwrap() >= 21);
}

#[tokio::test]
async fn once_the_network_serves_finality_an_endpoint_that_stops_is_an_alert_not_a_shortcut() {
    let (shop, proxy) = shop_behind_a_proxy("confirmations = 1").await;
    let p = shop.payment("4").await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;

    proxy.set(json!({ "finalized": "null" })).await;
    shop.chain.mine(5).await;
    shop.never_shows(&p["id"], "paid", Duration::from_secs(2))
        .await;
    shop.wait_for_alert("finality_unavailable").await;

    proxy.set(json!({})).await;
    shop.wait_status(&p["id"], "paid").await;
}

// --- reorgs --------------------------------------------------------------------------------------

/// The raw signed transaction, to include it again in a reorg.
async fn raw(chain: &Anvil, hash: &str) -> Value {
    chain
        .call("eth_getRawTransactionByHash", json!([hash]))
        .await
}

#[tokio::test]
async fn a_reorg_re_including_the_crediting_transaction_at_another_log_index_credits_it_once() {
    let shop = shop("confirmations = 20\nrequire_finalized = false").await;
    let p = shop.payment("21").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;
    let old_index = shop
        .count("SELECT log_index FROM transfers WHERE payment_id IS NOT NULL")
        .await;

    // The new chain: another transfer first in the block, then the same transaction.
    let mint = {
        let mut data = keccak256("mint(address,uint256)".as_bytes())[..4].to_vec();
        data.extend((addr(MERCHANT), units("1", 18)).abi_encode_params());
        json!({"from": DEPLOYER, "to": shop.usdt.to_checksum(None), "data": format!("0x{}", alloy::hex::encode(data)), "gas": "0x100000"})
    };
    let depth = shop.chain.block_number().await - block_of(&receipt) + 1;
    let same = raw(&shop.chain, tx_of(&receipt)).await;
    shop.chain
        .call("anvil_reorg", json!([depth, [[mint, 0], [same, 0]]]))
        .await;
    shop.chain.mine(1).await;

    let until = Instant::now() + Duration::from_secs(20);
    while shop
        .count(&format!(
            "SELECT COUNT(*) FROM transfers WHERE payment_id IS NOT NULL AND log_index != {old_index}"
        ))
        .await
        == 0
    {
        assert!(Instant::now() < until, "never credited at the new log index");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let credited = shop.get(&p["id"]).await;
    assert_eq!(credited["status"], "confirming");
    assert_eq!(credited["transaction_hash"], receipt["transactionHash"]);
    let rows = shop
        .count(&format!(
            "SELECT COUNT(*) FROM transfers WHERE tx_hash = '{}' AND payment_id IS NOT NULL",
            tx_of(&receipt)
        ))
        .await;
    assert_eq!(
        rows, 1,
        "one transaction credits once, whatever its log index"
    );
    let new_index = shop
        .count("SELECT log_index FROM transfers WHERE payment_id IS NOT NULL")
        .await;
    assert_ne!(
        new_index, old_index,
        "the reorg moved it to another log index"
    );
    assert_eq!(
        credited["block_number"].as_u64().unwrap(),
        block_of(&receipt)
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) FROM payment_sessions WHERE transaction_hash IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn a_reorg_deeper_than_64_blocks_re_credits_the_re_included_transfer_and_says_payment_reverted(
) {
    let (receiver, url) = crate::webhooks::Receiver::start(&[]).await;
    let hooks = format!(
        "[[webhooks]]\nurl = \"{url}\"\nsecret = \"whsec_test_0123456789\"\nevents = [\"payment.reverted\"]\n"
    );
    let chain = Anvil::start().await;
    let shop = shop_with(
        chain,
        Setup {
            payments: "confirmations = 500",
            extra: &hooks,
            ..Setup::default()
        },
    )
    .await;
    shop.chain.mine(10).await;
    shop.settle_a_while().await;
    let p = shop.payment("22").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;
    shop.chain.mine(70).await;
    shop.wait_for(&p["id"], "70 confirmations deep", |p| {
        p["confirmations"].as_u64().unwrap() >= 70
    })
    .await;

    // The new chain forks 2 blocks before the credit's and carries the transaction in its first
    // block: more than 64 blocks below the head.
    let depth = shop.chain.block_number().await - block_of(&receipt) + 3;
    let same = raw(&shop.chain, tx_of(&receipt)).await;
    shop.chain
        .call("anvil_reorg", json!([depth, [[same, 0]]]))
        .await;

    let seen = receiver.wait_for(1).await;
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["type"], "payment.reverted");
    assert_eq!(body["data"]["payment"]["status"], "pending");
    let again = shop
        .wait_for(&p["id"], "credited again in its new block", |p| {
            p["status"] == "confirming"
                && p["transaction_hash"] == receipt["transactionHash"]
                && p["block_number"].as_u64() != Some(block_of(&receipt))
        })
        .await;
    assert_eq!(
        again["block_number"].as_u64().unwrap(),
        block_of(&receipt) - 2
    );
}

// --- wrong chain, wrong decimals, self-transfers ---------------------------------------------------

#[tokio::test]
async fn an_endpoint_on_another_chain_id_is_never_used() {
    let chain = Anvil::start().await;
    let other = FaultProxy::start(&chain.http_url()).await;
    other.set(json!({ "chainId": 97 })).await;
    let urls = format!("\"{}\", \"{}\"", other.url, chain.http_url());
    let shop = shop_with(
        chain,
        Setup {
            payments: "confirmations = 1\nquorum_wait_seconds = 1",
            rpc_urls: Some(urls),
            ..Setup::default()
        },
    )
    .await;
    let p = shop.payment("5").await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(2).await;
    shop.wait_status(&p["id"], "paid").await;

    let counts = other.counts().await;
    let used: Vec<&String> = counts
        .as_object()
        .unwrap()
        .keys()
        .filter(|m| *m != "eth_chainId")
        .collect();
    assert!(
        used.is_empty(),
        "only asked for its chain id, used for {used:?}"
    );
    shop.wait_for_alert("endpoint_wrong_chain").await;
    let endpoints = shop.rpc_endpoints().await;
    assert!(
        endpoints.iter().any(|e| e["status"] == "wrong_chain"),
        "{endpoints:?}"
    );
}

#[tokio::test]
async fn a_token_configured_with_6_decimals_on_an_18_decimals_contract_is_refused_clearly() {
    let chain = Anvil::start().await;
    let shop = shop_with(
        chain,
        Setup {
            usdt_decimals: Some(6),
            ..Setup::default()
        },
    )
    .await;
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let tokens: Vec<Value> = shop.app.get("/api/v1/tokens").await.json().await.unwrap();
        let usdt = tokens.iter().find(|t| t["symbol"] == "USDT").unwrap();
        if usdt["disabled"].is_string() {
            break;
        }
        assert!(Instant::now() < until, "USDT was never disabled: {usdt}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let refused = shop
        .app
        .create(json!({"amount": "10", "token": "USDT", "network": "bsc"}))
        .await;
    let body = assert_error(refused, 409, "token_disabled").await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("6 decimals") && message.contains("reports 18"),
        "{message}"
    );
    assert!(
        shop.app
            .create(json!({"amount": "10", "token": "USDC", "network": "bsc"}))
            .await
            .status()
            .is_success(),
        "the other tokens still sell"
    );
    shop.wait_for_alert("token_disabled").await;
}

#[tokio::test]
async fn a_sale_made_before_its_token_was_found_misconfigured_fails_with_the_reason() {
    let chain = Anvil::start().await;
    let proxy = FaultProxy::start(&chain.http_url()).await;
    // The endpoint cannot answer decimals() yet: the token is not checked, so it still sells.
    proxy
        .set(json!({ "methods": { "eth_call": { "status": 503 } } }))
        .await;
    let shop = shop_with(
        chain,
        Setup {
            rpc_urls: Some(format!("\"{}\"", proxy.url)),
            no_ws: true,
            usdt_decimals: Some(6),
            ..Setup::default()
        },
    )
    .await;
    let sale = shop.payment("10").await;
    assert_eq!(sale["status"], "pending");
    let mut socket = crate::ws::connect(&shop.app, sale["id"].as_str().unwrap()).await;
    assert_eq!(
        crate::ws::next_json(&mut socket).await["type"],
        "connection_ack"
    );

    proxy.set(json!({})).await;
    let failed = shop.wait_status(&sale["id"], "failed").await;
    assert_eq!(failed["status"], "failed");
    let update = crate::ws::next_json(&mut socket).await;
    assert_eq!(update["event"], "payment.failed", "{update}");
    let reason: String = shop
        .app
        .sql_text(&format!(
            "SELECT detail FROM events WHERE payment_id = '{}' AND kind = 'payment.failed'",
            sale["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        reason.contains("reports 18"),
        "the audit trail says why: {reason}"
    );
}

#[tokio::test]
async fn a_transfer_from_the_receive_address_to_itself_pays_nothing() {
    let shop = shop("confirmations = 1\nrequire_finalized = false").await;
    let p = shop.payment("11").await;
    shop.chain
        .call("anvil_impersonateAccount", json!([MERCHANT]))
        .await;
    shop.chain
        .call("anvil_setBalance", json!([MERCHANT, "0xde0b6b3a7640000"]))
        .await;
    shop.chain
        .call_token(
            DEPLOYER,
            shop.usdt,
            "mint(address,uint256)",
            (addr(MERCHANT), units("100", 18)).abi_encode_params(),
        )
        .await;

    let own = shop
        .chain
        .call_token(
            MERCHANT,
            shop.usdt,
            "transfer(address,uint256)",
            (addr(MERCHANT), exact(&p)).abi_encode_params(),
        )
        .await;
    shop.chain.mine(2).await;
    shop.settle_a_while().await;

    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
    assert_error(
        shop.process(&p["id"], tx_of(&own)).await,
        422,
        "self_transfer",
    )
    .await;
    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
}

// --- expiry and lateness ---------------------------------------------------------------------------

#[tokio::test]
async fn a_transfer_mined_before_expiry_but_seen_after_it_is_not_late() {
    let (shop, proxy) = shop_behind_a_proxy("confirmations = 1\nrequire_finalized = false").await;
    let p = shop
        .app
        .create_ok(json!({"amount": "13", "token": "USDT", "expires_in": 60}))
        .await;
    // The watcher is cut off, the customer pays in time, and the shop's clock passes the expiry.
    proxy
        .set(json!({ "http": { "status": 503, "body": "down for maintenance" } }))
        .await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.app.advance(chrono::Duration::seconds(61));
    let waiting = shop.get(&p["id"]).await;
    assert_eq!(
        waiting["status"], "pending",
        "not expired while the watcher has not looked past the expiry"
    );

    proxy.set(json!({})).await;
    let paid = shop.wait_status(&p["id"], "paid").await;
    assert_eq!(
        paid["late"], false,
        "mined in time, however late it was seen"
    );
}

#[tokio::test]
async fn a_payment_the_chain_cannot_be_asked_about_expires_after_a_bounded_wait() {
    let (shop, proxy) = shop_behind_a_proxy("").await;
    proxy
        .set(json!({ "http": { "status": 503, "body": "down" } }))
        .await;
    let p = shop
        .app
        .create_ok(json!({"amount": "14", "token": "USDT", "expires_in": 60}))
        .await;

    shop.app.advance(chrono::Duration::seconds(61));
    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
    shop.app.advance(chrono::Duration::seconds(120));
    assert_eq!(shop.get(&p["id"]).await["status"], "expired");
}

// --- a lying endpoint ------------------------------------------------------------------------------

#[tokio::test]
async fn an_endpoint_inventing_a_transfer_never_gets_the_sale_paid_and_is_distrusted() {
    let chain = Anvil::start().await;
    let liar = FaultProxy::start(&chain.http_url()).await;
    let urls = format!("\"{}\", \"{}\"", liar.url, chain.http_url());
    let shop = shop_with(
        chain,
        Setup {
            payments: "confirmations = 1\nquorum_wait_seconds = 1",
            rpc_urls: Some(urls),
            ..Setup::default()
        },
    )
    .await;
    let p = shop.payment("16").await;
    liar.set(json!({ "fabricate": [{
        "token": shop.usdt.to_checksum(None),
        "from": CUSTOMER,
        "to": MERCHANT,
        "value": exact(&p).to_string(),
    }] }))
    .await;
    shop.wait_status(&p["id"], "confirming").await;

    shop.chain.mine(3).await;
    shop.wait_status(&p["id"], "pending").await;
    shop.chain.mine(3).await;
    let after = shop
        .never_shows(&p["id"], "paid", Duration::from_secs(2))
        .await;

    assert_eq!(after["status"], "pending");
    assert!(after["transaction_hash"].is_null());
    let alert = shop.wait_for_alert("endpoint_untrusted").await;
    assert!(alert["message"]
        .as_str()
        .unwrap()
        .contains(&liar.url.replace("http://", "")));
    let endpoints = shop.rpc_endpoints().await;
    assert_eq!(endpoints[0]["status"], "untrusted", "{endpoints:?}");
    let reverted = shop
        .count("SELECT COUNT(*) FROM events WHERE kind = 'payment.reverted' AND detail LIKE '%not_confirmed%'")
        .await;
    assert_eq!(reverted, 1);

    // The honest endpoint goes on: a real payment of the sale is paid.
    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(3).await;
    shop.wait_status(&p["id"], "paid").await;
}

// --- staff attach --------------------------------------------------------------------------------

#[tokio::test]
async fn attaching_to_an_expired_payment_whose_amount_a_newer_sale_holds_is_a_conflict_not_an_error(
) {
    let shop = shop("late_grace_seconds = 0").await;
    let expired = shop
        .app
        .create_ok(json!({"amount": "5", "token": "USDT", "expires_in": 30}))
        .await;
    shop.app.advance(chrono::Duration::seconds(200));
    assert_eq!(shop.get(&expired["id"]).await["status"], "expired");
    let newer = shop.payment("5").await;
    assert_eq!(
        newer["amount"], expired["amount"],
        "no grace: the amount is free again"
    );
    shop.chain.pay(shop.usdt, MERCHANT, units("4.9", 18)).await;
    shop.settle_a_while().await;
    let inbox = shop.transfers("false").await;

    let r = shop
        .app
        .client
        .post(shop.app.url(&format!(
            "/api/v1/payments/{}/attach",
            expired["id"].as_str().unwrap()
        )))
        .json(&json!({"transfer_id": inbox[0]["id"], "reason": "paid late from an exchange"}))
        .send()
        .await
        .unwrap();

    let body = assert_error(r, 409, "amount_held").await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("5.00 USDT"));
    assert_eq!(shop.get(&expired["id"]).await["status"], "expired");
    assert_eq!(
        shop.transfers("false").await.len(),
        1,
        "the transfer stays in the inbox"
    );
}
