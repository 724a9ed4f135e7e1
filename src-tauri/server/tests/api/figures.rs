//! The monitoring figures mean what the seed says (issue 18): the success rate over ended payments,
//! failure reasons that nobody can inflate, node connections that are really open, and a message
//! log whose two sources stay apart.

use serde_json::Value;

use crate::helpers::{spawn_app, usdt};

#[tokio::test]
async fn a_pending_payment_does_not_lower_the_success_rate() {
    let app = spawn_app().await;
    let paid = app.create_ok(usdt("3")).await;
    app.create_ok(usdt("4")).await;
    app.sql(&format!(
        "UPDATE payment_sessions SET status = 'paid', paid_at = created_at + 1000, closed_at = created_at + 1000 WHERE id = '{}'",
        paid["id"].as_str().unwrap()
    ))
    .await;

    let stats: Value = app.get_json("/api/v1/stats/payments").await;
    assert_eq!(stats["total_payments"], 2);
    assert_eq!(stats["open_payments"], 1);
    assert_eq!(stats["success_rate"], 100.0, "{stats}");
    assert_eq!(stats["failed_payments"], 0);
    assert_eq!(stats["success_rate_by_token"]["USDT"], 100.0);
    assert_eq!(stats["success_rate_by_token"]["USDC"], 0.0, "none ended");
    assert_eq!(stats["success_rate_by_period"]["24h"], 100.0);
    assert_eq!(stats["success_rate_by_period"]["30d"], 100.0);
}

#[tokio::test]
async fn a_thousand_failed_manual_checks_on_one_payment_count_once_and_the_sale_once() {
    let app = spawn_app().await;
    let p = app.create_ok(usdt("5")).await;
    let id = p["id"].as_str().unwrap();
    // What a thousand refused checks leave in the audit trail (the API's own limit would stop a
    // real caller after ten a minute; the figures must hold even without it).
    app.sql(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
         INSERT INTO events (payment_id, kind, detail, at)
         SELECT '{id}', 'payment.check_failed', '{{\"reason\":\"address_mismatch\"}}', 0 FROM n"
    ))
    .await;

    let open: Value = app.get_json("/api/v1/stats/payments").await;
    assert_eq!(open["check_failures"]["address_mismatch"], 1, "{open}");
    assert_eq!(
        open["failure_reasons"]["address_mismatch"], 0,
        "an open sale has not failed"
    );

    app.post_empty(&format!("/api/v1/payments/{id}/cancel"))
        .await;
    let ended: Value = app.get_json("/api/v1/stats/payments").await;
    assert_eq!(ended["failure_reasons"]["address_mismatch"], 1, "{ended}");
    assert_eq!(
        ended["failure_reasons"]["cancelled"], 0,
        "the sale counts once, by its most telling reason"
    );
    assert_eq!(ended["failed_payments"], 1);
    assert_eq!(ended["success_rate"], 0.0);
}

#[tokio::test]
async fn node_connections_count_only_what_is_really_open() {
    let chain = crate::anvil::Anvil::start().await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let urls = format!("\"{}\", \"http://127.0.0.1:{dead}\"", chain.http_url());
    let shop = crate::chain::shop_with(
        chain,
        crate::chain::Setup {
            rpc_urls: Some(urls),
            ..crate::chain::Setup::default()
        },
    )
    .await;
    // The node's HTTP endpoint and its WebSocket subscription; the dead endpoint, never reached,
    // is no connection at all (it used to count as healthy at its starting health).
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let counts = loop {
        let m: Value = shop.app.get_json("/api/v1/stats/monitoring").await;
        let counts = m["websocket_connections"].clone();
        if counts["active"] == 2 || std::time::Instant::now() > until {
            break m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(counts["websocket_connections"]["active"], 2, "{counts}");
    assert_eq!(counts["websocket_connections"]["healthy"], 2, "{counts}");
    assert_eq!(
        counts["rpc_endpoints"].as_array().unwrap().len(),
        2,
        "both endpoints are listed, only one is open"
    );
}

#[tokio::test]
async fn a_node_s_flood_of_messages_does_not_push_the_frontend_log_out() {
    use futures_util::SinkExt;
    let shop = crate::chain::shop("confirmations = 1").await;
    let p = shop.payment("2").await;
    let mut socket = crate::ws::connect(&shop.app, p["id"].as_str().unwrap()).await;
    let ack = crate::ws::next_json(&mut socket).await;
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(
            r#"{"type":"ping"}"#,
        ))
        .await
        .unwrap();
    crate::ws::next_json(&mut socket).await;

    // Each mined block is a new head announced over the node's socket, and RPC traffic besides.
    shop.chain.mine(700).await;
    crate::helpers::eventually(
        "a flood of 500 node messages",
        std::time::Duration::from_secs(30),
        || async {
            let node: Value = shop
                .app
                .get_json("/api/v1/stats/websocket/messages?source=blockchain&limit=500")
                .await;
            (node["count"] == 500).then_some(())
        },
    )
    .await;
    let frontend: Value = shop
        .app
        .get_json("/api/v1/stats/websocket/messages?source=frontend&limit=50")
        .await;
    let kinds: Vec<&str> = frontend["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"connection_ack"), "{kinds:?}");
    assert!(kinds.contains(&"ping"), "{kinds:?}");
    assert!(frontend["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["source"] == "frontend" && m["sessionId"] == ack["sessionId"]));
    let both: Value = shop
        .app
        .get_json("/api/v1/stats/websocket/messages?limit=50")
        .await;
    assert!(
        both["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["source"] == "frontend"),
        "the limit is per source: the frontend's share survives the flood"
    );
    let bad = shop
        .app
        .get("/api/v1/stats/websocket/messages?source=tablet")
        .await;
    crate::helpers::assert_error(bad, 400, "invalid_query").await;
}

#[tokio::test]
async fn connection_ack_names_its_session_and_errors_and_non_json_frames_are_logged_with_content() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_app().await;
    let p = app.create_ok(usdt("6")).await;
    let mut socket = crate::ws::connect(&app, p["id"].as_str().unwrap()).await;
    let ack = crate::ws::next_json(&mut socket).await;
    let session = ack["sessionId"].as_str().unwrap().to_string();
    assert!(
        session.starts_with("ws_") && session.len() == 19,
        "{session}"
    );
    assert_eq!(ack["connection"]["sessionId"], session.as_str());
    assert!(ack["connection"]["heartbeatMs"].as_u64().unwrap() > 0);
    assert!(ack["connection"]["connectedAt"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    socket.send(Message::text("hello there")).await.unwrap();
    let error = crate::ws::next_json(&mut socket).await;
    assert_eq!(error["type"], "error");

    let log: Value = app
        .get_json("/api/v1/stats/websocket/messages?source=frontend&limit=10")
        .await;
    let list = log["messages"].as_array().unwrap();
    let invalid = list
        .iter()
        .find(|m| m["type"] == "invalid_message")
        .unwrap();
    assert_eq!(invalid["data"]["text"], "hello there");
    assert_eq!(invalid["direction"], "in");
    let logged_error = list.iter().find(|m| m["type"] == "error").unwrap();
    assert_eq!(
        logged_error["data"]["code"], "unknown_message",
        "{logged_error}"
    );
    assert!(list.iter().all(|m| m["sessionId"] == session.as_str()));
}

/// `/chain/status` until `want` says so (10 s at most, as a cashier would wait), moving the shop's
/// clock a second per look so the unreachable node's grace runs out, and mining a block per look
/// as a live chain would (the watcher asks for logs only when there are new blocks).
async fn chain_status_until(
    shop: &crate::chain::Shop,
    what: &str,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status: Value = shop.app.get_json("/api/v1/chain/status").await;
        if want(&status) {
            return status;
        }
        assert!(
            std::time::Instant::now() < until,
            "never {what}: {status} {}",
            shop.app.get_json::<Value>("/api/v1/stats/monitoring").await["rpc_endpoints"]
        );
        shop.app.advance(chrono::Duration::seconds(1));
        shop.chain.mine(1).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_chain_status_says_payments_are_not_seen_when_no_node_answers_or_logs_are_refused() {
    let (shop, proxy) = crate::settlement::shop_behind_a_proxy("confirmations = 1").await;
    let seen = chain_status_until(&shop, "seen", |s| s["seeing_payments"] == true).await;
    assert_eq!(seen["networks"][0]["network"], "bsc");

    proxy
        .set(serde_json::json!({ "http": { "status": 503 } }))
        .await;
    let blind = chain_status_until(&shop, "blind", |s| s["seeing_payments"] == false).await;
    assert_eq!(blind["networks"][0]["reason"], "no_node", "{blind}");

    proxy.set(serde_json::json!({})).await;
    chain_status_until(&shop, "seen again", |s| s["seeing_payments"] == true).await;

    proxy
        .set(serde_json::json!({ "methods": { "eth_getLogs": { "error": { "code": -32601, "message": "the method eth_getLogs does not exist/is not available" } } } }))
        .await;
    let refused = chain_status_until(&shop, "logs refused", |s| {
        s["networks"][0]["reason"] == "logs_refused"
    })
    .await;
    assert_eq!(refused["seeing_payments"], false);
}

#[tokio::test]
async fn without_a_chain_the_status_says_so_to_anyone() {
    let app = spawn_app().await;
    let anonymous = reqwest::get(app.url("/api/v1/chain/status")).await.unwrap();
    assert_eq!(
        anonymous.status(),
        200,
        "public: the customer display asks it"
    );
    let status: Value = anonymous.json().await.unwrap();
    assert_eq!(status["seeing_payments"], false);
    assert_eq!(status["networks"][0]["reason"], "disabled", "{status}");
}

#[tokio::test]
async fn trend_samples_are_kept_in_the_database_and_shown_after_a_restart_the_next_day() {
    let mut app = crate::helpers::spawn_app_tweaked("", |c| {
        c.server.trend_sample = std::time::Duration::from_millis(100);
    })
    .await;
    for _ in 0..5 {
        app.get("/health").await;
    }
    let first = crate::helpers::eventually(
        "a sample kept",
        std::time::Duration::from_secs(10),
        || async {
            let h: Value = app.get_json("/api/v1/stats/history?hours=1").await;
            h["samples"].as_array().and_then(|s| s.first()).cloned()
        },
    )
    .await;
    assert!(first["api_p95_ms"].as_f64().unwrap() >= first["api_p50_ms"].as_f64().unwrap());
    assert!(first["db_ms"].as_f64().unwrap() >= 0.0, "{first}");
    // The queries the app ran (the requests above, the sampler's writes), not a ping.
    assert!(
        first["db_p95_ms"].as_f64().unwrap() >= first["db_p50_ms"].as_f64().unwrap()
            && first["db_p50_ms"].as_f64().unwrap() > 0.0,
        "{first}"
    );

    // Stopped today, started again tomorrow on the same database.
    app.server.take().unwrap().shutdown().await;
    app.advance(chrono::Duration::days(1));
    let config = stablepay_core::config::Config::from_toml_str(
        &crate::helpers::config_toml(&app.db_path(), ""),
        std::iter::empty(),
    )
    .unwrap();
    let server = stablepay_server::start(
        config,
        app.clock.clone() as std::sync::Arc<dyn stablepay_core::clock::Clock>,
    )
    .await
    .unwrap();
    app.base = format!("http://{}", server.addr);
    app.server = Some(server);

    let two_days: Value = app.get_json("/api/v1/stats/history?hours=48").await;
    assert!(
        two_days["samples"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["at"] == first["at"]),
        "yesterday's sample survives the restart: {two_days}"
    );
    // A month is read in 360 buckets of two hours: yesterday's samples are one point.
    let month: Value = app.get_json("/api/v1/stats/history?hours=720").await;
    assert_eq!(month["bucket_seconds"], 7200);
    assert_eq!(month["samples"][0]["at"], first["at"], "{month}");
    assert_eq!(month["samples"].as_array().unwrap().len(), 1, "{month}");
    let last_hour: Value = app.get_json("/api/v1/stats/history?hours=1").await;
    assert!(!last_hour["samples"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["at"] == first["at"]));
    let bad = app.get("/api/v1/stats/history?hours=0").await;
    crate::helpers::assert_error(bad, 400, "invalid_query").await;
}

#[tokio::test]
async fn an_alert_fires_when_the_api_s_95th_percentile_passes_its_threshold() {
    let app = crate::helpers::spawn_app_tweaked("", |c| {
        c.alerts.max_api_p95_ms = 0.000_1;
    })
    .await;
    for _ in 0..25 {
        app.get("/api/v1/tokens").await;
    }
    let alerts: Value = app.get_json("/api/v1/alerts").await;
    let slow = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "slow_api")
        .cloned()
        .unwrap_or_else(|| panic!("no slow_api alert: {alerts}"));
    assert_eq!(slow["threshold"], 0.000_1);
    assert!(slow["value"].as_f64().unwrap() > 0.000_1);
}
