//! The manual check (`/process`) and staff attach of unmatched transfers.

use serde_json::{json, Value};

use super::{exact, shop};
use crate::{
    anvil::{units, STRANGER},
    helpers::{assert_error, MERCHANT},
};

#[tokio::test]
async fn process_credits_a_valid_transaction_the_watcher_has_not_seen_yet() {
    let shop = shop("confirmations = 50").await;
    let p = shop.payment("5").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;

    let r = shop
        .process(&p["id"], receipt["transactionHash"].as_str().unwrap())
        .await;

    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "confirming");
    assert_eq!(body["transaction_hash"], receipt["transactionHash"]);
}

#[tokio::test]
async fn process_refuses_bad_transactions_with_the_reason_and_leaves_the_payment_unchanged() {
    let shop = shop("confirmations = 1\nrequire_finalized = false\npaid_hold_seconds = 0").await;
    let p = shop.payment("10").await;
    let id = &p["id"];

    let wrong_amount = shop.chain.pay(shop.usdt, MERCHANT, units("10.5", 18)).await;
    let elsewhere = shop.chain.pay(shop.usdt, STRANGER, exact(&p)).await;
    let other_token = shop.chain.pay(shop.usdc, MERCHANT, exact(&p)).await;
    shop.chain
        .call_token(
            crate::anvil::DEPLOYER,
            shop.usdt,
            "setFrozen(bool)",
            alloy::sol_types::SolValue::abi_encode(&true),
        )
        .await;
    let reverted = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    assert_eq!(reverted["status"], "0x0", "the frozen token reverts");
    shop.chain
        .call_token(
            crate::anvil::DEPLOYER,
            shop.usdt,
            "setFrozen(bool)",
            alloy::sol_types::SolValue::abi_encode(&false),
        )
        .await;

    for (tx, reason) in [
        (
            wrong_amount["transactionHash"].as_str().unwrap(),
            "amount_mismatch",
        ),
        (
            elsewhere["transactionHash"].as_str().unwrap(),
            "address_mismatch",
        ),
        (
            other_token["transactionHash"].as_str().unwrap(),
            "token_mismatch",
        ),
        (
            reverted["transactionHash"].as_str().unwrap(),
            "transaction_failed",
        ),
        (
            "0x1111111111111111111111111111111111111111111111111111111111111111",
            "not_found",
        ),
    ] {
        assert_error(shop.process(id, tx).await, 422, reason).await;
    }
    assert_error(shop.process(id, "0x1234").await, 422, "invalid_field").await;
    assert_eq!(
        shop.get(id).await["status"],
        "pending",
        "failed checks change nothing"
    );

    // A transfer already used by one payment cannot pay another.
    let used = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(id, "paid").await;
    let second = shop.payment("10").await;
    assert_eq!(
        second["amount_base_units"], p["amount_base_units"],
        "no hold after paid here: the second payment asks the same amount"
    );
    assert_error(
        shop.process(&second["id"], used["transactionHash"].as_str().unwrap())
            .await,
        422,
        "already_used",
    )
    .await;
    assert_eq!(shop.get(&second["id"]).await["status"], "pending");

    // Each refusal once per payment and reason, real checks against a real chain; none of them is
    // a failed payment (the first was paid, the second is open).
    for _ in 0..3 {
        assert_error(
            shop.process(
                id,
                "0x1111111111111111111111111111111111111111111111111111111111111111",
            )
            .await,
            422,
            "not_found",
        )
        .await;
    }
    let stats: Value = shop.app.get_json("/api/v1/stats/payments").await;
    assert_eq!(stats["check_failures"]["not_found"], 1, "{stats}");
    assert_eq!(stats["check_failures"]["already_used"], 1, "{stats}");
    assert_eq!(stats["failed_payments"], 0);
    assert_eq!(stats["open_payments"], 1);
    assert_eq!(stats["success_rate"], 100.0, "one ended, paid");
}

#[tokio::test]
async fn staff_can_attach_an_unmatched_transfer_to_a_payment() {
    let shop = shop("confirmations = 1\nrequire_finalized = false").await;
    let p = shop.payment("20").await;
    shop.chain.pay(shop.usdt, MERCHANT, units("19.7", 18)).await; // an exchange withdrawal minus fees
    shop.settle_a_while().await;
    let inbox = shop.transfers("false").await;
    assert_eq!(inbox.len(), 1);
    // The sale knows what arrived for it, for both screens and a one-click attach.
    assert_eq!(inbox[0]["related_payment_id"], p["id"]);
    let open = shop.get(&p["id"]).await;
    assert_eq!(open["status"], "pending");
    assert_eq!(open["wrong_amount"]["amount"], "19.70", "{open}");
    assert_eq!(open["wrong_amount"]["transfer_id"], inbox[0]["id"]);

    let url = shop.app.url(&format!(
        "/api/v1/payments/{}/attach",
        p["id"].as_str().unwrap()
    ));
    let no_reason = shop
        .app
        .client
        .post(&url)
        .json(&json!({"transfer_id": inbox[0]["id"], "reason": " "}))
        .send()
        .await
        .unwrap();
    assert_error(no_reason, 422, "invalid_field").await;
    let attached = shop
        .app
        .client
        .post(&url)
        .json(
            &json!({"transfer_id": inbox[0]["id"], "reason": "exchange withdrawal, fee deducted"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(attached.status(), 200);
    let attached: Value = attached.json().await.unwrap();
    assert_eq!(attached["amount_received"], "19.70");
    assert_eq!(attached["amount_match"], "underpaid");

    let paid = shop.wait_status(&p["id"], "paid").await;
    assert_eq!(paid["amount_received"], "19.70", "received, not asked");
    assert_eq!(paid["amount_match"], "underpaid");
    let audit = shop
        .app
        .sql_count(
            "SELECT COUNT(*) FROM events WHERE detail LIKE '%exchange withdrawal, fee deducted%'",
        )
        .await;
    assert_eq!(audit, 1, "the reason is in the audit trail");
    assert!(shop.transfers("false").await.is_empty());
    let again = shop
        .app
        .client
        .post(&url)
        .json(&json!({"transfer_id": inbox[0]["id"], "reason": "again"}))
        .send()
        .await
        .unwrap();
    assert_error(again, 409, "invalid_state").await;
}

#[tokio::test]
async fn a_short_sale_asks_for_the_rest_and_is_paid_in_full_by_a_second_transfer() {
    let shop = shop("confirmations = 1\nrequire_finalized = false").await;
    let p = shop.payment("20").await;
    let first = shop.chain.pay(shop.usdt, MERCHANT, units("19.7", 18)).await;
    shop.settle_a_while().await;
    let inbox = shop.transfers("false").await;
    let id = p["id"].as_str().unwrap();
    let attached = shop
        .app
        .client
        .post(shop.app.url(&format!("/api/v1/payments/{id}/attach")))
        .json(
            &json!({"transfer_id": inbox[0]["id"], "reason": "exchange withdrawal, fee deducted"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(attached.status(), 200);
    let short = shop.wait_status(&p["id"], "paid").await;
    assert_eq!(short["shortfall"]["missing"], "0.30", "{short}");
    assert!(short["shortfall"]["remainder_id"].is_null());

    // Staff ask for the rest: a payment of its own for what is missing, linked to the sale.
    let ask = || async {
        shop.app
            .post_empty(&format!("/api/v1/payments/{id}/remainder"))
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    let rest = ask().await;
    assert_eq!(rest["remainder_of"], id);
    assert_eq!(rest["requested_amount"], "0.30");
    assert_eq!(rest["status"], "pending");
    assert_eq!(
        ask().await["id"],
        rest["id"],
        "asking again answers the same remainder"
    );
    let display: Value = shop.app.get_json("/api/v1/display").await;
    assert_eq!(
        display["payment"]["id"], rest["id"],
        "the customer display shows the rest"
    );

    let second = shop.chain.pay(shop.usdt, MERCHANT, exact(&rest)).await;
    let rest_paid = shop.wait_status(&rest["id"], "paid").await;
    assert_eq!(rest_paid["transaction_hash"], second["transactionHash"]);
    let whole = shop.get(&p["id"]).await;
    assert_eq!(whole["shortfall"]["paid_in_full"], true, "{whole}");
    assert_eq!(whole["shortfall"]["remainder_status"], "paid");
    assert_eq!(
        whole["transaction_hash"], first["transactionHash"],
        "both transfers recorded, one on each"
    );

    // A sale paid exactly has no rest to ask.
    let exact_sale = shop.payment("21").await;
    shop.chain
        .pay(shop.usdt, MERCHANT, exact(&exact_sale))
        .await;
    shop.wait_status(&exact_sale["id"], "paid").await;
    let refused = shop
        .app
        .post_empty(&format!(
            "/api/v1/payments/{}/remainder",
            exact_sale["id"].as_str().unwrap()
        ))
        .await;
    assert_error(refused, 409, "invalid_state").await;
}
