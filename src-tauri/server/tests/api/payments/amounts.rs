//! Unique amounts: offsets, holds after cancel, paid and expiry, exhaustion.

use chrono::Duration;
use serde_json::{json, Value};
use stablepay_core::clock::Clock;

use crate::helpers::{assert_error, spawn_app, spawn_app_with, usdt};

#[tokio::test]
async fn two_open_payments_for_the_same_amount_get_different_exact_amounts() {
    let app = spawn_app().await;

    let first = app.create_ok(usdt("10")).await;
    let second = app.create_ok(usdt("10.00")).await;

    assert_eq!(first["amount"], "10.00");
    assert_eq!(second["amount"], "10.01");
    assert_eq!(second["requested_amount"], "10.00");
    assert_ne!(first["amount_base_units"], second["amount_base_units"]);
}

#[tokio::test]
async fn an_offset_amount_is_never_given_to_a_payment_requesting_it_directly() {
    let app = spawn_app().await;
    app.create_ok(usdt("10")).await;
    app.create_ok(usdt("10")).await; // takes 10.01

    let direct = app.create_ok(usdt("10.01")).await;

    assert_eq!(direct["amount"], "10.02");
}

#[tokio::test]
async fn the_same_amount_on_another_token_is_not_offset() {
    let app = spawn_app().await;
    app.create_ok(usdt("10")).await;

    let usdc = app
        .create_ok(json!({"amount": "10", "token": "USDC", "network": "bsc"}))
        .await;

    assert_eq!(usdc["amount"], "10.00");
}

#[tokio::test]
async fn a_cancelled_payment_holds_its_amount_for_an_hour_then_frees_it() {
    let app = spawn_app().await;
    let first = app.create_ok(usdt("5")).await;

    let cancelled = app
        .post_empty(&format!(
            "/api/v1/payments/{}/cancel",
            first["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(cancelled.status(), 200);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");

    let during = app.create_ok(usdt("5")).await;
    assert_eq!(
        during["amount"], "5.01",
        "a transfer already sent for the cancelled sale must not pay this one"
    );
    app.advance(chrono::Duration::seconds(3601));
    let after = app.create_ok(usdt("5")).await;
    assert_eq!(after["amount"], "5.00");
}

#[tokio::test]
async fn a_paid_payment_holds_its_amount_for_fifteen_minutes_then_frees_it() {
    let app = spawn_app().await;
    let first = app.create_ok(usdt("5")).await;
    // Settlement comes from the chain watcher; here the row is settled directly.
    let now = app.clock.now().timestamp_millis();
    app.sql(&format!(
        "UPDATE payment_sessions SET status = 'paid', paid_at = {now}, closed_at = {now} WHERE id = '{}'",
        first["id"].as_str().unwrap()
    ))
    .await;

    let during = app.create_ok(usdt("5")).await;
    assert_eq!(
        during["amount"], "5.01",
        "a second send of the paid amount must not pay this one"
    );
    app.advance(chrono::Duration::seconds(901));
    let next = app.create_ok(usdt("5")).await;

    assert_eq!(next["amount"], "5.00");
}

#[tokio::test]
async fn an_expired_payment_holds_its_amount_for_the_grace_window() {
    let app = spawn_app_with("[payments]\nexpiry_seconds = 900\nlate_grace_seconds = 3600\n").await;
    let first = app.create_ok(usdt("7")).await;
    let id = first["id"].as_str().unwrap().to_string();

    app.advance(Duration::seconds(901));
    let expired: Value = app.get_json(&format!("/api/v1/payments/{id}")).await;
    assert_eq!(expired["status"], "expired");
    let during_grace = app.create_ok(usdt("7")).await;
    assert_eq!(
        during_grace["amount"], "7.01",
        "expired amount still held within grace"
    );

    app.advance(Duration::seconds(3600));
    let after_grace = app.create_ok(usdt("7")).await;
    assert_eq!(
        after_grace["amount"], "7.00",
        "held amount freed after the grace window"
    );
}

#[tokio::test]
async fn payments_expire_server_side_without_being_read() {
    let app = spawn_app().await;
    let p = app
        .create_ok(json!({"amount": "3", "token": "USDT", "expires_in": 60}))
        .await;

    app.advance(Duration::seconds(61));

    // Nobody reads the payment: the server's own sweep expires it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page: Value = app.get_json("/api/v1/payments?status=expired").await;
        if page["payments"][0]["id"] == p["id"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never expired: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn many_open_payments_for_one_amount_take_the_offsets_in_order() {
    let app = spawn_app().await;

    let mut amounts = Vec::new();
    for _ in 0..12 {
        amounts.push(app.create_ok(usdt("3")).await["amount"].clone());
    }

    let expected: Vec<Value> = (0..12).map(|k| json!(format!("3.{k:02}"))).collect();
    assert_eq!(amounts, expected);
}

#[tokio::test]
async fn when_every_offset_is_held_creation_is_refused_with_a_clear_code() {
    let app = spawn_app_with("[payments]\nmax_offset_steps = 2\n").await;
    app.create_ok(usdt("1")).await;
    app.create_ok(usdt("1")).await;

    assert_error(app.create(usdt("1")).await, 409, "amount_slots_exhausted").await;
}
