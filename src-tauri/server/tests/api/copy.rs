//! `stablepay-server copy-database`: a counter's SQLite data moved into a hub's PostgreSQL
//! database, then served by a hub server as the counter served it. Runs on PostgreSQL only
//! (`STABLEPAY_TEST_POSTGRES`, `node scripts/postgres.mjs`), except the refusal of a file in use.

use std::{path::Path, process::Output, time::Duration};

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};
use stablepay_core::access::Role;

use crate::{
    helpers::{
        connect, database_url, eventually, key, pair_display, postgres, spawn_app,
        spawn_app_tweaked, usdt, TestApp, MERCHANT,
    },
    webhooks::Receiver,
};

const ADMIN: &str = "admin-key-0123456789abcdef0123456789";
const SECRET: &str = "whsec_copy_0123456789";
/// The receivers listen on loopback: API-added webhooks may reach them.
const LOOPBACK_HOOKS: &str = "[webhook_targets]\nallowed_private = [\"127.0.0.1\"]\n";

/// Runs the real binary's `copy-database`.
async fn copy(from: &Path, to: &str) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_stablepay-server"))
        .args(["copy-database", "--from"])
        .arg(from)
        .args(["--to", to])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("the binary runs")
}

/// A counter: a server on its own SQLite file, whatever store the suite runs on.
async fn counter() -> TestApp {
    spawn_app_tweaked(LOOPBACK_HOOKS, |c| c.database.url = None).await
}

async fn stop(app: &mut TestApp) {
    app.server.take().unwrap().shutdown().await;
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

type Event = (i64, Option<String>, String, i64);

/// Every event, in order: what a payment's history is made of.
async fn events(url: &str) -> Vec<Event> {
    sqlx::query_as("SELECT seq, payment_id, kind, at FROM events ORDER BY seq")
        .fetch_all(&mut connect(url).await)
        .await
        .unwrap()
}

type Sample = (i64, f64, f64, i64);

async fn trend_samples(url: &str) -> Vec<Sample> {
    sqlx::query_as(
        "SELECT at, api_p50_ms, cpu_usage, active_sockets FROM trend_samples ORDER BY at",
    )
    .fetch_all(&mut connect(url).await)
    .await
    .unwrap()
}

/// The payments as the list shows them, newest first: what must survive the move.
async fn sales(app: &TestApp, as_key: Option<&str>) -> Vec<Value> {
    let page: Value = match as_key {
        Some(k) => app.json_as(Method::GET, "/api/v1/payments", k).await,
        None => app.get_json("/api/v1/payments").await,
    };
    page["payments"]
        .as_array()
        .expect("a page of payments")
        .iter()
        .map(|p| {
            json!({
                "id": p["id"], "status": p["status"], "amount": p["amount"],
                "amount_base_units": p["amount_base_units"], "created_at": p["created_at"],
                "expires_at": p["expires_at"], "remainder_of": p["remainder_of"],
                "wrong_amount": p["wrong_amount"],
            })
        })
        .collect()
}

async fn deliveries(app: &TestApp, as_key: Option<&str>) -> Vec<Value> {
    let log: Value = match as_key {
        Some(k) => {
            app.json_as(Method::GET, "/api/v1/webhooks/deliveries", k)
                .await
        }
        None => app.get_json("/api/v1/webhooks/deliveries").await,
    };
    log["data"].as_array().expect("a delivery log").clone()
}

/// Waits until `n` deliveries are logged and none waits for another attempt.
async fn delivered(app: &TestApp, as_key: Option<&str>, n: usize) -> Vec<Value> {
    eventually(
        &format!("{n} deliveries delivered"),
        Duration::from_secs(20),
        || async {
            let log = deliveries(app, as_key).await;
            (log.len() == n && log.iter().all(|d| d["status"] == "delivered")).then_some(log)
        },
    )
    .await
}

fn types(receiver: &Receiver) -> Vec<(String, String)> {
    receiver
        .seen()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            (
                body["type"].as_str().unwrap().to_string(),
                body["data"]["payment"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The start of a real PNG file, padded: a logo, the one binary column.
fn png() -> Vec<u8> {
    let mut bytes = vec![
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
    ];
    bytes.extend((0..2048).map(|i| (i % 251) as u8));
    bytes
}

#[tokio::test]
async fn a_counter_s_sqlite_data_copied_into_an_empty_hub_keeps_every_sale_and_sells_on() {
    if postgres().is_none() {
        return;
    }
    // Arrange: a counter that has sold, cancelled, let a sale expire, and kept a product, a
    // webhook that was delivered to, a paired display, a logo and its figures.
    let (receiver, hook) = Receiver::start(&[]).await;
    let mut shop = counter().await;
    let r = shop
        .client
        .post(shop.url("/api/v1/webhooks"))
        .json(&json!({ "url": hook, "secret": SECRET }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let webhook: Value = r.json().await.unwrap();
    let r = shop
        .client
        .post(shop.url("/api/v1/products"))
        .json(&json!({ "name": "Espresso", "price": "2.50" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let product: Value = r.json().await.unwrap();
    let r = shop
        .client
        .put(shop.url("/api/v1/settings/logo"))
        .header(header::CONTENT_TYPE, "image/png")
        .body(png())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let display = pair_display(&shop, None).await;

    let expiring = shop.create_ok(usdt("5")).await;
    let cancelled = shop.create_ok(usdt("6")).await;
    let cancelled_id = cancelled["id"].as_str().unwrap().to_string();
    let r = shop
        .post_empty(&format!("/api/v1/payments/{cancelled_id}/cancel"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    shop.advance(chrono::Duration::seconds(901));
    let expiring_id = expiring["id"].as_str().unwrap().to_string();
    eventually(
        "the first sale expired",
        Duration::from_secs(20),
        || async {
            let p: Value = shop
                .get_json(&format!("/api/v1/payments/{expiring_id}"))
                .await;
            (p["status"] == "expired").then_some(())
        },
    )
    .await;
    let open = shop.create_ok(usdt("7")).await;
    let counter_log = delivered(&shop, None, 2).await;
    let source = sqlite_url(&shop.db_path());
    // Links the chain and the staff make, which point both ways: a transfer of a wrong amount
    // naming the sale it was meant for, the sale naming it back, and that sale the remainder of an
    // earlier one.
    let open_id = open["id"].as_str().unwrap();
    for statement in [
        format!(
            "INSERT INTO transfers (chain_id, network_id, token_contract, tx_hash, log_index, block_number, \
             block_hash, from_address, to_address, value_base_units, related_payment_id, seen_at, source) \
             VALUES (56, 'bsc', '0x55d398326f99059fF775485246999027B3197955', '0x01', 0, 1, '0x02', \
             '0x03', '{MERCHANT}', '1000000000000000000', '{open_id}', 1, 'watcher')"
        ),
        format!(
            "UPDATE payment_sessions SET wrong_transfer_id = (SELECT MAX(seq) FROM transfers), \
             wrong_amount_base_units = '1000000000000000000' WHERE id = '{open_id}'"
        ),
        format!(
            "UPDATE payment_sessions SET remainder_of = '{expiring_id}' WHERE id = '{open_id}'"
        ),
    ] {
        sqlx::query(&statement)
            .execute(&mut connect(&source).await)
            .await
            .unwrap();
    }
    sqlx::query(
            "INSERT INTO trend_samples (at, api_p50_ms, api_p95_ms, api_error_rate, db_ms, push_latency_ms, \
             cpu_usage, memory_usage, active_sockets, blocks_behind, db_p50_ms, db_p95_ms) \
             VALUES (1768478400000, 1.25, 2.5, 0.0, 0.75, 3.0, 12.375, 40.0, 3, 0, 0.5, 0.9)",
    )
    .execute(&mut connect(&source).await)
    .await
    .unwrap();
    let counter_sales = sales(&shop, None).await;
    assert_eq!(counter_sales.len(), 3);
    assert_eq!(counter_sales[0]["remainder_of"], expiring_id.as_str());
    assert!(counter_sales[0]["wrong_amount"]["transfer_id"].is_i64());
    stop(&mut shop).await;
    let counter_events = events(&source).await;
    let counter_samples = trend_samples(&source).await;

    // Act: the copy, by the real binary, into a fresh database; a hub server on it.
    let hub_dir = tempfile::tempdir().unwrap();
    let hub_url = database_url(&hub_dir.path().join("hub.db")).unwrap();
    let out = copy(&shop.db_path(), &hub_url).await;
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |table: &str| {
        said.lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("no line for {table} in {said}"))
            .to_string()
    };
    assert_eq!(line("payment_sessions"), "3", "{said}");
    assert_eq!(line("events"), counter_events.len().to_string(), "{said}");
    assert_eq!(line("webhook_deliveries"), "2", "{said}");
    assert_eq!(line("transfers"), "1", "{said}");
    assert!(said.contains("point the counter at the hub"), "{said}");

    let hub = spawn_app_tweaked(LOOPBACK_HOOKS, |c| {
        c.database.url = Some(hub_url.clone());
        c.server.keys = vec![key(ADMIN, Role::Admin)];
    })
    .await;
    // The hub's clock is after the counter's last sale, before the open one expires.
    hub.advance(chrono::Duration::seconds(1000));

    // Assert: everything as the counter had it.
    assert_eq!(sales(&hub, Some(ADMIN)).await, counter_sales);
    let products = hub.json_as(Method::GET, "/api/v1/products", ADMIN).await;
    assert_eq!(products[0]["id"], product["id"], "{products}");
    assert_eq!(products[0]["name"], "Espresso");
    let hooks = hub.json_as(Method::GET, "/api/v1/webhooks", ADMIN).await;
    assert_eq!(hooks["data"][0]["id"], webhook["id"], "{hooks}");
    assert_eq!(hooks["data"][0]["url"], hook.as_str());
    let ids = |log: &[Value]| log.iter().map(|d| d["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&deliveries(&hub, Some(ADMIN)).await), ids(&counter_log));
    let displays = hub.json_as(Method::GET, "/api/v1/displays", ADMIN).await;
    assert_eq!(displays["data"][0]["id"], display["id"], "{displays}");
    let r = hub
        .client
        .get(hub.url("/api/v1/display"))
        .bearer_auth(display["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the tablet stays paired");
    let r = hub.get("/api/v1/display/logo").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), png().as_slice());
    assert_eq!(
        events(&hub_url).await,
        counter_events,
        "each payment's history, seq for seq, and no second payment.created"
    );
    assert_eq!(trend_samples(&hub_url).await, counter_samples);

    // The hub sells on: fresh sequence numbers, the outbox resumes after the copied events.
    let r = hub
        .client
        .post(hub.url("/api/v1/payments"))
        .bearer_auth(ADMIN)
        .json(&usdt("5"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "no sequence number reused");
    let sold: Value = r.json().await.unwrap();
    let sold_id = sold["id"].as_str().unwrap().to_string();
    let r = hub
        .client
        .post(hub.url(&format!("/api/v1/payments/{sold_id}/cancel")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let now = sales(&hub, Some(ADMIN)).await;
    assert_eq!(now.len(), 4);
    assert_eq!(
        now[0]["id"],
        sold_id.as_str(),
        "the newest sale is listed first"
    );
    assert_eq!(now[1..], counter_sales[..]);
    assert_eq!(now[1]["id"], open["id"]);
    let after = events(&hub_url).await;
    assert_eq!(after[..counter_events.len()], counter_events[..]);
    let new: Vec<_> = after[counter_events.len()..]
        .iter()
        .map(|e| (e.1.as_deref(), e.2.as_str()))
        .collect();
    assert_eq!(
        new,
        [
            (Some(sold_id.as_str()), "payment.created"),
            (Some(sold_id.as_str()), "payment.cancelled")
        ]
    );
    let r = hub
        .client
        .post(hub.url("/api/v1/products"))
        .bearer_auth(ADMIN)
        .json(&json!({ "name": "Tea", "price": "2" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    delivered(&hub, Some(ADMIN), 3).await;
    let mut seen = types(&receiver);
    assert_eq!(
        seen.pop(),
        Some(("payment.cancelled".to_string(), sold_id)),
        "the hub delivers its own sale's event"
    );
    seen.sort();
    assert_eq!(
        seen,
        [
            ("payment.cancelled".to_string(), cancelled_id),
            ("payment.expired".to_string(), expiring_id),
        ],
        "what the counter delivered is not sent again"
    );
}

#[tokio::test]
async fn a_hub_that_already_has_sales_refuses_a_counter_s_copy_and_keeps_its_own() {
    if postgres().is_none() {
        return;
    }
    let hub = spawn_app().await;
    let own = hub.create_ok(usdt("5")).await;
    let mut shop = counter().await;
    shop.create_ok(usdt("9")).await;
    stop(&mut shop).await;
    let hub_url = database_url(&hub.db_path()).unwrap();

    let out = copy(&shop.db_path(), &hub_url).await;

    assert!(!out.status.success(), "the copy is refused");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("already holds 1 payment(s)"), "{said}");
    assert!(said.contains("never merged"), "{said}");
    let left = sales(&hub, None).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], own["id"]);
}

#[tokio::test]
async fn a_hub_tried_once_without_a_sale_takes_the_copy_in_place_of_what_it_wrote_itself() {
    if postgres().is_none() {
        return;
    }
    let mut hub = spawn_app().await;
    stop(&mut hub).await;
    let hub_url = database_url(&hub.db_path()).unwrap();
    let mut shop = counter().await;
    let sold = shop.create_ok(usdt("5")).await;
    stop(&mut shop).await;

    let out = copy(&shop.db_path(), &hub_url).await;

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM payment_sessions")
        .fetch_all(&mut connect(&hub_url).await)
        .await
        .unwrap();
    assert_eq!(ids, [(sold["id"].as_str().unwrap().to_string(),)]);
    let catalog = "SELECT network_id, symbol FROM tokens ORDER BY rowid";
    let tokens: Vec<(String, String)> = sqlx::query_as(catalog)
        .fetch_all(&mut connect(&hub_url).await)
        .await
        .unwrap();
    let counter_tokens: Vec<(String, String)> = sqlx::query_as(catalog)
        .fetch_all(&mut connect(&sqlite_url(&shop.db_path())).await)
        .await
        .unwrap();
    assert_eq!(
        tokens, counter_tokens,
        "the counter's catalog, in its order"
    );
}

#[tokio::test]
async fn a_counter_whose_server_is_still_running_is_not_copied() {
    let shop = counter().await;
    shop.create_ok(usdt("5")).await;

    let out = copy(&shop.db_path(), "postgres://nobody@127.0.0.1:1/none").await;

    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("is in use by"), "{said}");
    assert_eq!(sales(&shop, None).await.len(), 1);
}
