//! Reorgs and rollbacks on a real anvil return a credited payment to pending.

use serde_json::json;

use super::{block_of, exact, shop};
use crate::helpers::MERCHANT;

#[tokio::test]
async fn a_reorg_that_removes_the_crediting_block_returns_the_payment_to_pending() {
    let shop = shop("confirmations = 20").await;
    let p = shop.payment("12").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;

    let block = block_of(&receipt);
    let depth = shop.chain.block_number().await - block + 1;
    shop.chain.call("anvil_reorg", json!([depth, []])).await;
    let back = shop.wait_status(&p["id"], "pending").await;
    assert!(back["transaction_hash"].is_null());

    shop.chain.mine(25).await;
    shop.settle_a_while().await;
    assert_eq!(
        shop.get(&p["id"]).await["status"],
        "pending",
        "never paid on an orphaned block"
    );
}

#[tokio::test]
async fn a_rollback_below_the_crediting_block_then_new_blocks_return_the_payment_to_pending() {
    let shop = shop("confirmations = 20").await;
    let p = shop.payment("13").await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;

    shop.chain.call("anvil_rollback", json!([1])).await;
    // A rollback alone looks like an endpoint that lags; the chain growing again past the credit's
    // height on another block is what shows the reorg.
    shop.chain.mine(2).await;

    shop.wait_status(&p["id"], "pending").await;
}
