use chrono::Duration;
use serde_json::{json, Value};
use stablepay_core::{clock::Clock, eip681::TransferRequest};

use crate::helpers::{assert_error, spawn_app, spawn_app_with, usdt, MERCHANT};

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
    let expired: Value = app
        .get(&format!("/api/v1/payments/{id}"))
        .await
        .json()
        .await
        .unwrap();
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
        let page: Value = app
            .get("/api/v1/payments?status=expired")
            .await
            .json()
            .await
            .unwrap();
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
    let page: Value = app.get("/api/v1/payments").await.json().await.unwrap();
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

#[tokio::test]
async fn the_list_filters_and_pages_newest_first() {
    let app = spawn_app().await;
    let mut ids = vec![];
    for i in 1..=5 {
        ids.push(app.create_ok(usdt(&format!("{i}"))).await["id"].clone());
    }
    app.create_ok(json!({"amount": "9", "token": "USDC"})).await;

    let page1: Value = app
        .get("/api/v1/payments?token=USDT&limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page1["payments"][0]["id"], ids[4]);
    assert_eq!(page1["payments"][1]["id"], ids[3]);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = app
        .get(&format!(
            "/api/v1/payments?token=USDT&limit=2&cursor={cursor}"
        ))
        .await
        .json()
        .await
        .unwrap();
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
        .get("/api/v1/payments?token=usdc&status=pending,confirming")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usdc["payments"].as_array().unwrap().len(), 1);
    let none: Value = app
        .get("/api/v1/payments?from=2026-01-16T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["payments"].as_array().unwrap().len(), 0);
    let all: Value = app
        .get("/api/v1/payments?from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z&network=bsc")
        .await
        .json()
        .await
        .unwrap();
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

#[tokio::test]
async fn transfers_stored_while_sales_are_made_never_meet_a_locked_database() {
    use stablepay_core::{
        address::Address,
        catalog::NetworkId,
        payments::{Ingested, ObservedTransfer},
    };
    let app = spawn_app().await;
    let core = &app.server.as_ref().unwrap().core;
    let bsc = NetworkId::parse("bsc").unwrap();
    let usdt_symbol = stablepay_core::catalog::TokenSymbol::parse("USDT").unwrap();
    let contract = core
        .catalog
        .token(&bsc, &usdt_symbol)
        .await
        .unwrap()
        .1
        .contract_address;
    let observed = |n: u8| ObservedTransfer {
        network: NetworkId::parse("bsc").unwrap(),
        chain_id: 56,
        token_contract: contract,
        tx_hash: [n; 32].into(),
        log_index: 0,
        block_number: 100 + n as u64,
        block_hash: [n; 32].into(),
        block_time: None,
        from: Address::parse("0x000000000000000000000000000000000000dEaD").unwrap(),
        to: Address::parse(MERCHANT).unwrap(),
        value: alloy::primitives::U256::from(7u64 + n as u64),
        source: None,
    };

    // Each ingest reads before it writes; sales commit in between.
    let transfers: Vec<ObservedTransfer> = (1..=40).map(observed).collect();
    let ingests = transfers.iter().map(|t| core.payments.ingest(t, None));
    let sales = (0..40).map(|i| app.create(usdt(&format!("{}.75", i + 1))));
    let (ingested, sold) = tokio::join!(
        futures_util::future::join_all(ingests),
        futures_util::future::join_all(sales)
    );

    for result in ingested {
        assert_eq!(result.expect("stored"), Ingested::Unmatched(None));
    }
    let sale_statuses: Vec<u16> = sold.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(sale_statuses, vec![201; 40]);
}

#[tokio::test]
async fn a_sale_and_its_cancel_leave_their_audit_rows_in_order() {
    let app = spawn_app().await;
    let p = app.create_ok(usdt("8")).await;
    let id = p["id"].as_str().unwrap();
    let cancelled = app
        .post_empty(&format!("/api/v1/payments/{id}/cancel"))
        .await;
    assert_eq!(cancelled.status(), 200);

    let in_order = app
        .sql_count(&format!(
            "SELECT COUNT(*) FROM events c JOIN events x ON x.payment_id = c.payment_id AND x.seq > c.seq
             WHERE c.payment_id = '{id}' AND c.kind = 'payment.created' AND c.to_status = 'pending'
               AND x.kind = 'payment.cancelled' AND x.from_status = 'pending'"
        ))
        .await;
    assert_eq!(in_order, 1);
}

#[tokio::test]
async fn a_corrupt_amount_in_the_database_is_an_error_never_a_zero() {
    let app = spawn_app().await;
    let p = app.create_ok(usdt("5")).await;
    let id = p["id"].as_str().unwrap();
    app.sql(&format!(
        "UPDATE payment_sessions SET amount_base_units = 'five' WHERE id = '{id}'"
    ))
    .await;
    let r = app.get(&format!("/api/v1/payments/{id}")).await;
    assert_eq!(r.status(), 500);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal_error");
    assert!(
        !body.to_string().contains("five"),
        "a 5xx says nothing about the inside: {body}"
    );
}
