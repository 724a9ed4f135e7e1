//! Several networks watched at once with one receive address (issue 19): two real anvil chains,
//! BSC's 56 and Polygon's 137, the same token contract address on both (deployed alike). A payment
//! settles on its own network only; a transfer on one never pays a payment on the other, even of
//! the same exact amount; each network keeps its own confirmation rule.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{
    anvil::{units, Anvil},
    helpers::{spawn_app_at, TestApp, MERCHANT},
};

async fn status(app: &TestApp, id: &Value) -> Value {
    app.get_json(&format!("/api/v1/payments/{}", id.as_str().unwrap()))
        .await
}

async fn wait(app: &TestApp, id: &Value, want: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let p = status(app, id).await;
        if p["status"] == want {
            return p;
        }
        assert!(Instant::now() < deadline, "never {want}: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `network`'s watcher finished two more passes (one started after this call ran whole).
async fn two_more_passes(app: &TestApp, network: &str) {
    let passes = || {
        let core = &app.server.as_ref().expect("running").core;
        core.telemetry.links().get(network).map_or(0, |l| l.passes)
    };
    let (from, deadline) = (passes(), Instant::now() + Duration::from_secs(20));
    while passes() < from + 2 {
        assert!(Instant::now() < deadline, "{network}'s watcher stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_transfer_on_one_network_pays_only_that_network_s_payment() {
    let bsc = Anvil::start().await;
    let polygon = Anvil::start_chain(137).await;
    let usdt_bsc = bsc.deploy_token("Tether USD (mock)", "USDT", 18).await;
    let usdt_polygon = polygon.deploy_token("Tether USD (mock)", "USDT", 6).await;
    assert_eq!(
        usdt_bsc, usdt_polygon,
        "the same contract address on both chains"
    );
    let extra = format!(
        "[payments]\nconfirmations = 2\nrequire_finalized = false\n[chain]\npoll_interval_ms = 200\n\
         [[networks]]\nid = \"bsc\"\nname = \"BSC (anvil)\"\nchain_id = 56\nrpc_urls = [\"{}\"]\n\
         [[networks]]\npreset = \"polygon\"\nrpc_urls = [\"{}\"]\nconfirmations = 1\n\
         [[tokens]]\nsymbol = \"USDT\"\nnetwork = \"bsc\"\ncontract_address = \"{usdt}\"\ndecimals = 18\n\
         [[tokens]]\nsymbol = \"USDT\"\nnetwork = \"polygon\"\ncontract_address = \"{usdt}\"\ndecimals = 6\n",
        bsc.http_url(),
        polygon.http_url(),
        usdt = usdt_bsc.to_checksum(None),
    );
    let app = spawn_app_at(&extra, |_| {}, chrono::Utc::now()).await;
    let networks: Vec<Value> = app.get_json("/api/v1/networks").await;
    assert_eq!(networks.len(), 2, "{networks:?}");

    let on_bsc = app
        .create_ok(json!({ "amount": "10", "token": "USDT", "network": "bsc" }))
        .await;
    let on_polygon = app
        .create_ok(json!({ "amount": "10", "token": "USDT", "network": "polygon" }))
        .await;
    assert_eq!(
        on_bsc["amount"], on_polygon["amount"],
        "the same exact amount on each"
    );
    assert_eq!(
        (on_bsc["chain_id"].clone(), on_polygon["chain_id"].clone()),
        (json!(56), json!(137))
    );
    assert!(
        on_polygon["payment_uri"].as_str().unwrap().contains("@137"),
        "{on_polygon}"
    );
    assert_eq!(on_bsc["required_confirmations"], 2);
    assert_eq!(
        on_polygon["required_confirmations"], 1,
        "Polygon's own rule"
    );

    // Paid on Polygon: only the Polygon payment.
    polygon.pay(usdt_polygon, MERCHANT, units("10", 6)).await;
    polygon.mine(2).await;
    let paid = wait(&app, &on_polygon["id"], "paid").await;
    assert_eq!(paid["network"], "polygon");
    bsc.mine(3).await;
    two_more_passes(&app, "bsc").await;
    assert_eq!(
        status(&app, &on_bsc["id"]).await["status"],
        "pending",
        "BSC's payment is not paid by Polygon's transfer"
    );

    // Then on BSC.
    bsc.pay(usdt_bsc, MERCHANT, units("10", 18)).await;
    bsc.mine(3).await;
    let paid = wait(&app, &on_bsc["id"], "paid").await;
    assert_eq!(paid["network"], "bsc");
    assert_ne!(
        paid["transaction_hash"],
        status(&app, &on_polygon["id"]).await["transaction_hash"]
    );
}
