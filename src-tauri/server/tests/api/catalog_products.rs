use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn tokens_list_the_four_bsc_stablecoins_with_busd_marked_legacy() {
    let app = spawn_app().await;

    let tokens: Value = app.get_json("/api/v1/tokens").await;

    let symbols: Vec<_> = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["USDT", "USDC", "FDUSD", "BUSD"]);
    assert_eq!(tokens[3]["legacy"], true);
    assert_eq!(
        tokens[0]["contract_address"],
        "0x55d398326f99059fF775485246999027B3197955"
    );
    assert_eq!(tokens[0]["decimals"], 18);
}

#[tokio::test]
async fn networks_list_bsc_without_endpoint_urls() {
    let app = spawn_app().await;

    let networks: Value = app.get_json("/api/v1/networks").await;

    assert_eq!(networks[0]["id"], "bsc");
    assert_eq!(networks[0]["chain_id"], 56);
    assert!(
        networks[0].get("rpc_urls").is_none(),
        "endpoint URLs may hold provider keys"
    );
}

#[tokio::test]
async fn products_can_be_created_listed_changed_and_deleted() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/products");

    let created = app
        .client
        .post(&url)
        .json(&json!({"name": "Espresso", "price": "2.50"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let item = format!("{url}/{}", created["id"].as_str().unwrap());

    let changed: Value = app
        .client
        .patch(&item)
        .json(&json!({"price": "2.70", "active": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(changed["price"], "2.7");
    assert_eq!(changed["active"], false);
    let active: Value = app.get_json("/api/v1/products").await;
    assert_eq!(active.as_array().unwrap().len(), 0);
    let all: Value = app.get_json("/api/v1/products?include_inactive=true").await;
    assert_eq!(all[0]["name"], "Espresso");
    assert_error(
        app.create(json!({"product_id": created["id"], "token": "USDT"}))
            .await,
        409,
        "product_inactive",
    )
    .await;

    assert_eq!(app.client.delete(&item).send().await.unwrap().status(), 204);
    assert_error(
        app.client.get(&item).send().await.unwrap(),
        404,
        "product_not_found",
    )
    .await;
}

#[tokio::test]
async fn bad_products_are_refused() {
    let app = spawn_app().await;
    let url = app.url("/api/v1/products");
    for body in [
        json!({"name": "", "price": "1"}),
        json!({"name": "X"}),
        json!({"price": "1"}),
    ] {
        assert_error(
            app.client.post(&url).json(&body).send().await.unwrap(),
            422,
            "invalid_field",
        )
        .await;
    }
    assert_error(
        app.client
            .post(&url)
            .json(&json!({"name": "X", "price": "-3"}))
            .send()
            .await
            .unwrap(),
        422,
        "invalid_amount",
    )
    .await;
    assert_error(
        app.get("/api/v1/products/prod_nope").await,
        404,
        "product_not_found",
    )
    .await;
}
