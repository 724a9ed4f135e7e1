//! Reading payments: the filtered list, CSV export, QR codes.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, usdt};

#[tokio::test]
async fn the_list_filters_and_pages_newest_first() {
    let app = spawn_app().await;
    let mut ids = vec![];
    for i in 1..=5 {
        ids.push(app.create_ok(usdt(&format!("{i}"))).await["id"].clone());
    }
    app.create_ok(json!({"amount": "9", "token": "USDC"})).await;

    let page1: Value = app.get_json("/api/v1/payments?token=USDT&limit=2").await;
    assert_eq!(page1["payments"][0]["id"], ids[4]);
    assert_eq!(page1["payments"][1]["id"], ids[3]);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = app
        .get_json(&format!(
            "/api/v1/payments?token=USDT&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(page2["payments"][0]["id"], ids[2]);
    let page3: Value = app
        .get(&format!(
            "/api/v1/payments?token=USDT&limit=2&cursor={}",
            page2["next_cursor"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page3["payments"].as_array().unwrap().len(), 1);
    assert!(page3["next_cursor"].is_null());

    let usdc: Value = app
        .get_json("/api/v1/payments?token=usdc&status=pending,confirming")
        .await;
    assert_eq!(usdc["payments"].as_array().unwrap().len(), 1);
    let none: Value = app
        .get_json("/api/v1/payments?from=2026-01-16T00:00:00Z")
        .await;
    assert_eq!(none["payments"].as_array().unwrap().len(), 0);
    let all: Value = app
        .get_json("/api/v1/payments?from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z&network=bsc")
        .await;
    assert_eq!(all["payments"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn payments_export_as_csv() {
    let app = spawn_app().await;
    app.create_ok(json!({"amount": "2", "token": "USDT", "description": "=cmd, \"quoted\""}))
        .await;

    let r = app.get("/api/v1/payments/export.csv").await;

    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = r.text().await.unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert!(lines[0].starts_with("id,created_at,status"));
    assert!(
        lines[1].contains(",pending,USDT,bsc,2.00,")
            && lines[1].contains("\"'=cmd, \"\"quoted\"\"\""),
        "{}",
        lines[1]
    );
    // Both amounts: the default shop currency is US dollars at one to one.
    assert!(lines[0]
        .ends_with(",fiat_amount,fiat_currency,rate,rate_source,rate_at,refunded_amount,counter"));
    assert!(lines[1].contains(",2.00,USD,1,fixed,"), "{}", lines[1]);
}

#[tokio::test]
async fn qr_codes_come_as_svg_and_png_for_both_kinds() {
    let app = spawn_app().await;
    let id = app.create_ok(usdt("1")).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let svg = app.get(&format!("/api/v1/payments/{id}/qr.svg")).await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains("<svg"));
    let png = app
        .get(&format!(
            "/api/v1/payments/{id}/qr.png?kind=address&scale=4"
        ))
        .await;
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(&png.bytes().await.unwrap()[1..4], b"PNG");
    assert_error(
        app.get(&format!("/api/v1/payments/{id}/qr.png?kind=bitcoin"))
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/payments/pay_00000000000000000000000000000000/qr.svg")
            .await,
        404,
        "payment_not_found",
    )
    .await;
}
