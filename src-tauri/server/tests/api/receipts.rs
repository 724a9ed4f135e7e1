//! Receipts (issue 19): a paid sale's receipt with both amounts, the rate and the transaction, and
//! the same receipt printed as ESC/POS to a receipt printer on the network (a local TCP listener
//! here), with the explorer link as its QR code.

use serde_json::{json, Value};
use stablepay_core::receipts::escpos;
use tokio::io::AsyncReadExt;

use crate::helpers::{assert_error, spawn_app_with, TestApp};

const TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

async fn paid_sale(app: &TestApp) -> String {
    let p = app
        .create_ok(json!({ "fiat_amount": "35.50", "token": "USDT", "description": "Flat white" }))
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    app.sql(&format!(
        "UPDATE payment_sessions SET status = 'paid', paid_at = created_at + 1000, closed_at = created_at + 1000,
           transaction_hash = '{TX}', block_number = 100 WHERE id = '{id}'"
    ))
    .await;
    id
}

const SHOP: &str = "[pricing]\ncurrency = \"CNY\"\nsource = \"fixed\"\nrate = \"7.10\"\n[receipts]\naddress = [\"1 Harbour Road\"]\nfooter = \"Thank you!\"\n";

#[tokio::test]
async fn a_paid_sale_has_a_receipt_with_both_amounts_the_rate_and_the_transaction() {
    let app = spawn_app_with(SHOP).await;
    let waiting = app
        .create_ok(json!({ "amount": "1", "token": "USDT" }))
        .await;
    let early = app
        .get(&format!(
            "/api/v1/payments/{}/receipt",
            waiting["id"].as_str().unwrap()
        ))
        .await;
    assert_error(early, 409, "invalid_state").await;

    let id = paid_sale(&app).await;
    let r: Value = reqwest::get(app.url(&format!("/api/v1/payments/{id}/receipt")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["shop_address"], json!(["1 Harbour Road"]), "{r}");
    assert_eq!(
        r["lines"][0],
        json!({ "label": "Flat white", "amount": "35.50 CNY" })
    );
    assert_eq!(r["fiat_total"], "35.50 CNY");
    assert_eq!(r["token_total"], "5.00 USDT");
    assert_eq!(r["rate"], "1 USDT = 7.1 CNY (fixed)");
    assert_eq!(r["transaction_hash"], TX);
    assert_eq!(r["explorer_link"], format!("https://bscscan.com/tx/{TX}"));
    assert_eq!(r["printer"], false);
    let print = app
        .post_empty(&format!("/api/v1/payments/{id}/receipt/print"))
        .await;
    assert_error(print, 409, "printer_not_configured").await;
}

#[tokio::test]
async fn a_receipt_prints_as_esc_pos_to_a_network_printer_in_the_cashier_s_language() {
    let printer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = printer.local_addr().unwrap();
    let app = spawn_app_with(&format!("{SHOP}printer = \"{address}\"\n")).await;
    let id = paid_sale(&app).await;
    let received = tokio::spawn(async move {
        let (mut s, _) = printer.accept().await.unwrap();
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).await.unwrap();
        bytes
    });
    let r = app
        .client
        .post(app.url(&format!("/api/v1/payments/{id}/receipt/print")))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["printer"],
        address.to_string()
    );

    let (lines, qrs) = escpos::decode(&received.await.unwrap());
    assert!(lines.iter().any(|l| l == "1 Harbour Road"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Flat white") && l.ends_with("35.50 CNY")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("合计") && l.ends_with("35.50 CNY")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("实付") && l.ends_with("5.00 USDT")),
        "{lines:?}"
    );
    assert!(lines.contains(&TX.to_string()));
    assert_eq!(qrs, vec![format!("https://bscscan.com/tx/{TX}")]);
}

#[tokio::test]
async fn a_printer_that_does_not_answer_is_named_and_the_sale_stays_paid() {
    let app = spawn_app_with(&format!("{SHOP}printer = \"127.0.0.1:1\"\n")).await;
    let id = paid_sale(&app).await;
    let e = assert_error(
        app.post_empty(&format!("/api/v1/payments/{id}/receipt/print"))
            .await,
        409,
        "printer_unreachable",
    )
    .await;
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:1"),
        "{e}"
    );
    let p: Value = app.get_json(&format!("/api/v1/payments/{id}")).await;
    assert_eq!(p["status"], "paid");
}
