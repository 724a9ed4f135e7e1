//! The epusdt protocol: orders signed as the epusdt API docs say, answered in their envelope;
//! callbacks in their format through the outbox until the receiver answers `ok`.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, extract::State, routing::post, Router};
use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use crate::helpers::{eventually, spawn_app_with, TestApp, MERCHANT};

pub(crate) const TOKEN: &str = "epusdt_password_xasddawqe";

pub(crate) fn compat_toml(extra: &str) -> String {
    format!(
        "[compat.epusdt]\ntoken = \"{TOKEN}\"\nredirect_hosts = [\"shop.example.com\"]\n{extra}"
    )
}

/// The docs' algorithm, written again here: non-empty parameters but `signature`, sorted,
/// `k=v&…`, the token appended, MD5, lower-case hex.
pub(crate) fn signature(params: &Value, token: &str) -> String {
    let mut pairs: Vec<(String, String)> = params
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.as_str() != "signature")
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .filter(|(_, v)| !v.is_empty() && v != "null")
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    hex::encode(Md5::digest(
        format!("{}{token}", joined.join("&")).as_bytes(),
    ))
}

pub(crate) fn signed(mut params: Value) -> Value {
    let s = signature(&params, TOKEN);
    params["signature"] = json!(s);
    params
}

pub(crate) async fn call(app: &TestApp, path: &str, body: &Value) -> Value {
    let r = app
        .client
        .post(app.url(path))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the envelope comes with HTTP 200");
    r.json().await.unwrap()
}

pub(crate) fn order(order_id: &str, amount: Value) -> Value {
    json!({
        "order_id": order_id,
        "amount": amount,
        "notify_url": "http://127.0.0.1:9/notify",
        "redirect_url": "https://shop.example.com/return",
        "trade_type": "usdt.bep20",
    })
}

#[tokio::test]
async fn the_documented_example_reproduces_the_documented_signature() {
    let params = json!({
        "order_id": "20220201030210321",
        "amount": 42,
        "notify_url": "http://example.com/notify",
        "redirect_url": "http://example.com/redirect",
    });
    assert_eq!(
        signature(&params, TOKEN),
        "1cd4b52df5587cfb1968b0c0c6e156cd"
    );
}

#[tokio::test]
async fn a_signed_order_is_an_ordinary_payment_and_the_same_order_id_answers_the_same_order() {
    let app = spawn_app_with(&compat_toml("")).await;
    let created = call(
        &app,
        "/api/v1/order/create-transaction",
        &signed(order("ord-1", json!(42))),
    )
    .await;
    assert_eq!(created["status_code"], 200, "{created}");
    assert_eq!(created["message"], "success");
    let data = &created["data"];
    let trade_id = data["trade_id"].as_str().unwrap();
    assert!(trade_id.starts_with("pay_"));
    assert_eq!(data["order_id"], "ord-1");
    assert_eq!(data["amount"], json!(42));
    assert_eq!(data["actual_amount"], json!(42), "USD at one to one");
    assert_eq!(data["token"], MERCHANT, "the receive address");
    assert_eq!(data["expiration_time"], json!(900));
    assert_eq!(
        data["payment_url"],
        format!("{}/pay/checkout-counter/{trade_id}", app.base)
    );

    // An ordinary payment: in history, priced in the shop's currency, in the stats.
    let payment: Value = app.get_json(&format!("/api/v1/payments/{trade_id}")).await;
    assert_eq!(payment["order_reference"], "ord-1");
    assert_eq!(payment["fiat_amount"], "42.00");
    assert_eq!(payment["status"], "pending");
    let history: Value = app.get_json("/api/v1/payments").await;
    assert_eq!(history["payments"][0]["id"], trade_id);
    let stats: Value = app.get_json("/api/v1/stats/payments").await;
    assert_eq!(stats["total_payments"], 1, "{stats}");

    // The same order id: the same order; with another amount: refused.
    let again = call(
        &app,
        "/api/v1/order/create-transaction",
        &signed(order("ord-1", json!(42))),
    )
    .await;
    assert_eq!(again["data"]["trade_id"], trade_id);
    let other = call(
        &app,
        "/api/v1/order/create-transaction",
        &signed(order("ord-1", json!(43))),
    )
    .await;
    assert_eq!(other["status_code"], 10002, "{other}");

    // The hosted checkout: its address opens the customer's page; the redirect is allowed.
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(&format!("/pay/checkout-counter/{trade_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()["location"],
        format!("/#/checkout/{trade_id}").as_str()
    );
    let checkout: Value = app
        .get_json(&format!("/api/v1/payments/{trade_id}/checkout"))
        .await;
    assert_eq!(checkout["redirect_url"], "https://shop.example.com/return");
}

#[tokio::test]
async fn a_wrong_signature_a_missing_field_an_unknown_trade_type_and_a_foreign_redirect_are_refused_in_the_envelope(
) {
    let app = spawn_app_with(&compat_toml("")).await;
    let path = "/api/v1/order/create-transaction";
    let mut forged = signed(order("ord-2", json!(10)));
    forged["amount"] = json!(1);
    let r = call(&app, path, &forged).await;
    assert_eq!(r["status_code"], 401, "{r}");
    assert!(r["data"].is_null());
    let unsigned = call(&app, path, &order("ord-2", json!(10))).await;
    assert_eq!(unsigned["status_code"], 401);

    let mut missing = order("ord-2", json!(10));
    missing.as_object_mut().unwrap().remove("notify_url");
    let r = call(&app, path, &signed(missing)).await;
    assert_eq!(r["status_code"], 10009, "{r}");
    assert!(r["message"].as_str().unwrap().contains("notify_url"));

    let mut tron = order("ord-2", json!(10));
    tron["trade_type"] = json!("usdt.trc20");
    let r = call(&app, path, &signed(tron)).await;
    assert_eq!(r["status_code"], 400, "{r}");
    let message = r["message"].as_str().unwrap();
    assert!(
        message.contains("usdt.trc20") && message.contains("usdt.bep20"),
        "{message}"
    );

    let mut phishing = order("ord-2", json!(10));
    phishing["redirect_url"] = json!("https://evil.example/login");
    let r = call(&app, path, &signed(phishing)).await;
    assert_eq!(r["status_code"], 400, "{r}");
    assert!(r["message"].as_str().unwrap().contains("redirect_hosts"));

    let r = call(&app, path, &json!("not an object")).await;
    assert_eq!(r["status_code"], 10009);
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM payment_sessions").await,
        0,
        "nothing was created"
    );

    let off = spawn_app_with("").await;
    let r = call(&off, path, &signed(order("ord-3", json!(10)))).await;
    assert_eq!(r["status_code"], 400);
    assert!(r["message"]
        .as_str()
        .unwrap()
        .contains("[compat.epusdt] token"));
}

#[tokio::test]
async fn a_waiting_order_is_cancelled_once_and_an_unknown_one_is_not_found() {
    let app = spawn_app_with(&compat_toml("")).await;
    let created = call(
        &app,
        "/api/v1/order/create-transaction",
        &signed(order("ord-4", json!("9.99"))),
    )
    .await;
    let trade_id = created["data"]["trade_id"].clone();
    let cancel = signed(json!({ "trade_id": trade_id }));
    let r = call(&app, "/api/v1/order/cancel-transaction", &cancel).await;
    assert_eq!(r["status_code"], 200, "{r}");
    assert_eq!(r["data"]["trade_id"], trade_id);
    let p: Value = app
        .get_json(&format!("/api/v1/payments/{}", trade_id.as_str().unwrap()))
        .await;
    assert_eq!(p["status"], "cancelled");
    let twice = call(&app, "/api/v1/order/cancel-transaction", &cancel).await;
    assert_eq!(twice["status_code"], 400);
    let unknown = call(
        &app,
        "/api/v1/order/cancel-transaction",
        &signed(json!({ "trade_id": "pay_00000000000000000000000000000000" })),
    )
    .await;
    assert_eq!(unknown["status_code"], 10008);
}

/// A callback receiver answering the scripted bodies in turn (then `ok`), recording each body.
#[derive(Clone, Default)]
pub(crate) struct Notified {
    script: Arc<Mutex<Vec<&'static str>>>,
    pub seen: Arc<Mutex<Vec<Value>>>,
}

impl Notified {
    pub(crate) async fn start(script: &[&'static str]) -> (Self, String) {
        let me = Notified {
            script: Arc::new(Mutex::new(script.iter().rev().copied().collect())),
            seen: Arc::default(),
        };
        let app = Router::new()
            .route("/notify", post(notified))
            .with_state(me.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (me, format!("http://{addr}/notify"))
    }

    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Value> {
        eventually(
            &format!("{n} callbacks"),
            Duration::from_secs(20),
            || async {
                let seen = self.seen.lock().unwrap().clone();
                (seen.len() >= n).then_some(seen)
            },
        )
        .await
    }
}

async fn notified(State(n): State<Notified>, body: Bytes) -> &'static str {
    n.seen
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap());
    n.script.lock().unwrap().pop().unwrap_or("ok")
}

/// The callback's signature is right (checked with the docs' algorithm).
pub(crate) fn assert_signed(callback: &Value) {
    let map: &Map<String, Value> = callback.as_object().unwrap();
    assert_eq!(
        map["signature"].as_str().unwrap(),
        signature(callback, TOKEN),
        "{callback}"
    );
}

#[tokio::test]
async fn an_expired_order_calls_back_with_status_3_until_the_receiver_answers_ok() {
    let (receiver, url) = Notified::start(&["fail"]).await;
    let app = spawn_app_with(&compat_toml("")).await;
    let mut params = order("ord-5", json!("12.5"));
    params["notify_url"] = json!(url);
    params["timeout"] = json!(60);
    let created = call(&app, "/api/v1/order/create-transaction", &signed(params)).await;
    assert_eq!(created["data"]["expiration_time"], json!(60));
    // No chain answers here: a pending payment expires 120 s after its time.
    app.advance(chrono::Duration::seconds(200));
    let first = receiver.wait_for(1).await;
    assert_eq!(first[0]["status"], json!(3));
    assert_eq!(first[0]["order_id"], "ord-5");
    assert_eq!(first[0]["trade_id"], created["data"]["trade_id"]);
    assert_eq!(first[0]["amount"], json!(12.5));
    assert_eq!(first[0]["block_transaction_id"], "");
    assert_signed(&first[0]);
    // It answered "fail": tried again after the back-off, until it says ok.
    app.advance(chrono::Duration::seconds(11));
    let both = receiver.wait_for(2).await;
    assert_eq!(both[1], both[0], "the same frozen body");
    let delivered = eventually("the callback delivered", Duration::from_secs(10), || async {
        let n = app
            .sql_count("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered' AND target_url IS NOT NULL")
            .await;
        (n == 1).then_some(n)
    })
    .await;
    assert_eq!(delivered, 1);
    let log: Value = app.get_json("/api/v1/webhooks/deliveries").await;
    let entry = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["url"] == url.as_str());
    assert!(
        entry.is_some(),
        "the delivery log names the notify_url: {log}"
    );
}
