//! Creating and cancelling: idempotency, order references, the contract's fields, products.

use serde_json::{json, Value};
use stablepay_core::eip681::TransferRequest;

use crate::helpers::{assert_error, spawn_app, usdt, MERCHANT};

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_payment() {
    let app = spawn_app().await;
    let send = || {
        app.client
            .post(app.url("/api/v1/payments"))
            .header("Idempotency-Key", "order-42-try")
            .json(&usdt("12.5"))
            .send()
    };

    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();

    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["amount"], again["amount"]);
    let page: Value = app.get_json("/api/v1/payments").await;
    assert_eq!(
        page["payments"].as_array().unwrap().len(),
        1,
        "no second payment was made"
    );
}

#[tokio::test]
async fn the_same_idempotency_key_with_another_body_is_refused() {
    let app = spawn_app().await;
    let send = |amount: &str| {
        app.client
            .post(app.url("/api/v1/payments"))
            .header("Idempotency-Key", "k-1")
            .json(&usdt(amount))
            .send()
    };
    assert_eq!(send("1").await.unwrap().status(), 201);

    assert_error(send("2").await.unwrap(), 409, "idempotency_key_reused").await;
}

#[tokio::test]
async fn an_order_reference_is_used_once() {
    let app = spawn_app().await;
    app.create_ok(json!({"amount": "1", "token": "USDT", "order_reference": "SO-1001"}))
        .await;

    assert_error(
        app.create(json!({"amount": "2", "token": "USDT", "order_reference": "SO-1001"}))
            .await,
        409,
        "order_reference_taken",
    )
    .await;
}

#[tokio::test]
async fn payment_uri_is_eip681_with_the_exact_base_unit_amount() {
    let app = spawn_app().await;
    app.create_ok(usdt("19.99")).await;
    let p = app.create_ok(usdt("19.99")).await;

    let request =
        TransferRequest::parse(p["payment_uri"].as_str().unwrap()).expect("valid EIP-681");

    assert_eq!(request.chain_id, 56);
    assert_eq!(
        request.token.to_string(),
        "0x55d398326f99059fF775485246999027B3197955"
    );
    assert_eq!(request.to.to_string(), MERCHANT);
    assert_eq!(request.amount.to_string(), "20000000000000000000");
    assert_eq!(p["amount_base_units"], "20000000000000000000");
    assert_eq!(p["amount"], "20.00");
}

#[tokio::test]
async fn a_payment_has_every_field_of_the_contract() {
    let app = spawn_app().await;
    let p = app
        .create_ok(json!({"amount": "4.5", "token": "usdt", "network": "BSC", "description": "Latte", "order_reference": "A-1", "metadata": {"table": 4}}))
        .await;

    for key in [
        "id",
        "status",
        "amount",
        "requested_amount",
        "amount_base_units",
        "token",
        "token_contract",
        "decimals",
        "network",
        "chain_id",
        "pay_to",
        "payment_uri",
        "confirmations",
        "required_confirmations",
        "transaction_hash",
        "block_number",
        "late",
        "description",
        "order_reference",
        "metadata",
        "created_at",
        "expires_at",
        "paid_at",
    ] {
        assert!(p.get(key).is_some(), "missing {key}");
    }
    assert!(p["id"].as_str().unwrap().starts_with("pay_") && p["id"].as_str().unwrap().len() == 36);
    assert_eq!(p["status"], "pending");
    assert_eq!(p["token"], "USDT");
    assert_eq!(p["network"], "bsc");
    assert_eq!(p["required_confirmations"], 3);
    assert_eq!(p["metadata"]["table"], 4);
    assert_eq!(p["created_at"], "2026-01-15T12:00:00Z");
    assert_eq!(p["expires_at"], "2026-01-15T12:15:00Z");
}

#[tokio::test]
async fn a_payment_can_be_priced_from_a_product() {
    let app = spawn_app().await;
    let product: Value = app
        .client
        .post(app.url("/api/v1/products"))
        .json(&json!({"name": "Flat white", "price": "3.80"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let p = app
        .create_ok(json!({"product_id": product["id"], "token": "USDT"}))
        .await;

    assert_eq!(p["amount"], "3.80");
    assert_eq!(p["description"], "Flat white");
    assert_eq!(p["product_id"], product["id"]);
}

#[tokio::test]
async fn only_pending_payments_can_be_cancelled() {
    let app = spawn_app().await;
    let p = app.create_ok(usdt("1")).await;
    let path = format!("/api/v1/payments/{}/cancel", p["id"].as_str().unwrap());
    assert_eq!(app.post_empty(&path).await.status(), 200);

    assert_error(app.post_empty(&path).await, 409, "invalid_state").await;
}
