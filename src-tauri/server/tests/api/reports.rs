//! The day's close (issue 19): a seeded day's sales by state and its takings per token and network,
//! in token units and in the shop's currency, matching the sum of its payments.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app_with, TestApp};

async fn paid(app: &TestApp, p: &Value) {
    app.sql(&format!(
        "UPDATE payment_sessions SET status = 'paid', paid_at = created_at + 1000, closed_at = created_at + 1000 WHERE id = '{}'",
        p["id"].as_str().unwrap()
    ))
    .await;
}

fn yuan(amount: &str, token: &str) -> Value {
    json!({ "fiat_amount": amount, "token": token })
}

#[tokio::test]
async fn the_close_of_a_seeded_day_matches_the_sum_of_its_payments() {
    let app =
        spawn_app_with("[pricing]\ncurrency = \"CNY\"\nsource = \"fixed\"\nrate = \"7.10\"\n")
            .await;
    // The day before (2026-01-15, by the test clock): one paid sale, in the other day's report only.
    let before = app.create_ok(yuan("142", "USDT")).await;
    paid(&app, &before).await;
    app.advance(chrono::Duration::days(1));

    // 2026-01-16: three paid (two in yuan, one in token units), one waiting, one cancelled.
    let a = app.create_ok(yuan("71", "USDT")).await;
    let b = app.create_ok(yuan("35.50", "USDT")).await;
    let c = app
        .create_ok(json!({ "amount": "2", "token": "USDC" }))
        .await;
    for p in [&a, &b, &c] {
        paid(&app, p).await;
    }
    app.create_ok(yuan("10", "USDT")).await;
    let cancelled = app.create_ok(yuan("20", "USDT")).await;
    app.post_empty(&format!(
        "/api/v1/payments/{}/cancel",
        cancelled["id"].as_str().unwrap()
    ))
    .await;

    let day: Value = app
        .get_json("/api/v1/reports/close?from=2026-01-16T00:00:00Z&to=2026-01-17T00:00:00Z")
        .await;
    assert_eq!(day["currency"], "CNY");
    assert_eq!(day["sales"]["paid"], 3, "{day}");
    assert_eq!(day["sales"]["pending"], 1);
    assert_eq!(day["sales"]["cancelled"], 1);
    assert_eq!(day["sales"]["expired"], 0, "every state listed");
    let takings = day["takings"].as_array().unwrap();
    assert_eq!(takings.len(), 2, "{day}");
    let usdt = takings.iter().find(|t| t["token"] == "USDT").unwrap();
    assert_eq!(
        (
            usdt["payments"].clone(),
            usdt["received"].clone(),
            usdt["fiat"].clone()
        ),
        (json!(2), json!("15.00"), json!("106.50")),
        "10.00 + 5.00 USDT, 71 + 35.50 CNY"
    );
    let usdc = takings.iter().find(|t| t["token"] == "USDC").unwrap();
    assert_eq!(
        (usdc["received"].clone(), usdc["fiat"].clone()),
        (json!("2.00"), json!("14.20"))
    );
    assert_eq!(day["fiat_total"], "120.70");
    assert_eq!(day["unpriced"], 0);

    // A till east of UTC closes its own local day (UTC+8: 2026-01-16 08:00 to 2026-01-17 08:00 UTC).
    let local: Value = app
        .get_json(
            "/api/v1/reports/close?from=2026-01-16T00:00:00%2B08:00&to=2026-01-17T00:00:00%2B08:00",
        )
        .await;
    assert_eq!(
        local["fiat_total"], "120.70",
        "sales at noon UTC are on that local day too"
    );
    let previous: Value = app
        .get_json("/api/v1/reports/close?from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z")
        .await;
    assert_eq!(previous["fiat_total"], "142.00");

    let csv = app
        .get("/api/v1/reports/close?from=2026-01-16T00:00:00Z&to=2026-01-17T00:00:00Z&format=csv")
        .await;
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let last = text.lines().last().unwrap();
    assert!(last.contains(",total,,3,,CNY,120.70"), "{text}");

    let bad = app
        .get("/api/v1/reports/close?from=2026-01-17T00:00:00Z&to=2026-01-16T00:00:00Z")
        .await;
    assert_error(bad, 400, "invalid_query").await;
}

#[tokio::test]
async fn the_close_counts_the_tips_among_the_takings() {
    let app = spawn_app_with(
        "[pricing]\ncurrency = \"CNY\"\nsource = \"fixed\"\nrate = \"7.10\"\n[tips]\nchoices = [10]\n",
    )
    .await;
    let p = app
        .create_ok(json!({ "fiat_amount": "50", "token": "USDT", "ask_tip": true }))
        .await;
    let id = p["id"].as_str().unwrap();
    let tipped = app
        .client
        .post(app.url(&format!("/api/v1/payments/{id}/tip")))
        .json(&json!({ "percent": 10 }))
        .send()
        .await
        .unwrap();
    assert_eq!(tipped.status(), 200);
    paid(&app, &json!({ "id": id })).await;
    let day: Value = app
        .get_json("/api/v1/reports/close?from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z")
        .await;
    assert_eq!(day["fiat_total"], "55.00", "{day}");
    assert_eq!(day["tips"], "5.00");
}
