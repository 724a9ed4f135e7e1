//! Finality as the deciding rule, and expiry judged on chain time.

use std::time::Duration;

use serde_json::json;

use super::shop_behind_a_proxy;
use crate::{
    anvil::Anvil,
    chain::{block_of, exact, shop_with, Setup},
    helpers::MERCHANT,
};

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
