//! Replays and staff attach: old transfers, cancelled sales, self-transfers and held amounts never pay a sale.

use alloy::sol_types::SolValue;
use serde_json::{json, Value};

use super::tx_of;
use crate::{
    anvil::{addr, units, Anvil, CUSTOMER, DEPLOYER},
    chain::{exact, shop, shop_with, Setup},
    helpers::{assert_error, MERCHANT},
};

#[tokio::test]
async fn an_old_transfer_an_inbox_transfer_and_a_double_payment_replayed_through_process_are_too_old(
) {
    let chain = Anvil::start().await;
    let shop = shop_with(
        chain,
        Setup {
            payments: "confirmations = 1\nrequire_finalized = false",
            chain: "initial_lookback_blocks = 10",
            paid_before_start: Some("7"),
            ..Setup::default()
        },
    )
    .await;
    // An old transfer, mined long before the watcher started (it never saw it).
    let old = shop.prepaid.clone().unwrap();
    // A transfer the watcher saw and kept in the inbox before the sale existed.
    let inbox = shop.chain.pay(shop.usdt, MERCHANT, units("9", 18)).await;
    shop.settle_a_while().await;
    assert_eq!(shop.transfers("false").await.len(), 1);
    // A double payment: the customer pays a sale, then sends the same amount again.
    let first = shop.payment("8").await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&first)).await;
    shop.wait_status(&first["id"], "paid").await;
    let again = shop.chain.pay(shop.usdt, MERCHANT, exact(&first)).await;
    shop.settle_a_while().await;
    let inboxed = shop.transfers("false").await;
    let double = inboxed
        .iter()
        .find(|t| t["transaction_hash"] == again["transactionHash"])
        .expect("the second send is in the inbox");
    assert_eq!(double["reason"], "second_payment");
    assert_eq!(double["related_payment_id"], first["id"]);
    // Past the paid sale's hold, a new sale may ask the very same amount again.
    shop.app.advance(chrono::Duration::seconds(901));

    for (amount, replayed) in [("7", &old), ("9", &inbox), ("8", &again)] {
        let sale = shop.payment(amount).await;
        assert_eq!(
            sale["amount"],
            format!("{amount}.00"),
            "the sale asks exactly the replayed amount"
        );
        let r = shop.process(&sale["id"], tx_of(replayed)).await;
        assert_error(r, 422, "transaction_too_old").await;
        shop.settle_a_while().await;
        assert_eq!(shop.get(&sale["id"]).await["status"], "pending");
    }
    let stats: Value = shop.app.get_json("/api/v1/stats/payments").await;
    assert_eq!(stats["check_failures"]["transaction_too_old"], 3);
    assert_eq!(
        stats["failure_reasons"]["transaction_too_old"], 0,
        "the three sales are still open: none has failed"
    );
}

#[tokio::test]
async fn a_transfer_sent_before_a_cancel_goes_to_the_inbox_linked_to_it_and_never_pays_the_next_sale(
) {
    let shop = shop("confirmations = 1\nrequire_finalized = false").await;
    let cancelled = shop.payment("10").await;
    shop.chain.set_automine(false).await;
    let in_flight = shop
        .chain
        .transfer_only(CUSTOMER, shop.usdt, MERCHANT, exact(&cancelled))
        .await;
    let r = shop
        .app
        .post_empty(&format!(
            "/api/v1/payments/{}/cancel",
            cancelled["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status(), 200);

    let next = shop.payment("10").await;
    assert_ne!(
        next["amount"], cancelled["amount"],
        "the cancelled sale still holds its amount"
    );
    shop.chain.mine(1).await;
    shop.chain.set_automine(true).await;
    assert!(!shop.chain.receipt(&in_flight).await.is_null(), "mined");
    shop.settle_a_while().await;

    assert_eq!(shop.get(&next["id"]).await["status"], "pending");
    assert_eq!(shop.get(&cancelled["id"]).await["status"], "cancelled");
    let inbox = shop.transfers("false").await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["transaction_hash"], in_flight);
    assert_eq!(inbox[0]["reason"], "paid_after_cancel");
    assert_eq!(inbox[0]["related_payment_id"], cancelled["id"]);
    assert!(shop
        .alert_kinds()
        .await
        .contains(&"inbox_linked_transfers".to_string()));
}

#[tokio::test]
async fn a_transfer_from_the_receive_address_to_itself_pays_nothing() {
    let shop = shop("confirmations = 1\nrequire_finalized = false").await;
    let p = shop.payment("11").await;
    shop.chain
        .call("anvil_impersonateAccount", json!([MERCHANT]))
        .await;
    shop.chain
        .call("anvil_setBalance", json!([MERCHANT, "0xde0b6b3a7640000"]))
        .await;
    shop.chain
        .call_token(
            DEPLOYER,
            shop.usdt,
            "mint(address,uint256)",
            (addr(MERCHANT), units("100", 18)).abi_encode_params(),
        )
        .await;

    let own = shop
        .chain
        .call_token(
            MERCHANT,
            shop.usdt,
            "transfer(address,uint256)",
            (addr(MERCHANT), exact(&p)).abi_encode_params(),
        )
        .await;
    shop.chain.mine(2).await;
    shop.settle_a_while().await;

    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
    assert_error(
        shop.process(&p["id"], tx_of(&own)).await,
        422,
        "self_transfer",
    )
    .await;
    assert_eq!(shop.get(&p["id"]).await["status"], "pending");
}

#[tokio::test]
async fn attaching_to_an_expired_payment_whose_amount_a_newer_sale_holds_is_a_conflict_not_an_error(
) {
    let shop = shop("late_grace_seconds = 0").await;
    let expired = shop
        .app
        .create_ok(json!({"amount": "5", "token": "USDT", "expires_in": 30}))
        .await;
    shop.app.advance(chrono::Duration::seconds(200));
    assert_eq!(shop.get(&expired["id"]).await["status"], "expired");
    let newer = shop.payment("5").await;
    assert_eq!(
        newer["amount"], expired["amount"],
        "no grace: the amount is free again"
    );
    shop.chain.pay(shop.usdt, MERCHANT, units("4.9", 18)).await;
    shop.settle_a_while().await;
    let inbox = shop.transfers("false").await;

    let r = shop
        .app
        .client
        .post(shop.app.url(&format!(
            "/api/v1/payments/{}/attach",
            expired["id"].as_str().unwrap()
        )))
        .json(&json!({"transfer_id": inbox[0]["id"], "reason": "paid late from an exchange"}))
        .send()
        .await
        .unwrap();

    let body = assert_error(r, 409, "amount_held").await;
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("5.00 USDT"));
    assert_eq!(shop.get(&expired["id"]).await["status"], "expired");
    assert_eq!(
        shop.transfers("false").await.len(),
        1,
        "the transfer stays in the inbox"
    );
}
