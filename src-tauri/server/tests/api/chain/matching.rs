//! Matching: exact amounts, the right contract and address, one credit per transfer.

use serde_json::Value;

use super::{block_of, exact, shop};
use crate::{
    anvil::{units, STRANGER},
    helpers::MERCHANT,
};

#[tokio::test]
async fn an_exact_payment_confirms_within_a_block_then_is_paid_after_the_confirmation_rule() {
    let shop = shop("confirmations = 3").await;
    let p = shop.payment("10").await;

    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    let confirming = shop.wait_status(&p["id"], "confirming").await;
    assert_eq!(confirming["transaction_hash"], receipt["transactionHash"]);
    let block = block_of(&receipt);
    assert_eq!(confirming["block_number"], block);

    shop.chain.mine(2).await;
    let paid = shop.wait_status(&p["id"], "paid").await;

    assert!(paid["confirmations"].as_u64().unwrap() >= 3);
    assert!(paid["paid_at"].is_string());
    assert_eq!(paid["late"], false);
}

#[tokio::test]
async fn a_socket_connected_before_the_transfer_sees_confirming_then_paid() {
    let shop = shop("confirmations = 3").await;
    let p = shop.payment("11").await;
    let mut socket = crate::ws::connect(&shop.app, p["id"].as_str().unwrap()).await;
    assert_eq!(
        crate::ws::next_json(&mut socket).await["type"],
        "connection_ack"
    );

    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    let mut seen = vec![];
    loop {
        let update = crate::ws::next_json(&mut socket).await;
        assert_eq!(update["type"], "payment_status_update");
        let status = update["data"]["status"].as_str().unwrap().to_string();
        if status == "confirming" && seen.is_empty() {
            shop.chain.mine(2).await;
        }
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "paid" {
            assert_eq!(
                update["data"]["transactionHash"],
                receipt["transactionHash"]
            );
            assert!(update["data"]["blockNumber"].as_u64().is_some());
            break;
        }
    }
    assert_eq!(seen, ["confirming", "paid"]);
}

#[tokio::test]
async fn a_cent_too_little_or_too_much_is_not_paid_and_kept_as_unmatched() {
    let shop = shop("").await;
    let p = shop.payment("10").await;

    shop.chain.pay(shop.usdt, MERCHANT, units("9.99", 18)).await;
    shop.chain
        .pay(shop.usdt, MERCHANT, units("10.01", 18))
        .await;
    shop.chain.mine(3).await;
    shop.settle_a_while().await;

    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
    let unmatched = shop.transfers("false").await;
    let values: Vec<_> = unmatched
        .iter()
        .map(|t| t["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["10.01", "9.99"]);
    let audit = shop
        .app
        .sql_count(
            "SELECT COUNT(*) FROM events WHERE kind = 'transfer.unmatched' AND payment_id IS NULL",
        )
        .await;
    assert_eq!(
        audit, 2,
        "each unmatched transfer is in the audit trail once"
    );
}

#[tokio::test]
async fn the_right_amount_from_another_contract_with_the_same_symbol_is_not_paid() {
    let shop = shop("").await;
    let fake = shop.chain.deploy_token("Tether USD", "USDT", 18).await;
    let p = shop.payment("10").await;

    shop.chain.pay(fake, MERCHANT, exact(&p)).await;
    shop.chain.mine(3).await;
    shop.settle_a_while().await;

    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
}

#[tokio::test]
async fn the_right_token_to_another_address_is_ignored() {
    let shop = shop("").await;
    let p = shop.payment("10").await;

    shop.chain.pay(shop.usdt, STRANGER, exact(&p)).await;
    shop.chain.mine(3).await;
    shop.settle_a_while().await;

    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
    assert!(shop.transfers("false").await.is_empty());
}

#[tokio::test]
async fn one_transfer_seen_by_subscription_backfill_and_process_is_credited_once() {
    let shop = shop("confirmations = 50").await;
    let p = shop.payment("25").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;

    // Rewind the cursor so the next pass backfills the same block again.
    shop.app
        .sql("UPDATE chain_cursors SET block_number = 1")
        .await;
    shop.chain.mine(1).await;
    shop.settle_a_while().await;
    let again = shop
        .process(&p["id"], receipt["transactionHash"].as_str().unwrap())
        .await;

    assert_eq!(again.status(), 200);
    assert_eq!(shop.transfers("true").await.len(), 1, "one stored transfer");
    let page: Value = shop.app.get_json("/api/v1/payments").await;
    assert_eq!(page["payments"].as_array().unwrap().len(), 1);
    assert_eq!(page["payments"][0]["status"], "confirming");
    assert_eq!(
        page["payments"][0]["transaction_hash"],
        receipt["transactionHash"]
    );
}

#[tokio::test]
async fn a_log_seen_again_after_its_payment_is_paid_never_credits_a_newer_payment() {
    let shop = shop("confirmations = 1\nrequire_finalized = false\npaid_hold_seconds = 0").await;
    let first = shop.payment("25").await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&first)).await;
    shop.wait_status(&first["id"], "paid").await;
    let second = shop.payment("25").await;
    assert_eq!(
        second["amount_base_units"], first["amount_base_units"],
        "no hold after paid here: the newer payment asks the very same amount"
    );

    shop.app
        .sql("UPDATE chain_cursors SET block_number = 1")
        .await; // backfill sees the old log again
    shop.chain.mine(1).await;
    shop.settle_a_while().await;

    assert_eq!(shop.get(&second["id"]).await["status"], "pending");
    assert_eq!(
        shop.app
            .sql_count("SELECT COUNT(*) FROM events WHERE to_status = 'confirming'")
            .await,
        1,
        "credited once, ever"
    );
}

#[tokio::test]
async fn a_wrong_amount_for_an_open_sale_reaches_its_socket_and_the_display_with_both_figures() {
    let shop = shop("").await;
    let far = shop.payment("50").await;
    let p = shop.payment("5").await;
    let id = p["id"].as_str().unwrap();
    shop.app
        .client
        .put(shop.app.url("/api/v1/display"))
        .json(&serde_json::json!({ "payment_id": id }))
        .send()
        .await
        .unwrap();
    let mut socket = crate::ws::connect(&shop.app, id).await;
    crate::ws::next_json(&mut socket).await;

    shop.chain.pay(shop.usdt, MERCHANT, units("4.99", 18)).await;
    shop.chain.mine(1).await;
    let update = loop {
        let m = crate::ws::next_json(&mut socket).await;
        if !m["payment"]["wrong_amount"].is_null() {
            break m;
        }
    };
    assert_eq!(update["payment"]["wrong_amount"]["amount"], "4.99");
    assert_eq!(update["payment"]["amount"], "5.00");
    assert_eq!(update["payment"]["status"], "pending", "it paid nothing");
    let display: Value = shop.app.get_json("/api/v1/display").await;
    assert_eq!(display["payment"]["wrong_amount"]["amount"], "4.99");
    assert!(
        shop.get(&far["id"]).await["wrong_amount"].is_null(),
        "the closest open sale, not every one"
    );
}
