//! Webhooks against a real HTTP receiver: signature, retries with backoff (driven by the test
//! clock), persistence across a restart and across kill -9 of the real binary, filtering, the
//! delivery log and redelivery.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use stablepay_core::{clock::Clock, config::Config};

use crate::helpers::{config_toml, spawn_app_with, usdt, TestApp};

const SECRET: &str = "whsec_test_0123456789";

#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub answered: u16,
}

/// An HTTP receiver answering the scripted statuses in turn (then 200), recording every request.
/// A scripted `0` records the request and never answers it.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    script: Arc<Mutex<Vec<u16>>>,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub(crate) async fn start(script: &[u16]) -> (Self, String) {
        let me = Receiver {
            script: Arc::new(Mutex::new(script.iter().rev().copied().collect())),
            seen: Arc::default(),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(me.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (me, format!("http://{addr}/hook"))
    }

    pub(crate) fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..100 {
            if self.seen().len() >= n {
                return self.seen();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} requests, got {}", self.seen().len());
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = r.script.lock().unwrap().pop().unwrap_or(200);
    r.seen.lock().unwrap().push(Received {
        headers,
        body,
        answered: status,
    });
    if status == 0 {
        std::future::pending::<()>().await;
    }
    StatusCode::from_u16(status).unwrap()
}

/// Independent check of `StablePay-Signature: t=<unix>,v1=<hex hmac>`.
fn signature_is_valid(secret: &str, header: &str, body: &[u8]) -> bool {
    let (t, v1) = header.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes()) == v1
}

fn webhook_config(url: &str, events: &str) -> String {
    format!("[[webhooks]]\nurl = \"{url}\"\nsecret = \"{SECRET}\"\nevents = {events}\n")
}

async fn cancel_new_payment(app: &TestApp) -> String {
    let id = app.create_ok(usdt("4")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post_empty(&format!("/api/v1/payments/{id}/cancel"))
        .await;
    id
}

/// The delivery log at `base` once no delivery waits for another attempt (10 s at most): from
/// then on nothing more is sent.
async fn settled_log(client: &reqwest::Client, base: &str) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log: Value = client
            .get(format!("{base}/api/v1/webhooks/deliveries"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let log = log["data"].as_array().unwrap().clone();
        if !log.is_empty() && log.iter().all(|d| d["status"] != "pending") {
            return log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries still pending: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn deliveries(app: &TestApp) -> Vec<Value> {
    let r = app.get("/api/v1/webhooks/deliveries").await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_receiver_that_fails_twice_then_succeeds_accepts_the_event_once_with_a_valid_signature() {
    let (receiver, url) = Receiver::start(&[500, 503]).await;
    let app = spawn_app_with(&webhook_config(&url, r#"["payment.cancelled"]"#)).await;
    let id = cancel_new_payment(&app).await;

    receiver.wait_for(1).await;
    app.advance(chrono::Duration::seconds(10)); // first retry after 10 s
    receiver.wait_for(2).await;
    app.advance(chrono::Duration::seconds(20)); // then 20 s
    let seen = receiver.wait_for(3).await;
    settled_log(&app.client, &app.base).await;

    let seen_now = receiver.seen();
    assert_eq!(seen_now.len(), 3, "no attempt after the success");
    let accepted: Vec<&Received> = seen.iter().filter(|r| r.answered == 200).collect();
    assert_eq!(accepted.len(), 1);
    let event_ids: Vec<&str> = seen
        .iter()
        .map(|r| r.headers["stablepay-event-id"].to_str().unwrap())
        .collect();
    assert!(
        event_ids.iter().all(|e| *e == event_ids[0]),
        "the same event every attempt"
    );
    for r in &seen {
        let header = r.headers["stablepay-signature"].to_str().unwrap();
        assert!(
            signature_is_valid(SECRET, header, &r.body),
            "bad signature {header}"
        );
        assert!(!signature_is_valid(
            "whsec_wrong_secret_000",
            header,
            &r.body
        ));
    }
    let body: Value = serde_json::from_slice(&accepted[0].body).unwrap();
    assert_eq!(body["type"], "payment.cancelled");
    assert_eq!(body["id"], event_ids[0]);
    assert_eq!(body["data"]["payment"]["id"], id);
    assert_eq!(body["data"]["payment"]["status"], "cancelled");

    let log = deliveries(&app).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"], 3);
    assert_eq!(log[0]["last_status_code"], 200);
}

#[tokio::test]
async fn a_server_restart_between_attempts_loses_nothing() {
    let (receiver, url) = Receiver::start(&[500]).await;
    let extra = webhook_config(&url, "[]");
    let mut app = spawn_app_with(&extra).await;
    cancel_new_payment(&app).await;
    receiver.wait_for(1).await;

    // Stop the server after the failed attempt and start a new one on the same database.
    app.server.take().unwrap().shutdown().await;
    let config =
        Config::from_toml_str(&config_toml(&app.db_path(), &extra), std::iter::empty()).unwrap();
    let server = stablepay_server::start(config, app.clock.clone() as Arc<dyn Clock>)
        .await
        .unwrap();
    app.base = format!("http://{}", server.addr);
    app.server = Some(server);
    app.advance(chrono::Duration::seconds(10));

    let seen = receiver.wait_for(2).await;
    assert_eq!(seen[1].answered, 200);
    assert_eq!(
        seen[0].body, seen[1].body,
        "the same frozen body is sent again"
    );
    let log = deliveries(&app).await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_u64()),
        (Some("delivered"), Some(2))
    );
}

/// Runs the real `stablepay-server` binary; returns it with its base URL (from its "listening on"
/// line). Its stdout is drained so that later log lines never hit a closed pipe.
fn start_binary(config: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stablepay-server"))
        .args(["serve", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().and_then(Result::ok).unwrap_or_default();
    std::thread::spawn(move || lines.for_each(drop));
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (child, format!("http://{addr}"))
}

#[tokio::test]
async fn an_event_in_flight_when_the_binary_is_killed_is_delivered_after_restart() {
    let (receiver, url) = Receiver::start(&[0]).await; // the first POST never gets an answer
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("stablepay.toml");
    let extra = webhook_config(&url, r#"["payment.cancelled"]"#);
    std::fs::write(&config, config_toml(&dir.path().join("shop.db"), &extra)).unwrap();
    let client = reqwest::Client::new();

    let (mut server, base) = start_binary(&config);
    let created: Value = client
        .post(format!("{base}/api/v1/payments"))
        .json(&usdt("4"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let cancelled = client
        .post(format!("{base}/api/v1/payments/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    receiver.wait_for(1).await;
    server.kill().unwrap(); // SIGKILL while the attempt is in flight: no outcome is recorded
    server.wait().unwrap();

    let (mut restarted, base) = start_binary(&config);
    let seen = receiver.wait_for(2).await;
    let log = settled_log(&client, &base).await;
    restarted.kill().unwrap();
    restarted.wait().unwrap();

    assert_eq!(receiver.seen().len(), 2, "sent again once, then done");
    assert_eq!(seen[1].answered, 200);
    assert_eq!(seen[0].body, seen[1].body, "the frozen body is sent again");
    assert_eq!(
        seen[0].headers["stablepay-event-id"],
        seen[1].headers["stablepay-event-id"]
    );
    let body: Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(body["data"]["payment"]["id"], id);
    assert_eq!(log.len(), 1, "queued once, not again after the restart");
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["event_id"], body["id"]);
}

#[tokio::test]
async fn endpoints_get_only_their_event_types_and_never_payment_created() {
    let (receiver, url) = Receiver::start(&[]).await;
    // The receivers listen on loopback: the owner allows API-added webhooks to reach it here.
    let app = spawn_app_with(&format!(
        "{}[webhook_targets]\nallowed_private = [\"127.0.0.1\"]\n",
        webhook_config(&url, r#"["payment.expired"]"#)
    ))
    .await;
    let (all_receiver, all_url) = Receiver::start(&[]).await;
    let r = app
        .client
        .post(app.url("/api/v1/webhooks"))
        .json(&json!({ "url": all_url, "secret": SECRET }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["source"], "api");
    assert!(
        created.get("secret").is_none(),
        "the secret is never shown back"
    );

    let expiring = app.create_ok(usdt("6")).await;
    cancel_new_payment(&app).await;
    app.advance(chrono::Duration::seconds(901));
    let expired = {
        let mut status = String::new();
        for _ in 0..50 {
            status = app
                .get(&format!(
                    "/api/v1/payments/{}",
                    expiring["id"].as_str().unwrap()
                ))
                .await
                .json::<Value>()
                .await
                .unwrap()["status"]
                .as_str()
                .unwrap()
                .to_string();
            if status == "expired" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        status
    };
    assert_eq!(expired, "expired");

    let only_expired = receiver.wait_for(1).await;
    let types = |seen: &[Received]| -> Vec<String> {
        let mut t: Vec<String> = seen
            .iter()
            .map(|r| {
                serde_json::from_slice::<Value>(&r.body).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        t.sort();
        t
    };
    let everything = all_receiver.wait_for(2).await;
    settled_log(&app.client, &app.base).await;
    assert_eq!(types(&receiver.seen()), ["payment.expired"]);
    assert_eq!(
        types(&all_receiver.seen()),
        ["payment.cancelled", "payment.expired"]
    );
    assert_eq!(only_expired.len(), 1);
    assert_eq!(everything.len(), 2);
}

#[tokio::test]
async fn a_bad_webhook_gets_422_and_deliveries_can_be_sent_again() {
    let (receiver, url) = Receiver::start(&[]).await;
    let app = spawn_app_with(&webhook_config(&url, r#"["payment.cancelled"]"#)).await;
    for (body, field) in [
        (json!({ "url": "ftp://x", "secret": SECRET }), "url"),
        (json!({ "url": url, "secret": "short" }), "secret"),
        (
            json!({ "url": url, "secret": SECRET, "events": ["payment.created"] }),
            "events",
        ),
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/webhooks"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{body}");
        let error: Value = r.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_field");
        assert!(error["error"]["message"].as_str().unwrap().contains(field));
    }

    cancel_new_payment(&app).await;
    receiver.wait_for(1).await;
    let log = deliveries(&app).await;
    let id = log[0]["id"].as_i64().unwrap();
    let r = app
        .post_empty(&format!("/api/v1/webhooks/deliveries/{id}/redeliver"))
        .await;
    assert_eq!(r.status(), 202);
    let seen = receiver.wait_for(2).await;
    assert_eq!(seen[0].body, seen[1].body);
    assert_eq!(
        app.post_empty("/api/v1/webhooks/deliveries/999999/redeliver")
            .await
            .status(),
        404
    );

    let hooks: Value = app.get("/api/v1/webhooks").await.json().await.unwrap();
    let config_hook = hooks["data"][0]["id"].as_str().unwrap().to_string();
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/webhooks/{config_hook}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "config endpoints are managed in the file");
}

#[tokio::test]
async fn a_delivery_tells_the_payment_as_it_was_when_the_event_happened_not_when_it_is_queued() {
    use stablepay_core::{
        amount::DecimalAmount,
        catalog::{NetworkId, TokenSymbol},
        payments::{NewPayment, Price},
        webhooks::PaymentRenderer,
        Core,
    };
    // A core without the server's background loops: its feeder runs when the test says.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let extra = webhook_config("http://127.0.0.1:9/hook", "[\"payment.cancelled\"]");
    let config = Config::from_toml_str(&config_toml(&db, &extra), std::iter::empty()).unwrap();
    let clock = Arc::new(stablepay_core::clock::ManualClock::new(chrono::Utc::now()));
    let core = Core::start(config, clock as Arc<dyn Clock>).await.unwrap();
    let created = core
        .payments
        .create(NewPayment {
            price: Price::Amount(DecimalAmount::parse("4").unwrap()),
            token: TokenSymbol::parse("USDT").unwrap(),
            network: NetworkId::parse("bsc").unwrap(),
            description: Some("as sold".into()),
            order_reference: None,
            expires_in: None,
            metadata: None,
            idempotency_key: None,
        })
        .await
        .unwrap();
    core.payments.cancel(&created.payment.id).await.unwrap();

    // Before the event is queued, the payment changes again (through a second connection).
    use sqlx::Connection;
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE payment_sessions SET description = 'changed later', status = 'expired'")
        .execute(&mut db)
        .await
        .unwrap();
    let render: PaymentRenderer = Arc::new(|p| {
        serde_json::to_value(stablepay_server::dto::payments::PaymentResponse::from(p)).unwrap()
    });
    assert_eq!(core.webhooks.feed(&render).await.unwrap(), 1);

    let payload: String = sqlx::query_scalar("SELECT payload FROM webhook_deliveries")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(body["type"], "payment.cancelled");
    assert_eq!(body["data"]["payment"]["status"], "cancelled");
    assert_eq!(body["data"]["payment"]["description"], "as sold");
    core.release_database();
}

#[tokio::test]
async fn webhooks_added_through_the_api_cannot_reach_the_shop_s_own_network() {
    let app = crate::helpers::spawn_app().await;
    for url in [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:8080/api/v1/payments",
        "http://10.0.0.1/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/webhooks"))
            .json(&json!({ "url": url, "secret": SECRET }))
            .send()
            .await
            .unwrap();
        let body = crate::helpers::assert_error(r, 422, "invalid_field").await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("private network"),
            "{url}: {body}"
        );
    }
}

#[tokio::test]
async fn no_more_than_twenty_webhook_endpoints_are_kept() {
    let app = spawn_app_with("[webhook_targets]\nallowed_private = [\"127.0.0.1\"]\n").await;
    for i in 0..20 {
        let r = app
            .client
            .post(app.url("/api/v1/webhooks"))
            .json(&json!({ "url": format!("http://127.0.0.1:9/hook/{i}"), "secret": SECRET }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let r = app
        .client
        .post(app.url("/api/v1/webhooks"))
        .json(&json!({ "url": "http://127.0.0.1:9/hook/21", "secret": SECRET }))
        .send()
        .await
        .unwrap();
    crate::helpers::assert_error(r, 422, "invalid_field").await;
}

#[tokio::test]
async fn a_failed_delivery_says_so_in_plain_words_without_socket_detail() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(&webhook_config(
        &format!("http://127.0.0.1:{closed}/hook"),
        "[]",
    ))
    .await;
    cancel_new_payment(&app).await;
    let mut log = vec![];
    for _ in 0..50 {
        log = deliveries(&app).await;
        if log.first().is_some_and(|d| d["attempts"] == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log[0]["last_error"], "could not reach the receiver");
}
