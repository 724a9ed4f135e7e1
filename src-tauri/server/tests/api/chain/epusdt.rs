//! An epusdt order paid on a real chain calls back with status 2 and the transaction.

use serde_json::json;

use super::{exact, shop_with, Setup};
use crate::{
    anvil::Anvil,
    compat::{assert_signed, call, compat_toml, order, signed, Notified},
    helpers::MERCHANT,
};

#[tokio::test]
async fn an_epusdt_order_paid_on_chain_calls_back_once_with_status_2_and_the_transaction() {
    let (receiver, url) = Notified::start(&[]).await;
    let extra = compat_toml("");
    let shop = shop_with(
        Anvil::start().await,
        Setup {
            payments: "confirmations = 1\nrequire_finalized = false",
            extra: &extra,
            ..Setup::default()
        },
    )
    .await;
    let mut params = order("chain-1", json!(15));
    params["notify_url"] = json!(url);
    let created = call(
        &shop.app,
        "/api/v1/order/create-transaction",
        &signed(params),
    )
    .await;
    let trade_id = created["data"]["trade_id"].clone();
    let payment = shop.get(&trade_id).await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&payment)).await;
    shop.chain.mine(2).await;
    shop.wait_status(&trade_id, "paid").await;
    let seen = receiver.wait_for(1).await;
    assert_eq!(seen[0]["status"], json!(2));
    assert_eq!(seen[0]["trade_id"], trade_id);
    assert_eq!(seen[0]["block_transaction_id"], receipt["transactionHash"]);
    assert_eq!(seen[0]["actual_amount"], json!(15));
    assert_signed(&seen[0]);
    shop.settle_a_while().await;
    assert_eq!(
        receiver.wait_for(1).await.len(),
        1,
        "answered ok: sent once"
    );
}
