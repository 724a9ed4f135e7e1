//! Settings changed in the app (issue 18): saved into the config file with its comments kept,
//! validated like the file, in the audit trail, and in force for the next sale without anyone
//! restarting anything (the server reloads itself in place, see `stablepay_server::reload`).

use std::{path::PathBuf, sync::Arc, time::Duration};

use chrono::Utc;
use reqwest::Client;
use serde_json::{json, Value};
use stablepay_core::{
    clock::{Clock, ManualClock},
    config::{Config, Layers},
};
use stablepay_server::reload::{ConfigSource, Supervisor};

use crate::{
    anvil::{units, Anvil},
    helpers::{assert_error, config_toml, spawn_app, usdt, TestApp, MERCHANT},
};

/// A server supervised on a config file that starts with the owner's own comment.
struct Owned {
    app: TestApp,
    file: PathBuf,
    _supervisor: Supervisor,
}

const OWNER_COMMENT: &str = "# Corner Café: the till by the window. Ask Mia before changing.\n";

async fn owned(extra: &str) -> Owned {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stablepay.toml");
    let text = format!(
        "{OWNER_COMMENT}{}",
        config_toml(&dir.path().join("stablepay.db"), extra)
    );
    std::fs::write(&file, &text).unwrap();
    let layers = Layers {
        file: Some(file.clone()),
        ..Layers::default()
    };
    let config = Config::layered(layers.clone()).unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let supervisor = Supervisor::start(
        config,
        clock.clone() as Arc<dyn Clock>,
        ConfigSource {
            file: file.clone(),
            layers,
        },
        Arc::new(|_| {}),
    )
    .await
    .expect("server starts");
    let app = TestApp {
        base: format!("http://{}", supervisor.addr),
        client: Client::new(),
        clock,
        server: None,
        dir,
    };
    Owned {
        app,
        file,
        _supervisor: supervisor,
    }
}

impl Owned {
    async fn change(&self, body: Value) -> reqwest::Response {
        self.app
            .client
            .patch(self.app.url("/api/v1/settings"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// `GET /settings` until `done` holds (the reload is under a second).
    async fn settings_until(&self, done: impl Fn(&Value) -> bool) -> Value {
        crate::helpers::eventually("the change applied", Duration::from_secs(10), || async {
            let r = self
                .app
                .client
                .get(self.app.url("/api/v1/settings"))
                .send()
                .await
                .ok()?;
            let s: Value = r.json().await.ok()?;
            done(&s).then_some(s)
        })
        .await
    }
}

#[tokio::test]
async fn confirmations_and_the_largest_sale_changed_in_settings_apply_to_the_next_sale_and_stay_in_the_file(
) {
    let shop = owned("").await;
    let before = shop.app.create_ok(usdt("3")).await;
    assert_eq!(before["required_confirmations"], 3);

    let r = shop
        .change(json!({ "confirmations": 7, "max_amount": "250", "shop_name": "Corner Café" }))
        .await;
    assert_eq!(r.status(), 200);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["applied"], "reloading");
    assert_eq!(
        saved["changed"],
        json!([
            "merchant.name",
            "payments.confirmations",
            "payments.max_amount"
        ])
    );
    // Each saved change is a generation; the server answering it runs on the change.
    assert_eq!(saved["generation"], 1);
    let running = shop.settings_until(|s| s["generation"] == 1).await;
    assert_eq!(running["payments"]["confirmations"], 7, "{running}");
    assert!(running["reload_failure"].is_null());

    let after = shop.app.create_ok(usdt("3")).await;
    assert_eq!(after["required_confirmations"], 7, "the next sale");
    assert_error(shop.app.create(usdt("251")).await, 422, "amount_too_large").await;
    let text = std::fs::read_to_string(&shop.file).unwrap();
    assert!(
        text.starts_with(OWNER_COMMENT),
        "the owner's comment is kept:\n{text}"
    );
    assert!(text.contains("confirmations = 7"), "{text}");
    assert!(text.contains("name = \"Corner Café\""), "{text}");
    assert_eq!(
        shop.app
            .sql_count("SELECT COUNT(*) FROM events WHERE kind = 'settings.changed' AND detail LIKE '%payments.confirmations%'")
            .await,
        1,
        "in the audit trail"
    );
}

#[tokio::test]
async fn a_token_left_out_in_settings_is_no_longer_sold_and_comes_back_without_its_contract_typed()
{
    let shop = owned("").await;
    let r = shop.change(json!({ "tokens": ["USDT", "FDUSD"] })).await;
    assert_eq!(r.status(), 200);
    let s = shop
        .settings_until(|s| s["tokens"].as_array().is_some_and(|t| t.len() == 2))
        .await;
    assert_eq!(s["known_tokens"], json!(["USDT", "FDUSD", "USDC", "BUSD"]));
    let usdc = json!({ "amount": "5", "token": "USDC" });
    assert_error(shop.app.create(usdc.clone()).await, 422, "unknown_token").await;

    assert_eq!(
        shop.change(json!({ "tokens": ["USDT", "USDC", "FDUSD"] }))
            .await
            .status(),
        200
    );
    shop.settings_until(|s| s["tokens"].as_array().is_some_and(|t| t.len() == 3))
        .await;
    assert_eq!(shop.app.create(usdc).await.status(), 201);
}

#[tokio::test]
async fn bad_settings_are_refused_naming_the_key_and_leave_the_file_as_it_was() {
    let shop = owned("").await;
    let before = std::fs::read_to_string(&shop.file).unwrap();
    let body = assert_error(
        shop.change(json!({ "confirmations": 5000 })).await,
        422,
        "invalid_settings",
    )
    .await;
    assert_eq!(
        body["error"]["message"], "payments.confirmations: must be at most 1000",
        "the same words as for the file"
    );
    assert_error(
        shop.change(json!({ "receive_address": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d" }))
            .await,
        422,
        "invalid_settings",
    )
    .await;
    assert_error(
        shop.change(json!({ "colour": "red" })).await,
        422,
        "invalid_field",
    )
    .await;
    assert_eq!(std::fs::read_to_string(&shop.file).unwrap(), before);
}

#[tokio::test]
async fn alert_thresholds_changed_on_the_dashboard_are_kept_in_the_file_and_in_force() {
    let shop = owned("").await;
    let r = shop
        .change(json!({ "alerts": { "max_api_p95_ms": 250.0, "min_success_rate": 90.0 } }))
        .await;
    assert_eq!(r.status(), 200);
    let s = shop
        .settings_until(|s| s["alerts"]["max_api_p95_ms"] == 250.0)
        .await;
    assert_eq!(s["alerts"]["min_success_rate"], 90.0);
    let text = std::fs::read_to_string(&shop.file).unwrap();
    assert!(
        text.contains("[alerts]") && text.contains("max_api_p95_ms = 250"),
        "{text}"
    );
    assert_error(
        shop.change(json!({ "alerts": { "min_success_rate": 120.0 } }))
            .await,
        422,
        "invalid_settings",
    )
    .await;
}

#[tokio::test]
async fn a_server_without_a_config_file_says_its_settings_are_read_only() {
    let app = spawn_app().await;
    let s: Value = app.get_json("/api/v1/settings").await;
    assert_eq!(s["editable"], false);
    let r = app
        .client
        .patch(app.url("/api/v1/settings"))
        .json(&json!({ "confirmations": 2 }))
        .send()
        .await
        .unwrap();
    assert_error(r, 409, "settings_read_only").await;
}

#[tokio::test]
async fn rpc_endpoints_changed_in_settings_are_watched_for_the_next_sale() {
    let chain = Anvil::start().await;
    let usdt = chain.deploy_token("Tether USD (mock)", "USDT", 18).await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let shop = owned(&format!(
        "[payments]\nconfirmations = 1\nrequire_finalized = false\n[chain]\npoll_interval_ms = 200\n\
         [[networks]]\nid = \"bsc\"\nname = \"anvil\"\nchain_id = 56\nrpc_urls = [\"http://127.0.0.1:{dead}\"]\n\
         [[tokens]]\nsymbol = \"USDT\"\nnetwork = \"bsc\"\ncontract_address = \"{}\"\ndecimals = 18\n",
        usdt.to_checksum(None)
    ))
    .await;
    let r = shop.change(json!({ "rpc_urls": [chain.http_url()] })).await;
    assert_eq!(r.status(), 200);
    shop.settings_until(|s| {
        s["networks"][0]["rpc_endpoints"][0]
            .as_str()
            .is_some_and(|e| e.ends_with(&chain.http_url()[chain.http_url().rfind(':').unwrap()..]))
    })
    .await;

    let p = shop.app.create_ok(crate::helpers::usdt("4")).await;
    chain
        .pay(usdt, MERCHANT, units(p["amount"].as_str().unwrap(), 18))
        .await;
    chain.mine(2).await;
    let id = p["id"].as_str().unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now: Value = shop.app.get_json(&format!("/api/v1/payments/{id}")).await;
        if now["status"] == "paid" {
            break;
        }
        assert!(std::time::Instant::now() < until, "never paid: {now}");
        shop.app.advance(chrono::Duration::seconds(1));
        chain.mine(1).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let file = std::fs::read_to_string(&shop.file).unwrap();
    assert!(file.contains(&chain.http_url()), "{file}");
}

#[tokio::test]
async fn testing_an_endpoint_says_its_chain_head_and_whether_it_serves_logs_and_finality() {
    let app = spawn_app().await;
    let chain = Anvil::start().await;
    let refusing = crate::proxy::FaultProxy::start(&chain.http_url()).await;
    refusing
        .set(json!({ "methods": { "eth_getLogs": { "error": { "code": -32601, "message": "the method eth_getLogs does not exist/is not available" } } } }))
        .await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let test = |url: String| {
        let app = &app;
        async move {
            let r = app
                .client
                .post(app.url("/api/v1/settings/test-endpoint"))
                .json(&json!({ "url": url }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };

    let good = test(chain.http_url()).await;
    assert_eq!(good["usable"], true, "{good}");
    assert_eq!(good["chain_id"], 56);
    assert!(good["head"].as_u64().is_some());
    assert!(good["latency_ms"].as_u64().is_some());
    assert_eq!(good["logs"], true);
    assert_eq!(good["finalized"], true);

    let no_logs = test(refusing.url.clone()).await;
    assert_eq!(no_logs["usable"], false);
    assert_eq!(no_logs["logs"], false);
    assert!(
        no_logs["problem"].as_str().unwrap().contains("eth_getLogs"),
        "{no_logs}"
    );

    let gone = test(format!("http://127.0.0.1:{dead}")).await;
    assert_eq!(gone["usable"], false);
    assert_eq!(gone["problem"], "cannot be reached");
    assert_eq!(gone["problem_code"], "unreachable");
    assert_eq!(no_logs["problem_code"], "no_logs");
}

#[tokio::test]
async fn requests_made_while_the_server_reloads_its_settings_are_answered_never_refused() {
    let shop = owned("").await;
    let url = shop.app.url("/health");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            // A new connection per request: each one meets the listener during the reload.
            let client = Client::builder().pool_max_idle_per_host(0).build().unwrap();
            let (mut answered, mut failed) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 200 => answered += 1,
                    Ok(r) => failed.push(format!("HTTP {}", r.status())),
                    // Refused is what must not happen; an idle connection the old server closes as
                    // it stops is HTTP's usual race, retried by browsers and kept apart here.
                    Err(e) if e.is_connect() => failed.push(e.to_string()),
                    Err(_) => {}
                }
            }
            (answered, failed)
        })
    };
    let started = std::time::Instant::now();
    for n in [4, 5, 6] {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            shop.change(json!({ "confirmations": n })).await.status(),
            200
        );
        shop.settings_until(|s| s["payments"]["confirmations"] == n)
            .await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (answered, failed) = hammer.await.unwrap();
    assert!(
        answered > 10,
        "{answered} answered in {:?}",
        started.elapsed()
    );
    assert!(
        failed.is_empty(),
        "refused or failed during reloads: {failed:?}"
    );
}

#[tokio::test]
async fn the_logo_is_kept_in_the_database_and_still_on_the_display_after_a_settings_reload() {
    let shop = owned("").await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    let saved: Value = shop
        .app
        .client
        .put(shop.app.url("/api/v1/settings/logo"))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(
        shop.change(json!({ "shop_name": "Corner Café" }))
            .await
            .status(),
        200
    );
    shop.settings_until(|s| s["merchant"]["name"] == "Corner Café")
        .await;

    let display: Value = shop.app.get_json("/api/v1/display").await;
    assert_eq!(display["shop_name"], "Corner Café");
    assert_eq!(display["logo_version"], saved["version"], "{display}");
    let image = shop.app.get("/api/v1/display/logo").await;
    assert_eq!(image.bytes().await.unwrap().as_ref(), png.as_slice());
}

#[tokio::test]
async fn the_shop_currency_and_its_fixed_rate_set_in_settings_price_the_next_sale() {
    let shop = owned("").await;
    let before: Value = shop.app.get_json("/api/v1/settings").await;
    assert_eq!(before["pricing"]["currency"], "USD");
    assert_eq!(before["pricing"]["rate"], "1");

    let refused = shop
        .change(json!({ "pricing": { "currency": "yuan" } }))
        .await;
    let e = assert_error(refused, 422, "invalid_settings").await;
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pricing.currency"),
        "{e}"
    );

    let r = shop
        .change(json!({ "pricing": { "currency": "CNY", "source": "fixed", "rate": "7.10" } }))
        .await;
    assert_eq!(r.status(), 200);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(
        saved["changed"],
        json!(["pricing.currency", "pricing.source", "pricing.rate"])
    );
    let generation = saved["generation"].clone();
    let running = shop.settings_until(|s| s["generation"] == generation).await;
    assert_eq!(running["pricing"]["currency"], "CNY", "{running}");

    let p = shop
        .app
        .create_ok(json!({ "fiat_amount": "35.50", "token": "USDT" }))
        .await;
    assert_eq!(
        (p["requested_amount"].clone(), p["fiat_currency"].clone()),
        (json!("5.00"), json!("CNY"))
    );
    let text = std::fs::read_to_string(&shop.file).unwrap();
    assert!(
        text.contains("[pricing]")
            && text.contains("currency = \"CNY\"")
            && text.contains("rate = \"7.10\""),
        "{text}"
    );
}

#[tokio::test]
async fn the_receipt_printer_and_the_receipt_s_lines_are_set_in_settings() {
    let shop = owned("").await;
    let refused = shop
        .change(json!({ "receipts": { "auto_print": true } }))
        .await;
    let e = assert_error(refused, 422, "invalid_settings").await;
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("receipts.auto_print"),
        "{e}"
    );

    let r = shop
        .change(json!({ "receipts": { "printer": "192.168.1.50", "auto_print": true, "address": ["1 Harbour Road", "Kowloon"], "footer": "多谢！" } }))
        .await;
    assert_eq!(r.status(), 200);
    let generation = r.json::<Value>().await.unwrap()["generation"].clone();
    let running = shop.settings_until(|s| s["generation"] == generation).await;
    assert_eq!(
        running["receipts"]["printer"], "192.168.1.50:9100",
        "port 9100 by default: {running}"
    );
    assert_eq!(running["receipts"]["auto_print"], true);
    assert_eq!(
        running["receipts"]["address"],
        json!(["1 Harbour Road", "Kowloon"])
    );
    let text = std::fs::read_to_string(&shop.file).unwrap();
    assert!(
        text.contains("[receipts]") && text.contains("printer = \"192.168.1.50\""),
        "{text}"
    );
    assert!(text.contains("footer = \"多谢！\""), "{text}");
}

#[tokio::test]
async fn tip_choices_set_in_settings_are_offered_on_the_next_sale() {
    let shop = owned("[pricing]\ncurrency = \"CNY\"\nrate = \"7.10\"\n").await;
    let refused = shop.change(json!({ "tip_choices": [10, 150] })).await;
    let e = assert_error(refused, 422, "invalid_settings").await;
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tips.choices"),
        "{e}"
    );

    let r = shop.change(json!({ "tip_choices": [10, 15] })).await;
    let generation = r.json::<Value>().await.unwrap()["generation"].clone();
    let running = shop.settings_until(|s| s["generation"] == generation).await;
    assert_eq!(running["tip_choices"], json!([10, 15]));
    let p = shop
        .app
        .create_ok(json!({ "fiat_amount": "10", "token": "USDT", "ask_tip": true }))
        .await;
    assert_eq!(p["tip"]["choices"], json!([10, 15]), "{p}");
    let text = std::fs::read_to_string(&shop.file).unwrap();
    assert!(
        text.contains("[tips]") && text.contains("choices = [10, 15]"),
        "{text}"
    );
}

#[tokio::test]
async fn the_epusdt_protocol_turned_on_in_settings_takes_signed_orders_at_once_and_never_shows_its_token(
) {
    let shop = owned("").await;
    let off = shop.settings_until(|_| true).await;
    assert_eq!(off["epusdt"]["enabled"], false);
    assert!(off["epusdt"]["trade_types"]
        .as_array()
        .unwrap()
        .contains(&json!("usdt.bep20")));
    let short = shop.change(json!({ "epusdt": { "token": "short" } })).await;
    let e = assert_error(short, 422, "invalid_settings").await;
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("compat.epusdt.token"),
        "{e}"
    );

    let token = crate::compat::TOKEN;
    let r = shop
        .change(json!({ "epusdt": { "token": token, "redirect_hosts": ["shop.example.com"] } }))
        .await;
    assert_eq!(r.status(), 200);
    let generation = r.json::<Value>().await.unwrap()["generation"].clone();
    let on = shop.settings_until(|s| s["generation"] == generation).await;
    assert_eq!(on["epusdt"]["enabled"], true);
    assert_eq!(on["epusdt"]["redirect_hosts"], json!(["shop.example.com"]));
    assert!(!on.to_string().contains(token), "the token is never shown");
    let text = std::fs::read_to_string(&shop.file).unwrap();
    assert!(text.contains("[compat.epusdt]"), "{text}");
    assert!(text.starts_with(OWNER_COMMENT), "comments kept");

    let created = crate::compat::call(
        &shop.app,
        "/api/v1/order/create-transaction",
        &crate::compat::signed(crate::compat::order("set-1", json!(5))),
    )
    .await;
    assert_eq!(created["status_code"], 200, "{created}");

    // Turned off again (the redirect hosts stay in the file): orders are refused.
    let r = shop.change(json!({ "epusdt": { "token": "" } })).await;
    assert_eq!(r.status(), 200);
    let generation = r.json::<Value>().await.unwrap()["generation"].clone();
    let off = shop.settings_until(|s| s["generation"] == generation).await;
    assert_eq!(off["epusdt"]["enabled"], false);
    let refused = crate::compat::call(
        &shop.app,
        "/api/v1/order/create-transaction",
        &crate::compat::signed(crate::compat::order("set-2", json!(5))),
    )
    .await;
    assert_eq!(refused["status_code"], 400, "{refused}");
}
