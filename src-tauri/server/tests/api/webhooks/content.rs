//! What is delivered: event filters, redelivery, the payment as it was at the event.

use std::{sync::Arc, time::Duration};

use serde_json::{json, Value};
use stablepay_core::{clock::Clock, config::Config};

use super::{
    cancel_new_payment, deliveries, settled_log, webhook_config, Received, Receiver, SECRET,
};
use crate::helpers::{config_toml, spawn_app_with, usdt};

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

    let hooks: Value = app.get_json("/api/v1/webhooks").await;
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
            remainder_of: None,
            cart: None,
            ask_tip: false,
            rate: None,
            counter: None,
        })
        .await
        .unwrap();
    core.payments.cancel(&created.payment.id).await.unwrap();

    // Before the event is queued, the payment changes again (through a second connection).
    let mut db = crate::helpers::connect(&crate::helpers::store_url(&db)).await;
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
