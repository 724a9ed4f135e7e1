//! The customer display and the monitoring figures, end to end on a real chain.

use std::time::Duration;

use serde_json::{json, Value};

use super::{exact, shop, Shop};
use crate::helpers::MERCHANT;

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

    the_figures_show_one_paid_sale_seen_on_the_chain(&shop).await;
}

/// What `/stats/*` must say after one sale paid through the watcher's WebSocket subscription.
async fn the_figures_show_one_paid_sale_seen_on_the_chain(shop: &Shop) {
    let ws: Value = shop.app.get_json("/api/v1/stats/websocket").await;
    assert_eq!(ws["blockchain"]["isConnected"], true);
    assert_eq!(ws["blockchain"]["activeSubscriptions"], 2);
    assert_eq!(
        ws["networks"]["bsc"], ws["blockchain"],
        "every network's node connection, the first one also as the seed's `blockchain`"
    );
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
    let monitoring: Value = shop.app.get_json("/api/v1/stats/monitoring").await;
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
    let system: Value = shop.app.get_json("/api/v1/stats/system").await;
    assert_eq!(system["blockchain_connection"], "connected");
    // The node's announcements arrive on their own socket: give the last ones a moment.
    let mut blockchain: Vec<String> = vec![];
    for _ in 0..40 {
        let messages: Value = shop
            .app
            .get_json("/api/v1/stats/websocket/messages?limit=500")
            .await;
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
    let stats: Value = shop.app.get_json("/api/v1/stats/payments").await;
    assert_eq!(stats["successful_payments"], 1);
    assert_eq!(stats["success_rate"], 100.0);
}
