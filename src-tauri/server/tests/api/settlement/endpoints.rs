//! Endpoints that refuse, rate-limit, lag, sit on another chain or invent transfers.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{shop_behind_a_proxy, shop_with_a_proxy_first, tx_of};
use crate::{
    anvil::{Anvil, CUSTOMER},
    chain::{exact, shop_with, Setup},
    helpers::MERCHANT,
    proxy::FaultProxy,
};

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

#[tokio::test]
async fn an_endpoint_on_another_chain_id_is_never_used() {
    let (shop, other) = shop_with_a_proxy_first(json!({ "chainId": 97 })).await;
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
async fn an_endpoint_inventing_a_transfer_never_gets_the_sale_paid_and_is_distrusted() {
    let (shop, liar) = shop_with_a_proxy_first(json!({})).await;
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
