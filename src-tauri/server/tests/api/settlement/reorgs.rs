//! Reorgs: re-inclusion at another log index, and deeper than the fixed rewind used to be.

use std::time::{Duration, Instant};

use alloy::{primitives::keccak256, sol_types::SolValue};
use serde_json::{json, Value};

use super::tx_of;
use crate::{
    anvil::{addr, units, Anvil, DEPLOYER},
    chain::{block_of, exact, shop, shop_with, Setup},
    helpers::MERCHANT,
};

/// The raw signed transaction, to include it again in a reorg.
async fn raw(chain: &Anvil, hash: &str) -> Value {
    chain
        .call("eth_getRawTransactionByHash", json!([hash]))
        .await
}

#[tokio::test]
async fn a_reorg_re_including_the_crediting_transaction_at_another_log_index_credits_it_once() {
    let shop = shop("confirmations = 20\nrequire_finalized = false").await;
    let p = shop.payment("21").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;
    let old_index = shop
        .count("SELECT log_index FROM transfers WHERE payment_id IS NOT NULL")
        .await;

    // The new chain: another transfer first in the block, then the same transaction.
    let mint = {
        let mut data = keccak256("mint(address,uint256)".as_bytes())[..4].to_vec();
        data.extend((addr(MERCHANT), units("1", 18)).abi_encode_params());
        json!({"from": DEPLOYER, "to": shop.usdt.to_checksum(None), "data": format!("0x{}", alloy::hex::encode(data)), "gas": "0x100000"})
    };
    let depth = shop.chain.block_number().await - block_of(&receipt) + 1;
    let same = raw(&shop.chain, tx_of(&receipt)).await;
    shop.chain
        .call("anvil_reorg", json!([depth, [[mint, 0], [same, 0]]]))
        .await;
    shop.chain.mine(1).await;

    let until = Instant::now() + Duration::from_secs(20);
    while shop
        .count(&format!(
            "SELECT COUNT(*) FROM transfers WHERE payment_id IS NOT NULL AND log_index != {old_index}"
        ))
        .await
        == 0
    {
        assert!(Instant::now() < until, "never credited at the new log index");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let credited = shop.get(&p["id"]).await;
    assert_eq!(credited["status"], "confirming");
    assert_eq!(credited["transaction_hash"], receipt["transactionHash"]);
    let rows = shop
        .count(&format!(
            "SELECT COUNT(*) FROM transfers WHERE tx_hash = '{}' AND payment_id IS NOT NULL",
            tx_of(&receipt)
        ))
        .await;
    assert_eq!(
        rows, 1,
        "one transaction credits once, whatever its log index"
    );
    let new_index = shop
        .count("SELECT log_index FROM transfers WHERE payment_id IS NOT NULL")
        .await;
    assert_ne!(
        new_index, old_index,
        "the reorg moved it to another log index"
    );
    assert_eq!(
        credited["block_number"].as_u64().unwrap(),
        block_of(&receipt)
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) FROM payment_sessions WHERE transaction_hash IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn a_reorg_deeper_than_64_blocks_re_credits_the_re_included_transfer_and_says_payment_reverted(
) {
    let (receiver, url) = crate::webhooks::Receiver::start(&[]).await;
    let hooks = format!(
        "[[webhooks]]\nurl = \"{url}\"\nsecret = \"whsec_test_0123456789\"\nevents = [\"payment.reverted\"]\n"
    );
    let chain = Anvil::start().await;
    let shop = shop_with(
        chain,
        Setup {
            payments: "confirmations = 500",
            extra: &hooks,
            ..Setup::default()
        },
    )
    .await;
    shop.chain.mine(10).await;
    shop.settle_a_while().await;
    let p = shop.payment("22").await;
    let receipt = shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.wait_status(&p["id"], "confirming").await;
    shop.chain.mine(70).await;
    shop.wait_for(&p["id"], "70 confirmations deep", |p| {
        p["confirmations"].as_u64().unwrap() >= 70
    })
    .await;

    // The new chain forks 2 blocks before the credit's and carries the transaction in its first
    // block: more than 64 blocks below the head.
    let depth = shop.chain.block_number().await - block_of(&receipt) + 3;
    let same = raw(&shop.chain, tx_of(&receipt)).await;
    shop.chain
        .call("anvil_reorg", json!([depth, [[same, 0]]]))
        .await;

    let seen = receiver.wait_for(1).await;
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["type"], "payment.reverted");
    assert_eq!(body["data"]["payment"]["status"], "pending");
    let again = shop
        .wait_for(&p["id"], "credited again in its new block", |p| {
            p["status"] == "confirming"
                && p["transaction_hash"] == receipt["transactionHash"]
                && p["block_number"].as_u64() != Some(block_of(&receipt))
        })
        .await;
    assert_eq!(
        again["block_number"].as_u64().unwrap(),
        block_of(&receipt) - 2
    );
}
