//! The store underneath: no locked database, audit rows in order, corrupt rows are errors.

use crate::helpers::{spawn_app, usdt, MERCHANT};

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
