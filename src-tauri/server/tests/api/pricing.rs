//! Prices in the shop's currency (issue 19): a fixed rate, each live provider answering in its real
//! format (served here by a local HTTP server), the markup, and a stale rate refusing new sales.

use std::sync::{Arc, Mutex};

use axum::{extract::Query, routing::get, Json, Router};
use serde_json::{json, Value};

use crate::helpers::{assert_error, eventually, spawn_app_with, usdt, TestApp};

/// The test clock's time (helpers::spawn_app_at), Unix seconds.
const NOW: i64 = 1_768_478_400;

/// A local stand-in for CoinGecko and Coinbase answering in their formats; records the queries.
async fn providers() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (gecko_seen, coinbase_seen) = (seen.clone(), seen.clone());
    let app = Router::new()
        .route(
            "/api/v3/simple/price",
            get(move |Query(q): Query<Vec<(String, String)>>| async move {
                gecko_seen.lock().unwrap().push(format!("coingecko {q:?}"));
                Json(json!({
                    "tether": { "cny": 7.1234, "last_updated_at": NOW - 30 },
                    "usd-coin": { "cny": 7.12, "last_updated_at": NOW - 30 }
                }))
            }),
        )
        .route(
            "/v2/exchange-rates",
            get(move |Query(q): Query<Vec<(String, String)>>| async move {
                coinbase_seen.lock().unwrap().push(format!("coinbase {q:?}"));
                let currency = q.iter().find(|(k, _)| k == "currency").map(|(_, v)| v.clone());
                Json(match currency.as_deref() {
                    Some("USDT") => json!({ "data": { "currency": "USDT", "rates": { "CNY": "7.2000", "EUR": "0.94" } } }),
                    // Coinbase answers a currency it does not know with USD's rates.
                    _ => json!({ "data": { "currency": "USD", "rates": { "CNY": "7.1" } } }),
                })
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn cny(amount: &str) -> Value {
    json!({ "fiat_amount": amount, "token": "USDT", "network": "bsc" })
}

async fn rate_in_force(app: &TestApp) -> Value {
    eventually("a rate", std::time::Duration::from_secs(10), || async {
        let p: Value = app.get_json("/api/v1/pricing").await;
        p["rates"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["token"] == "USDT").cloned())
    })
    .await
}

#[tokio::test]
async fn a_fixed_rate_prices_a_sale_in_the_shop_currency_and_the_payment_records_it() {
    let app =
        spawn_app_with("[pricing]\ncurrency = \"CNY\"\nsource = \"fixed\"\nrate = \"7.10\"\n")
            .await;
    let p = app.create_ok(cny("35.50").await).await;
    assert_eq!(p["requested_amount"], "5.00", "{p}");
    assert_eq!(p["amount"], "5.00");
    assert_eq!(p["fiat_amount"], "35.50");
    assert_eq!(p["fiat_currency"], "CNY");
    assert_eq!(p["rate"], "7.1");
    assert_eq!(p["rate_source"], "fixed");
    assert_eq!(p["rate_markup_percent"], "0");
    assert!(p["rate_at"].is_string());

    // Read back as stored, and in the list.
    let id = p["id"].as_str().unwrap();
    let again: Value = app.get_json(&format!("/api/v1/payments/{id}")).await;
    assert_eq!(
        (again["fiat_amount"].clone(), again["rate"].clone()),
        (json!("35.50"), json!("7.1"))
    );

    // A token-priced sale records what it was worth; the rounding is up, never down.
    let tokens = app.create_ok(usdt("2")).await;
    assert_eq!(tokens["fiat_amount"], "14.20");
    let odd = app.create_ok(cny("10").await).await;
    assert_eq!(
        odd["requested_amount"], "1.41",
        "10 / 7.10 = 1.408…, rounded up to the step"
    );
}

#[tokio::test]
async fn coingecko_rates_in_its_own_format_price_a_sale_with_the_markup_and_its_own_time() {
    let (url, seen) = providers().await;
    let app = spawn_app_with(&format!(
        "[pricing]\ncurrency = \"CNY\"\nsource = \"coingecko\"\ncoingecko_url = \"{url}\"\nmarkup_percent = \"1\"\n"
    ))
    .await;
    let rate = rate_in_force(&app).await;
    assert_eq!(
        (rate["rate"].clone(), rate["stale"].clone()),
        (json!("7.1234"), json!(false))
    );
    let asked = seen.lock().unwrap().join(" ");
    assert!(
        asked.contains("tether") && asked.contains("\"cny\""),
        "{asked}"
    );

    let p = app.create_ok(cny("71.234").await).await;
    // 71.234 / 7.1234 = 10, plus 1 % = 10.10.
    assert_eq!(p["requested_amount"], "10.10", "{p}");
    assert_eq!(p["rate_source"], "coingecko");
    assert_eq!(p["rate_markup_percent"], "1");
    assert_eq!(
        p["rate_at"], "2026-01-15T11:59:30Z",
        "the rate's own time, not the fetch's"
    );
}

#[tokio::test]
async fn coinbase_rates_in_its_own_format_price_a_sale_and_a_token_it_lacks_is_refused() {
    let (url, _) = providers().await;
    let app = spawn_app_with(&format!(
        "[pricing]\ncurrency = \"CNY\"\nsource = \"coinbase\"\ncoinbase_url = \"{url}\"\n"
    ))
    .await;
    assert_eq!(rate_in_force(&app).await["rate"], "7.2");
    let p = app.create_ok(cny("72").await).await;
    assert_eq!(
        (p["requested_amount"].clone(), p["rate_source"].clone()),
        (json!("10.00"), json!("coinbase"))
    );

    let fdusd = app
        .create(json!({ "fiat_amount": "72", "token": "FDUSD", "network": "bsc" }))
        .await;
    let e = assert_error(fdusd, 409, "rate_unavailable").await;
    assert!(
        e["error"]["message"].as_str().unwrap().contains("FDUSD"),
        "{e}"
    );
}

#[tokio::test]
async fn a_rate_past_its_age_refuses_new_shop_currency_sales_with_the_reason_but_not_token_sales() {
    let (url, _) = providers().await;
    let app = spawn_app_with(&format!(
        "[pricing]\ncurrency = \"CNY\"\nsource = \"coinbase\"\ncoinbase_url = \"{url}\"\nrefresh_seconds = 3600\nmax_age_seconds = 3600\n"
    ))
    .await;
    rate_in_force(&app).await;
    app.create_ok(cny("10").await).await;

    app.advance(chrono::Duration::seconds(3601));
    let stale = assert_error(app.create(cny("10").await).await, 409, "rate_stale").await;
    let message = stale["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("3601 s old") && message.contains("3600"),
        "{message}"
    );
    let pricing: Value = app.get_json("/api/v1/pricing").await;
    assert_eq!(pricing["rates"][0]["stale"], true, "{pricing}");

    // Token amounts need no rate: the till can still sell, without a shop-currency figure.
    let tokens = app.create_ok(usdt("3")).await;
    assert!(
        tokens["fiat_amount"].is_null(),
        "never valued at a stale rate: {tokens}"
    );
}

#[tokio::test]
async fn a_price_must_be_one_of_amount_fiat_amount_and_product() {
    let app = spawn_app_with("").await;
    let both = json!({ "amount": "1", "fiat_amount": "1", "token": "USDT" });
    assert_error(app.create(both).await, 422, "invalid_field").await;
    let bad = json!({ "fiat_amount": "1,50", "token": "USDT" });
    assert_error(app.create(bad).await, 422, "invalid_amount").await;
    // The default: US dollars at one to one.
    let p = app
        .create_ok(json!({ "fiat_amount": "2.5", "token": "USDT" }))
        .await;
    assert_eq!(
        (p["requested_amount"].clone(), p["fiat_currency"].clone()),
        (json!("2.50"), json!("USD"))
    );
}

#[tokio::test]
async fn bad_pricing_settings_refuse_to_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let toml =
        crate::helpers::config_toml(&dir.path().join("x.db"), "[pricing]\ncurrency = \"yuan\"\n");
    let e = stablepay_core::config::Config::from_toml_str(&toml, std::iter::empty()).unwrap_err();
    assert!(e.to_string().contains("pricing.currency"), "{e}");
}

#[tokio::test]
async fn a_cart_of_three_lines_with_a_discount_is_priced_at_its_total_and_keeps_its_lines() {
    let app =
        spawn_app_with("[pricing]\ncurrency = \"CNY\"\nsource = \"fixed\"\nrate = \"7.10\"\n")
            .await;
    let cart = json!({
        "token": "USDT",
        "items": [
            { "name": "Flat white", "quantity": 2, "unit_price": "18.50" },
            { "name": "Croissant", "quantity": 1, "unit_price": "12" },
            { "name": "Water", "quantity": 1, "unit_price": "0.99" }
        ],
        "discount": { "percent": "10" }
    });
    let p = app.create_ok(cart.clone()).await;
    assert_eq!(p["fiat_amount"], "44.99", "49.99 less 10 % (5.00): {p}");
    assert_eq!(
        p["requested_amount"], "6.34",
        "44.99 / 7.10 = 6.336…, rounded up"
    );
    assert_eq!(p["cart"]["subtotal"], "49.99");
    assert_eq!(p["cart"]["discount"], "5.00");
    assert_eq!(p["cart"]["discount_percent"], "10");
    assert_eq!(
        p["cart"]["items"][0],
        json!({ "name": "Flat white", "quantity": 2, "unit_price": "18.50", "amount": "37.00", "product_id": null })
    );
    let listed: Value = app.get_json("/api/v1/payments").await;
    assert_eq!(
        listed["payments"][0]["cart"]["items"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "{listed}"
    );

    // The receipt lists the lines and the discount.
    let id = p["id"].as_str().unwrap();
    app.sql(&format!("UPDATE payment_sessions SET status = 'paid', paid_at = created_at + 1, transaction_hash = '0x01' WHERE id = '{id}'")).await;
    let receipt: Value = app
        .get_json(&format!("/api/v1/payments/{id}/receipt"))
        .await;
    let labels: Vec<&str> = receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["2 × Flat white", "Croissant", "Water", "− 10 %"]);
    assert_eq!(receipt["lines"][3]["amount"], "-5.00 CNY");

    let mut wrong_total = cart.clone();
    wrong_total["fiat_amount"] = json!("40");
    assert_error(app.create(wrong_total).await, 422, "invalid_field").await;
    let mut with_amount = cart.clone();
    with_amount["amount"] = json!("1");
    assert_error(app.create(with_amount).await, 422, "invalid_field").await;
    let everything_off = json!({ "token": "USDT", "items": [{ "name": "Cake", "quantity": 1, "unit_price": "9.90" }], "discount": { "amount": "9.90" } });
    assert_error(app.create(everything_off).await, 422, "invalid_field").await;
    let zero = json!({ "token": "USDT", "items": [{ "name": "Cake", "quantity": 0, "unit_price": "9.90" }] });
    assert_error(app.create(zero).await, 422, "invalid_field").await;
}

#[tokio::test]
async fn a_tip_chosen_on_the_display_is_added_before_the_amount_is_fixed() {
    let app = spawn_app_with(
        "[pricing]\ncurrency = \"CNY\"\nsource = \"fixed\"\nrate = \"7.10\"\n[tips]\nchoices = [10, 15, 20]\n",
    )
    .await;
    let pricing: Value = app.get_json("/api/v1/pricing").await;
    assert_eq!(pricing["tip_choices"], json!([10, 15, 20]));
    let p = app
        .create_ok(json!({ "fiat_amount": "44.99", "token": "USDT", "ask_tip": true, "show_on_display": true }))
        .await;
    assert_eq!(
        p["tip"],
        json!({ "choices": [10, 15, 20], "base": "44.99", "percent": null, "amount": null })
    );
    let shown: Value = app.get_json("/api/v1/display").await;
    assert!(
        shown["payment"]["tip"]["percent"].is_null(),
        "the display asks: {shown}"
    );

    let id = p["id"].as_str().unwrap();
    let tip = |percent: u32| {
        app.client
            .post(app.url(&format!("/api/v1/payments/{id}/tip")))
            .json(&json!({ "percent": percent }))
            .send()
    };
    assert_error(tip(12).await.unwrap(), 422, "invalid_field").await;
    let tipped: Value = tip(10).await.unwrap().json().await.unwrap();
    assert_eq!(
        tipped["tip"]["amount"], "4.50",
        "10 % of 44.99, half up: {tipped}"
    );
    assert_eq!(tipped["fiat_amount"], "49.49");
    assert_eq!(
        tipped["requested_amount"], "6.98",
        "49.49 / 7.10 = 6.970…, rounded up"
    );
    assert_ne!(tipped["amount"], p["amount"]);
    let shown: Value = app.get_json("/api/v1/display").await;
    assert_eq!(
        shown["payment"]["amount"], tipped["amount"],
        "the display follows the new amount"
    );
    assert_error(tip(15).await.unwrap(), 409, "invalid_state").await;

    // No tip: the amount stays; and without ask_tip nothing is asked.
    let q = app
        .create_ok(json!({ "fiat_amount": "10", "token": "USDT", "ask_tip": true }))
        .await;
    let untipped: Value = app
        .client
        .post(app.url(&format!(
            "/api/v1/payments/{}/tip",
            q["id"].as_str().unwrap()
        )))
        .json(&json!({ "percent": 0 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            untipped["amount"].clone(),
            untipped["tip"]["percent"].clone()
        ),
        (q["amount"].clone(), json!(0))
    );
    let plain = app
        .create_ok(json!({ "fiat_amount": "10", "token": "USDT" }))
        .await;
    assert!(plain["tip"].is_null());
}
