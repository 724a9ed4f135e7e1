//! Endpoints that restart, die or black-hole requests.

use super::{exact, shop, shop_on};
use crate::{anvil::Anvil, helpers::MERCHANT};

#[tokio::test]
async fn when_the_only_endpoint_restarts_transfers_made_meanwhile_are_found() {
    let mut shop = shop("").await;
    let p = shop.payment("30").await;

    shop.chain.stop().await;
    shop.until_link("saw the node go away", |l| !l.rpc_ok).await;
    shop.chain.restart().await;
    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(2).await;

    shop.wait_status(&p["id"], "paid").await;
}

#[tokio::test]
async fn with_two_endpoints_and_the_first_dead_the_second_serves() {
    let chain = Anvil::start().await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let urls = format!("\"http://127.0.0.1:{dead}\", \"{}\"", chain.http_url());
    let shop = shop_on(chain, "quorum_wait_seconds = 1", Some(urls)).await;
    let p = shop.payment("8").await;

    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(2).await;

    shop.wait_status(&p["id"], "paid").await;
    shop.assert_settled_on_one_source(&p["id"]).await;
}

#[tokio::test]
async fn with_the_first_of_two_endpoints_black_holed_the_second_serves() {
    let chain = Anvil::start().await;
    // Accepts connections and never answers: worse than refusing them.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = hole.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hole.accept().await {
            held.push(socket);
        }
    });
    let urls = format!("\"http://127.0.0.1:{port}\", \"{}\"", chain.http_url());
    let shop = shop_on(chain, "quorum_wait_seconds = 1", Some(urls)).await;
    let p = shop.payment("9").await;

    shop.chain.pay(shop.usdt, MERCHANT, exact(&p)).await;
    shop.chain.mine(2).await;

    shop.wait_status(&p["id"], "paid").await;
    shop.assert_settled_on_one_source(&p["id"]).await;
}
