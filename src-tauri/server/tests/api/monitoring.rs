//! The seed's monitoring API (§11.2), alerts, `/metrics` and the customer display channel, against
//! the real server.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::{connect_async, tungstenite::Message};

use crate::{
    helpers::{spawn_app, usdt, TestApp},
    ws::{connect, next_json, Socket},
};

async fn get_json(app: &TestApp, path: &str) -> Value {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// Asserts `value` has every key of `example` with a value of the same JSON type (numbers: any
/// number; `null` in the example: null or string), recursively into objects.
fn assert_shape(path: &str, value: &Value, example: &Value) {
    let Value::Object(keys) = example else { return };
    for (key, want) in keys {
        let got = value
            .get(key)
            .unwrap_or_else(|| panic!("{path}: missing key {key:?} in {value}"));
        let same = match (want, got) {
            (Value::Number(_), Value::Number(_))
            | (Value::String(_), Value::String(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Array(_), Value::Array(_))
            | (Value::Object(_), Value::Object(_)) => true,
            (Value::String(_), Value::Null) => key.starts_with("last") || key == "currentEndpoint", // not happened yet; no chain
            _ => false,
        };
        assert!(same, "{path}.{key}: expected the type of {want}, got {got}");
        if want.is_object() && !key.starts_with("payments_by") && key != "failure_reasons" {
            assert_shape(&format!("{path}.{key}"), got, want);
        }
    }
}

#[tokio::test]
async fn every_stats_endpoint_returns_every_key_of_the_seeds_example_with_measured_values() {
    let app = spawn_app().await;
    let paid_later = app.create_ok(usdt("10")).await;
    let cancelled = app.create_ok(usdt("5")).await;
    app.post_empty(&format!(
        "/api/v1/payments/{}/cancel",
        cancelled["id"].as_str().unwrap()
    ))
    .await;
    let mut socket = connect(&app, paid_later["id"].as_str().unwrap()).await;
    next_json(&mut socket).await;
    socket
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "pong");

    the_payment_figures_count_one_open_and_one_cancelled_sale(&app).await;
    the_monitoring_figures_have_the_seed_s_keys(&app).await;
    the_system_figures_are_measured(&app).await;
    the_socket_figures_count_the_one_client(&app).await;
    the_message_log_is_newest_first_and_bounded(&app).await;
}

/// `/stats/payments`: the seed's keys, counting the two sales made.
async fn the_payment_figures_count_one_open_and_one_cancelled_sale(app: &TestApp) {
    let payments = get_json(app, "/api/v1/stats/payments").await;
    assert_shape(
        "payments",
        &payments,
        &json!({
            "total_payments": 1250, "successful_payments": 1180, "failed_payments": 70, "success_rate": 94.4,
            "payments_by_token": {"USDT": 520}, "payments_by_period": {"24h": 45, "7d": 320, "30d": 1250},
            "average_processing_time": 15.2,
            "failure_reasons": {"amount_mismatch": 35, "address_mismatch": 20, "transaction_failed": 15}
        }),
    );
    assert_eq!(payments["total_payments"], 2);
    assert_eq!(payments["failed_payments"], 1);
    assert_eq!(payments["payments_by_token"]["USDT"], 2);
    assert_eq!(payments["payments_by_token"]["USDC"], 0);
    assert_eq!(payments["payments_by_period"]["24h"], 2);
    assert_eq!(payments["failure_reasons"]["cancelled"], 1);
    assert_eq!(payments["failure_reasons"]["amount_mismatch"], 0);
}

/// `/stats/monitoring`: the seed's keys.
async fn the_monitoring_figures_have_the_seed_s_keys(app: &TestApp) {
    let monitoring = get_json(app, "/api/v1/stats/monitoring").await;
    assert_shape(
        "monitoring",
        &monitoring,
        &json!({
            "websocket_connections": {"active": 3, "healthy": 2, "degraded": 1},
            "blockchain_monitoring": {"average_latency": 120, "last_block_processed": 28756341, "blocks_behind": 0, "events_detected": 1250},
            "validation_performance": {"average_validation_time": 2.1, "validation_success_rate": 99.2}
        }),
    );
}

/// `/stats/system`: the seed's keys, with memory, disk and API time measured.
async fn the_system_figures_are_measured(app: &TestApp) {
    let system = get_json(app, "/api/v1/stats/system").await;
    assert_shape(
        "system",
        &system,
        &json!({
            "uptime": 86400, "cpu_usage": 25.5, "memory_usage": 45.2, "disk_usage": 12.3, "api_response_time": 45,
            "error_rate": 0.1, "database_health": "healthy", "blockchain_connection": "connected"
        }),
    );
    assert_eq!(system["database_health"], "healthy");
    assert_eq!(
        system["blockchain_connection"], "disabled",
        "this test runs without a chain"
    );
    assert!(
        system["memory_usage"].as_f64().unwrap() > 0.0,
        "memory is measured: {system}"
    );
    assert!(
        system["disk_usage"].as_f64().unwrap() > 0.0,
        "disk is measured: {system}"
    );
    assert!(
        system["api_response_time"].as_f64().unwrap() > 0.0,
        "API time is measured: {system}"
    );
}

/// `/stats/websocket`: the seed's keys, counting the one payment socket.
async fn the_socket_figures_count_the_one_client(app: &TestApp) {
    let websocket = get_json(app, "/api/v1/stats/websocket").await;
    assert_shape(
        "websocket",
        &websocket,
        &json!({
            "frontend": {"totalConnections": 150, "activeConnections": 3, "connectionErrors": 5, "reconnectAttempts": 2,
                "lastConnectionTime": "2023-12-01T10:30:00Z", "lastDisconnectionTime": "2023-12-01T09:15:00Z"},
            "blockchain": {"isConnected": true, "currentEndpoint": "wss://bsc-ws-node.nariox.org", "totalConnectionAttempts": 25,
                "reconnectAttempts": 3, "activeSubscriptions": 3, "lastConnectionTime": "2023-12-01T10:00:00Z",
                "lastDisconnectionTime": "2023-12-01T08:30:00Z"}
        }),
    );
    assert_eq!(websocket["frontend"]["activeConnections"], 1);
    assert_eq!(websocket["frontend"]["totalConnections"], 1);
    assert!(websocket["frontend"]["lastConnectionTime"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
}

/// `/stats/websocket/messages`: the conversation so far, newest first, `limit` checked.
async fn the_message_log_is_newest_first_and_bounded(app: &TestApp) {
    let messages = get_json(app, "/api/v1/stats/websocket/messages?limit=50").await;
    assert_shape(
        "messages",
        &messages,
        &json!({ "messages": [], "count": 2 }),
    );
    let list = messages["messages"].as_array().unwrap();
    assert_eq!(messages["count"], list.len());
    let kinds: Vec<(&str, &str)> = list
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap(),
                m["direction"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &kinds[..3],
        [("pong", "out"), ("ping", "in"), ("connection_ack", "out")],
        "newest first"
    );
    let ack = &list[2];
    assert_shape(
        "message",
        ack,
        &json!({ "source": "frontend", "type": "x", "paymentId": "p", "direction": "out", "data": {}, "timestamp": "t" }),
    );
    assert_eq!(ack["data"]["status"], "pending");

    let one = get_json(app, "/api/v1/stats/websocket/messages?limit=1").await;
    assert_eq!(one["count"], 1);
    let r = app.get("/api/v1/stats/websocket/messages?limit=0").await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn metrics_parse_as_openmetrics_text_with_the_promised_families() {
    let app = spawn_app().await;
    app.create_ok(usdt("1")).await;
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text; version=1.0.0"));
    let text = r.text().await.unwrap();
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    let value = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| s.value.clone())
            .unwrap_or_else(|| panic!("no sample {name} {label:?} in\n{text}"))
    };
    assert!(
        matches!(value("stablepay_payments", Some(("status", "pending"))), prometheus_parse::Value::Gauge(v) if v == 1.0)
    );
    assert!(matches!(
        value("stablepay_block_to_push_latency_seconds", None),
        prometheus_parse::Value::Histogram(_)
    ));
    assert!(matches!(
        value("stablepay_websocket_connections", None),
        prometheus_parse::Value::Gauge(_)
    ));
    assert!(
        matches!(value("stablepay_webhook_backlog", None), prometheus_parse::Value::Gauge(v) if v == 0.0)
    );
    // OpenMetrics names a counter's family without `_total` and its sample with it.
    assert!(
        text.contains("# TYPE stablepay_http_requests counter"),
        "{text}"
    );
    assert!(
        matches!(value("stablepay_http_requests_total", None), prometheus_parse::Value::Untyped(v) | prometheus_parse::Value::Counter(v) if v >= 1.0)
    );
    // Every series names its replica; the one server of a database leads.
    let replica: Value = app.get_json("/health").await;
    let name = replica["replica"]["name"].as_str().unwrap().to_string();
    assert!(
        scrape
            .samples
            .iter()
            .all(|s| s.labels.get("replica") == Some(name.as_str())),
        "{text}"
    );
    assert!(
        matches!(value("stablepay_replica_leader", None), prometheus_parse::Value::Gauge(v) if v == 1.0)
    );
}

#[tokio::test]
async fn a_low_success_rate_raises_an_alert_listed_and_pushed_to_the_monitor_socket() {
    let app = spawn_app().await;
    let url = format!("{}/ws/monitor", app.base.replace("http://", "ws://"));
    let mut monitor: Socket = connect_async(url).await.unwrap().0;
    let first = next_json(&mut monitor).await;
    assert_eq!(first["type"], "alerts");
    assert_eq!(first["data"]["alerts"], json!([]));

    for _ in 0..5 {
        let id = app.create_ok(usdt("3")).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post_empty(&format!("/api/v1/payments/{id}/cancel"))
            .await;
    }
    let alerts = get_json(&app, "/api/v1/alerts").await;

    assert_eq!(alerts["count"], 1);
    let alert = &alerts["alerts"][0];
    assert_eq!(alert["kind"], "low_success_rate");
    assert_eq!(alert["value"], 0.0);
    assert_eq!(alert["threshold"], 80.0);
    let pushed = next_json(&mut monitor).await;
    assert_eq!(pushed["type"], "alert");
    assert_eq!(pushed["data"]["state"], "raised");
    assert_eq!(pushed["data"]["alert"]["id"], "low_success_rate");
}

async fn display_socket(app: &TestApp) -> Socket {
    let url = format!("{}/ws/display", app.base.replace("http://", "ws://"));
    connect_async(url).await.expect("display connects").0
}

#[tokio::test]
async fn the_customer_display_shows_idle_then_the_payment_the_cashier_opens_and_follows_it() {
    let app = spawn_app().await;
    let mut display = display_socket(&app).await;
    let idle = next_json(&mut display).await;
    assert_eq!(idle["type"], "display_update");
    assert_eq!(idle["data"]["mode"], "idle");
    assert!(idle["data"]["payment"].is_null());
    assert!(idle["data"]["shop_name"].is_string());

    let p = app.create_ok(usdt("12.5")).await;
    let id = p["id"].as_str().unwrap();
    let r = app
        .client
        .put(app.url("/api/v1/display"))
        .json(&json!({ "payment_id": id }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let shown = next_json(&mut display).await;
    assert_eq!(shown["data"]["mode"], "payment");
    assert_eq!(shown["data"]["payment"]["id"], id);
    assert_eq!(shown["data"]["payment"]["amount"], "12.50");

    // A second screen opened late gets the same state at once.
    let mut late = display_socket(&app).await;
    assert_eq!(next_json(&mut late).await["data"]["payment"]["id"], id);

    app.post_empty(&format!("/api/v1/payments/{id}/cancel"))
        .await;
    let followed = next_json(&mut display).await;
    assert_eq!(followed["data"]["mode"], "payment");
    assert_eq!(followed["data"]["payment"]["status"], "cancelled");

    let r = app
        .client
        .put(app.url("/api/v1/display"))
        .json(&json!({ "payment_id": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(next_json(&mut display).await["data"]["mode"], "idle");

    let r = app
        .client
        .put(app.url("/api/v1/display"))
        .json(&json!({ "payment_id": "pay_00000000000000000000000000000000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_sale_created_through_the_api_is_shown_on_the_display_when_it_asks_and_only_then() {
    let app = spawn_app().await;
    let mut display = display_socket(&app).await;
    assert_eq!(next_json(&mut display).await["data"]["mode"], "idle");

    app.create_ok(usdt("3")).await;
    let mut asked = usdt("4");
    asked["show_on_display"] = json!(true);
    let key = "show-on-display-1";
    let created = app
        .client
        .post(app.url("/api/v1/payments"))
        .header("idempotency-key", key)
        .json(&asked)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = next_json(&mut display).await;
    assert_eq!(shown["data"]["mode"], "payment", "{shown}");
    assert_eq!(
        shown["data"]["payment"]["id"],
        id.as_str(),
        "not the sale that did not ask"
    );

    // The cashier moves the display on; a retry of the same request does not pull it back.
    app.client
        .put(app.url("/api/v1/display"))
        .json(&json!({ "payment_id": null }))
        .send()
        .await
        .unwrap();
    assert_eq!(next_json(&mut display).await["data"]["mode"], "idle");
    let retried = app
        .client
        .post(app.url("/api/v1/payments"))
        .header("idempotency-key", key)
        .json(&asked)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.headers()["idempotent-replayed"], "true");
    let state: Value = app.get_json("/api/v1/display").await;
    assert_eq!(state["mode"], "idle", "{state}");
}

#[tokio::test]
async fn a_client_that_floods_pings_and_never_reads_is_dropped_and_counted() {
    let app = spawn_app().await;
    let id = app.create_ok(usdt("2")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut reader = connect(&app, &id).await;
    next_json(&mut reader).await;
    let flooder = connect(&app, &id).await;
    let (mut sink, _never_read) = flooder.split();
    // Keep writing pings; the server's pongs pile up until its send times out and it hangs up.
    let flood = tokio::spawn(async move {
        let ping = Message::text(format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(3000)));
        for _ in 0..200_000 {
            if tokio::time::timeout(Duration::from_secs(2), sink.send(ping.clone()))
                .await
                .map_or(true, |r| r.is_err())
            {
                break;
            }
        }
    });

    let mut dropped = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stats = get_json(&app, "/api/v1/stats/websocket").await;
        if stats["frontend"]["connectionErrors"].as_u64().unwrap() >= 1 {
            dropped = true;
            break;
        }
    }
    flood.abort();
    assert!(
        dropped,
        "the server never dropped the client that stopped reading"
    );
    // The well-behaved client is still served.
    app.post_empty(&format!("/api/v1/payments/{id}/cancel"))
        .await;
    assert_eq!(next_json(&mut reader).await["data"]["status"], "cancelled");
}

#[tokio::test]
async fn settings_show_the_effective_config_without_secrets_or_endpoint_paths() {
    let app = crate::helpers::spawn_app_tweaked(
        "[[networks]]\nid = \"bsc\"\nname = \"BSC\"\nchain_id = 56\nrpc_urls = [\"https://node.example/v1/SECRETKEY\"]\n",
        |c| {
            c.server.keys = vec![crate::helpers::key(
                "k_0123456789abcdef0123456789abcdef",
                stablepay_core::access::Role::Viewer,
            )]
        },
    )
    .await;
    let r = app.get("/api/v1/settings").await;
    assert_eq!(r.status(), 401);
    let r = app
        .client
        .get(app.url("/api/v1/settings"))
        .bearer_auth("k_0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("SECRETKEY") && !text.contains("k_0123456789abcdef0123456789abcdef"),
        "{text}"
    );
    let s: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s["merchant"]["receive_address"], crate::helpers::MERCHANT);
    assert_eq!(s["server"]["api_keys_configured"], 1);
    assert_eq!(s["networks"][0]["rpc_endpoints"][0], "https://node.example");
    assert_eq!(s["payments"]["confirmations"], 3);
}

#[tokio::test]
async fn payment_stats_include_daily_weekly_and_monthly_volume_for_the_trend_charts() {
    let app = spawn_app().await;
    app.create_ok(usdt("1")).await; // Thursday 2026-01-15, by the test clock
    app.advance(chrono::Duration::days(4)); // Monday: a new week
    app.create_ok(usdt("1")).await;
    app.create_ok(usdt("2")).await;
    app.advance(chrono::Duration::days(14)); // Monday 2026-02-02: a new month
    app.create_ok(usdt("1")).await;
    let stats = get_json(&app, "/api/v1/stats/payments").await;
    let created = |period: &str, i: usize| {
        let p = &stats[period][i];
        (
            p["date"].as_str().unwrap().to_owned(),
            p["created"].as_u64().unwrap(),
        )
    };

    assert_eq!(stats["daily"].as_array().unwrap().len(), 14);
    assert_eq!(created("daily", 13), ("2026-02-02".into(), 1), "today");
    assert_eq!(created("daily", 0), ("2026-01-20".into(), 0));

    assert_eq!(stats["weekly"].as_array().unwrap().len(), 12);
    assert_eq!(created("weekly", 11), ("2026-02-02".into(), 1));
    assert_eq!(
        created("weekly", 10),
        ("2026-01-26".into(), 0),
        "a quiet week is listed"
    );
    assert_eq!(created("weekly", 9), ("2026-01-19".into(), 2));
    assert_eq!(
        created("weekly", 8),
        ("2026-01-12".into(), 1),
        "weeks start on Monday"
    );

    assert_eq!(stats["monthly"].as_array().unwrap().len(), 12);
    assert_eq!(created("monthly", 11), ("2026-02-01".into(), 1));
    assert_eq!(created("monthly", 10), ("2026-01-01".into(), 3));
    assert_eq!(created("monthly", 0), ("2025-03-01".into(), 0));
}
