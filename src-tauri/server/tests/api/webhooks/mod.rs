//! Webhooks against a real HTTP receiver: signature, retries with backoff (driven by the test
//! clock), persistence across a restart and across kill -9 of the real binary, filtering, the
//! delivery log and redelivery.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::helpers::{usdt, TestApp};

mod content;
mod delivery;
mod limits;

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
        // Generous: a loaded CI machine can take seconds to run the feeder after the clock moves.
        crate::helpers::eventually(
            &format!("{n} requests"),
            Duration::from_secs(20),
            || async {
                let seen = self.seen();
                (seen.len() >= n).then_some(seen)
            },
        )
        .await
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

/// Waits until the server has recorded `n` attempts of the one delivery (its outcome and the next
/// attempt's time). Moving the clock before that would schedule the retry from the moved clock.
async fn attempts_recorded(app: &TestApp, n: u64) {
    crate::helpers::eventually("the attempts recorded", Duration::from_secs(20), || async {
        let log = deliveries(app).await;
        (log.first().and_then(|d| d["attempts"].as_u64()) >= Some(n)).then_some(())
    })
    .await;
}

async fn deliveries(app: &TestApp) -> Vec<Value> {
    let r = app.get("/api/v1/webhooks/deliveries").await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["data"]
        .as_array()
        .unwrap()
        .clone()
}
