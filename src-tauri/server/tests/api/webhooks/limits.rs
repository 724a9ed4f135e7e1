//! Limits on endpoints: no shop network targets, at most twenty, plain-worded failures.

use std::time::Duration;

use serde_json::json;

use super::{cancel_new_payment, deliveries, webhook_config, SECRET};
use crate::helpers::spawn_app_with;

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
