//! Tokens whose decimals on chain disagree with the configuration.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{
    anvil::Anvil,
    chain::{shop_with, Setup},
    helpers::assert_error,
    proxy::FaultProxy,
};

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
        let tokens: Vec<Value> = shop.app.get_json("/api/v1/tokens").await;
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
