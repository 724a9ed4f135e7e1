//! Delivery: retries, restarts and a killed binary lose nothing and deliver once.

use std::{process::Stdio, sync::Arc};

use serde_json::Value;
use stablepay_core::{clock::Clock, config::Config};

use super::{
    attempts_recorded, cancel_new_payment, deliveries, settled_log, signature_is_valid,
    webhook_config, Received, Receiver, SECRET,
};
use crate::helpers::{config_toml, spawn_app_with, start_binary, usdt};

#[tokio::test]
async fn a_receiver_that_fails_twice_then_succeeds_accepts_the_event_once_with_a_valid_signature() {
    let (receiver, url) = Receiver::start(&[500, 503]).await;
    let app = spawn_app_with(&webhook_config(&url, r#"["payment.cancelled"]"#)).await;
    let id = cancel_new_payment(&app).await;

    receiver.wait_for(1).await;
    attempts_recorded(&app, 1).await;
    app.advance(chrono::Duration::seconds(10)); // first retry after 10 s
    receiver.wait_for(2).await;
    attempts_recorded(&app, 2).await;
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
    attempts_recorded(&app, 1).await;

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

#[tokio::test]
async fn an_event_in_flight_when_the_binary_is_killed_is_delivered_after_restart() {
    let (receiver, url) = Receiver::start(&[0]).await; // the first POST never gets an answer
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("stablepay.toml");
    let extra = webhook_config(&url, r#"["payment.cancelled"]"#);
    std::fs::write(&config, config_toml(&dir.path().join("shop.db"), &extra)).unwrap();
    let client = reqwest::Client::new();

    let (mut server, base) = start_binary(&config, "warn", Stdio::inherit());
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

    let (mut restarted, base) = start_binary(&config, "warn", Stdio::inherit());
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
