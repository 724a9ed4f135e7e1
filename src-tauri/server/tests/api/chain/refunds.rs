//! Refunds without holding keys, on a real anvil: staff ask, the shop's own wallet sends, the
//! watcher matches the outgoing transfer by token, recipient and exact amount.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{block_of, exact, shop, shop_with, Setup, Shop};
use crate::{
    anvil::{units, Anvil, CUSTOMER, STRANGER},
    helpers::{assert_error, MERCHANT},
};

impl Shop {
    /// A sale of `amount` USDT paid by the customer.
    async fn paid_sale(&self, amount: &str) -> Value {
        let p = self.payment(amount).await;
        self.chain.pay(self.usdt, MERCHANT, exact(&p)).await;
        self.chain.mine(6).await;
        self.wait_status(&p["id"], "paid").await
    }

    async fn ask_refund(&self, sale: &Value, body: Value) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url(&format!(
                "/api/v1/payments/{}/refunds",
                sale["id"].as_str().unwrap()
            )))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn refund(&self, refund: &Value) -> Value {
        self.app
            .get_json(&format!(
                "/api/v1/refunds/{}",
                refund["id"].as_str().unwrap()
            ))
            .await
    }

    /// Polls the refund until its status is `status` (20 s at most).
    async fn refund_becomes(&self, refund: &Value, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.refund(refund).await;
            if r["status"] == status {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "refund never became {status}: {} {} confirmations",
                r["status"],
                r["confirmations"]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The shop's wallet sends `amount` USDT to `to`.
    async fn send_back(&self, to: &str, amount: &str) -> Value {
        let receipt = self
            .chain
            .send_from_shop(MERCHANT, self.usdt, to, units(amount, 18))
            .await;
        assert_eq!(receipt["status"], "0x1", "the shop's transfer went through");
        receipt
    }
}

#[tokio::test]
async fn a_full_refund_sent_from_the_shops_wallet_is_matched_and_the_sale_becomes_refunded() {
    let shop = shop("confirmations = 2\nrequire_finalized = false").await;
    let sale = shop.paid_sale("10").await;
    let id = sale["id"].as_str().unwrap();

    let before: Value = shop
        .app
        .get_json(&format!("/api/v1/payments/{id}/refunds"))
        .await;
    assert_eq!(
        before["payer"], CUSTOMER,
        "the payer is the crediting transfer's sender"
    );
    assert_eq!(before["refundable"], sale["amount"]);

    let asked = shop
        .ask_refund(&sale, json!({"reason": "changed their mind"}))
        .await;
    assert_eq!(asked.status(), 201);
    let refund: Value = asked.json().await.unwrap();
    assert_eq!(refund["status"], "awaiting");
    assert_eq!(refund["to"], CUSTOMER);
    assert_eq!(refund["from"], MERCHANT);
    assert_eq!(refund["amount"], sale["amount"]);
    assert_eq!(
        refund["payment_uri"],
        format!(
            "ethereum:{}@56/transfer?address={CUSTOMER}&uint256={}",
            shop.usdt.to_checksum(None),
            sale["amount_base_units"].as_str().unwrap()
        ),
        "an EIP-681 request for the shop's wallet"
    );
    assert!(refund["qr_svg"].as_str().unwrap().contains("<svg"));

    // Another amount, or the right amount to someone else: not this refund. (The shop's wallet
    // holds more than this sale brought in.)
    shop.chain.pay(shop.usdt, MERCHANT, units("100", 18)).await;
    shop.send_back(CUSTOMER, "9.99").await;
    shop.send_back(STRANGER, sale["amount"].as_str().unwrap())
        .await;
    shop.chain.mine(3).await;
    shop.settle_a_while().await;
    assert_eq!(shop.refund(&refund).await["status"], "awaiting");
    assert_eq!(shop.get(&sale["id"]).await["status"], "paid");

    let sent = shop
        .send_back(CUSTOMER, sale["amount"].as_str().unwrap())
        .await;
    shop.refund_becomes(&refund, "confirming").await;
    shop.chain.mine(2).await;
    let done = shop.refund_becomes(&refund, "confirmed").await;
    assert_eq!(done["transaction_hash"], sent["transactionHash"]);
    assert_eq!(done["block_number"].as_u64().unwrap(), block_of(&sent));
    let refunded = shop.get(&sale["id"]).await;
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(refunded["refunded_amount"], sale["amount"]);
    assert_eq!(
        shop.app
            .sql_count(&format!(
                "SELECT COUNT(*) FROM events WHERE payment_id = '{id}' AND kind = 'payment.refunded' AND detail LIKE '%{}%'",
                refund["id"].as_str().unwrap()
            ))
            .await,
        1,
        "one payment.refunded event, carrying the refund"
    );

    let receipt: Value = shop
        .app
        .get_json(&format!("/api/v1/payments/{id}/receipt"))
        .await;
    assert_eq!(receipt["refunds"][0]["id"], refund["id"], "{receipt}");
    assert_eq!(
        receipt["refunds"][0]["transaction_hash"],
        sent["transactionHash"]
    );

    assert_error(
        shop.ask_refund(&sale, json!({})).await,
        409,
        "invalid_state",
    )
    .await;
}

#[tokio::test]
async fn a_partial_refund_leaves_the_sale_partially_refunded_and_caps_what_may_still_be_refunded() {
    let shop = shop("confirmations = 1\nrequire_finalized = false").await;
    let sale = shop.paid_sale("10").await;
    let id = sale["id"].as_str().unwrap();

    let partial: Value = shop
        .ask_refund(&sale, json!({"amount": "3"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(partial["amount"], "3.00");
    assert_error(
        shop.ask_refund(&sale, json!({"amount": "7.01"})).await,
        422,
        "refund_too_large",
    )
    .await;
    assert_error(
        shop.ask_refund(&sale, json!({"amount": "1", "to": MERCHANT}))
            .await,
        422,
        "invalid_field",
    )
    .await;
    assert_error(
        shop.ask_refund(&sale, json!({"amount": "1", "to": "0x123"}))
            .await,
        422,
        "invalid_address",
    )
    .await;

    // A second refund asked and called off gives its amount back to what may be refunded.
    let other: Value = shop
        .ask_refund(&sale, json!({"amount": "1", "to": STRANGER}))
        .await
        .json()
        .await
        .unwrap();
    let left: Value = shop
        .app
        .get_json(&format!("/api/v1/payments/{id}/refunds"))
        .await;
    assert_eq!(left["refundable"], "6.00");
    let cancelled: Value = shop
        .app
        .post_empty(&format!(
            "/api/v1/refunds/{}/cancel",
            other["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["status"], "cancelled");

    shop.send_back(CUSTOMER, "3").await;
    shop.chain.mine(1).await;
    shop.refund_becomes(&partial, "confirmed").await;
    let now = shop.get(&sale["id"]).await;
    assert_eq!(now["status"], "partially_refunded");
    assert_eq!(now["refunded_amount"], "3.00");
    let left: Value = shop
        .app
        .get_json(&format!("/api/v1/payments/{id}/refunds"))
        .await;
    assert_eq!(left["refundable"], "7.00");
    assert_eq!(left["refunded"], "3.00");
    assert_error(
        shop.app
            .post_empty(&format!(
                "/api/v1/refunds/{}/cancel",
                partial["id"].as_str().unwrap()
            ))
            .await,
        409,
        "invalid_state",
    )
    .await;

    // The close counts the sale in the takings and the refund beside it.
    let day = chrono::Utc::now().date_naive();
    let close: Value = shop
        .app
        .get_json(&format!(
            "/api/v1/reports/close?from={day}T00:00:00Z&to={}T00:00:00Z",
            day.succ_opt().unwrap()
        ))
        .await;
    assert_eq!(close["takings"][0]["received"], sale["amount"], "{close}");
    assert_eq!(close["refunds"][0]["amount"], "3.00", "{close}");
    assert_eq!(close["refunds"][0]["refunds"], 1);
    assert_eq!(close["sales"]["partially_refunded"], 1);
}

#[tokio::test]
async fn a_refund_whose_block_leaves_the_chain_is_awaited_again_and_matched_when_sent_again() {
    let (receiver, url) = crate::webhooks::Receiver::start(&[]).await;
    let hooks = format!(
        "[[webhooks]]\nurl = \"{url}\"\nsecret = \"whsec_test_0123456789\"\nevents = [\"payment.refunded\"]\n"
    );
    let shop = shop_with(
        Anvil::start().await,
        Setup {
            payments: "confirmations = 5\nrequire_finalized = false",
            extra: &hooks,
            ..Setup::default()
        },
    )
    .await;
    let sale = shop.paid_sale("12").await;
    let refund: Value = shop
        .ask_refund(&sale, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let amount = sale["amount"].as_str().unwrap();
    let first = shop.send_back(CUSTOMER, amount).await;
    shop.refund_becomes(&refund, "confirming").await;

    let depth = shop.chain.block_number().await - block_of(&first) + 1;
    shop.chain.call("anvil_reorg", json!([depth, []])).await;
    let back = shop.refund_becomes(&refund, "awaiting").await;
    assert!(back["transaction_hash"].is_null(), "{back}");
    assert_eq!(shop.get(&sale["id"]).await["status"], "paid");

    let again = shop.send_back(CUSTOMER, amount).await;
    shop.chain.mine(5).await;
    let done = shop.refund_becomes(&refund, "confirmed").await;
    assert_eq!(done["transaction_hash"], again["transactionHash"]);
    let seen = receiver.wait_for(1).await;
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["type"], "payment.refunded");
    assert_eq!(body["data"]["payment"]["status"], "refunded");
    assert_eq!(body["data"]["refund"]["id"], refund["id"]);
    assert_eq!(
        body["data"]["refund"]["transaction_hash"],
        again["transactionHash"]
    );
}

#[tokio::test]
async fn with_logs_refused_everywhere_a_refund_checked_by_its_transaction_hash_is_matched_and_confirmed(
) {
    let (shop, proxy) =
        crate::settlement::shop_behind_a_proxy("confirmations = 2\nrequire_finalized = false")
            .await;
    let p = shop.payment("9").await;
    let paid = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(3).await;
    let sale = shop.wait_status(&p["id"], "paid").await;
    proxy
        .set(json!({ "methods": { "eth_getLogs": { "error": { "code": -32005, "message": "limit exceeded" } } } }))
        .await;
    let refund: Value = shop
        .ask_refund(&sale, json!({"amount": "2"}))
        .await
        .json()
        .await
        .unwrap();
    let check = |tx: Value| {
        let url = shop.app.url(&format!(
            "/api/v1/refunds/{}/check",
            refund["id"].as_str().unwrap()
        ));
        let client = shop.app.client.clone();
        async move {
            client
                .post(url)
                .json(&json!({ "transaction_hash": tx }))
                .send()
                .await
                .unwrap()
        }
    };

    // The customer's own payment, an older transfer and one of another amount are not the refund.
    assert_error(
        check(paid["transactionHash"].clone()).await,
        422,
        "recipient_mismatch",
    )
    .await;
    let wrong = shop.send_back(CUSTOMER, "2.5").await;
    assert_error(
        check(wrong["transactionHash"].clone()).await,
        422,
        "amount_mismatch",
    )
    .await;

    let sent = shop.send_back(CUSTOMER, "2").await;
    shop.settle_a_while().await;
    assert_eq!(
        shop.refund(&refund).await["status"],
        "awaiting",
        "no endpoint serves logs"
    );
    let checked = check(sent["transactionHash"].clone()).await;
    assert_eq!(checked.status(), 200);
    shop.chain.mine(2).await;
    let done = shop.refund_becomes(&refund, "confirmed").await;
    assert_eq!(done["transaction_hash"], sent["transactionHash"]);
    assert_eq!(shop.get(&sale["id"]).await["status"], "partially_refunded");
}
