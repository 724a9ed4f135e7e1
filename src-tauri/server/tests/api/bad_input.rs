use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, spawn_app_tweaked, usdt};

#[tokio::test]
async fn bad_amounts_are_refused_with_invalid_amount() {
    let app = spawn_app().await;
    let nines = "9".repeat(80);
    let too_precise = format!("1.{}", "1".repeat(19));
    for amount in [
        "-1",
        "0",
        "abc",
        "1e999",
        nines.as_str(),
        too_precise.as_str(),
        "",
        " 1",
        "1.",
        "0x10",
        "NaN",
    ] {
        assert_error(app.create(usdt(amount)).await, 422, "invalid_amount").await;
    }
}

#[tokio::test]
async fn an_amount_as_a_json_number_is_refused() {
    let app = spawn_app().await;

    assert_error(
        app.create(json!({"amount": 10.5, "token": "USDT"})).await,
        422,
        "invalid_field",
    )
    .await;
}

#[tokio::test]
async fn unknown_tokens_and_networks_are_refused() {
    let app = spawn_app().await;
    assert_error(
        app.create(json!({"amount": "1", "token": "DOGE"})).await,
        422,
        "unknown_token",
    )
    .await;
    assert_error(
        app.create(json!({"amount": "1", "token": "USDT", "network": "eth"}))
            .await,
        422,
        "unknown_network",
    )
    .await;
    assert_error(
        app.create(json!({"amount": "1", "token": "US DT"})).await,
        422,
        "invalid_field",
    )
    .await;
}

#[tokio::test]
async fn invalid_json_is_a_400() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/api/v1/payments"))
        .header("content-type", "application/json")
        .body("{\"amount\": \"1\",")
        .send()
        .await
        .unwrap();

    assert_error(r, 400, "invalid_json").await;
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/api/v1/payments"))
        .header("content-type", "text/plain")
        .body(usdt("1").to_string())
        .send()
        .await
        .unwrap();

    assert_error(r, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn a_two_megabyte_body_is_a_413() {
    let app = spawn_app().await;
    let body = json!({"amount": "1", "token": "USDT", "description": "x".repeat(2 * 1024 * 1024)});
    let r = app.create(body).await;

    assert_error(r, 413, "payload_too_large").await;
}

#[tokio::test]
async fn missing_and_unknown_fields_are_refused() {
    let app = spawn_app().await;
    assert_error(
        app.create(json!({"amount": "1"})).await,
        422,
        "invalid_field",
    )
    .await;
    assert_error(
        app.create(json!({"token": "USDT"})).await,
        422,
        "invalid_field",
    )
    .await;
    assert_error(
        app.create(json!({"amount": "1", "token": "USDT", "colour": "red"}))
            .await,
        422,
        "invalid_field",
    )
    .await;
    assert_error(
        app.create(
            json!({"amount": "1", "product_id": "prod_000000000000000000000000", "token": "USDT"}),
        )
        .await,
        422,
        "invalid_field",
    )
    .await;
    assert_error(
        app.create(json!({"amount": "1", "token": "USDT", "expires_in": 5}))
            .await,
        422,
        "invalid_field",
    )
    .await;
    assert_error(
        app.create(json!({"amount": "1", "token": "USDT", "metadata": [1, 2]}))
            .await,
        422,
        "invalid_field",
    )
    .await;
    assert_error(
        app.create(json!({"amount": "1", "token": "USDT", "description": "d".repeat(501)}))
            .await,
        422,
        "invalid_field",
    )
    .await;
    assert_error(app.create(json!([1, 2, 3])).await, 422, "invalid_field").await;
}

#[tokio::test]
async fn unknown_payment_ids_are_404() {
    let app = spawn_app().await;
    for id in [
        "pay_00000000000000000000000000000000",
        "nope",
        "pay_%2e%2e",
        "pay_ZZ",
    ] {
        assert_error(
            app.get(&format!("/api/v1/payments/{id}")).await,
            404,
            "payment_not_found",
        )
        .await;
    }
    assert_error(
        app.post_empty("/api/v1/payments/pay_00000000000000000000000000000000/cancel")
            .await,
        404,
        "payment_not_found",
    )
    .await;
}

#[tokio::test]
async fn bad_list_queries_are_400_or_422() {
    let app = spawn_app().await;
    assert_error(
        app.get("/api/v1/payments?limit=0").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/payments?limit=abc").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/payments?from=yesterday").await,
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/payments?cursor=-5").await,
        422,
        "invalid_field",
    )
    .await;
    assert_error(
        app.get("/api/v1/payments?status=lost").await,
        422,
        "invalid_field",
    )
    .await;
    assert_error(
        app.get("/api/v1/payments?sort=asc").await,
        400,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn a_bad_idempotency_key_is_refused() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/api/v1/payments"))
        .header("Idempotency-Key", "x".repeat(300))
        .json(&usdt("1"))
        .send()
        .await
        .unwrap();

    assert_error(r, 422, "invalid_field").await;
}

#[tokio::test]
async fn without_a_receive_address_payments_are_refused_not_crashed() {
    let app = spawn_app_tweaked("", |c| c.merchant.receive_address = None).await;

    assert_error(app.create(usdt("1")).await, 409, "merchant_not_configured").await;
}

#[tokio::test]
async fn a_refused_request_writes_nothing() {
    let app = spawn_app().await;
    for body in [
        usdt("-1"),
        json!({"amount": "1", "token": "DOGE"}),
        json!({"amount": "1", "token": "USDT", "expires_in": 1}),
    ] {
        assert!(app.create(body).await.status().is_client_error());
    }

    let page: Value = app.get_json("/api/v1/payments").await;
    assert_eq!(page["payments"].as_array().unwrap().len(), 0);
    assert_eq!(
        app.create_ok(usdt("1")).await["amount"],
        "1.00",
        "no amount was held by a refused request"
    );
}

#[tokio::test]
async fn a_sale_over_the_shop_s_largest_amount_is_refused_with_its_own_code() {
    let app = crate::helpers::spawn_app_with("[payments]\nmax_amount = \"500\"\n").await;
    app.create_ok(usdt("500")).await;
    let r = app.create(usdt("500.01")).await;
    let body = assert_error(r, 422, "amount_too_large").await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("500"),
        "{body}"
    );
    let r = app.create(usdt("123456789012")).await;
    assert_error(r, 422, "amount_too_large").await;
}

#[tokio::test]
async fn errors_are_worded_in_the_language_the_request_asks_for_with_the_same_code() {
    let app = spawn_app().await;
    let ask = |language: Option<&'static str>, body: Value| {
        let mut r = app.client.post(app.url("/api/v1/payments")).json(&body);
        if let Some(l) = language {
            r = r.header("accept-language", l);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };

    let (status, english) = ask(None, usdt("1,5")).await;
    let (zh_status, chinese) = ask(Some("zh-CN,zh;q=0.9,en;q=0.8"), usdt("1,5")).await;
    assert_eq!((status, zh_status), (422, 422));
    assert_eq!(english["error"]["code"], chinese["error"]["code"]);
    let english = english["error"]["message"].as_str().unwrap();
    let chinese = chinese["error"]["message"].as_str().unwrap();
    assert!(english.is_ascii(), "{english}");
    assert!(
        chinese.starts_with("金额无效：") && chinese.ends_with(english),
        "the Chinese sentence, then the English specifics: {chinese}"
    );

    let (_, unknown) = ask(Some("zh"), json!({"amount": "1", "token": "DOGE"})).await;
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("不支持该币种"),
        "{unknown}"
    );
    let (_, preferred_english) = ask(Some("en-GB, zh-CN;q=0.5"), usdt("1,5")).await;
    assert_eq!(preferred_english["error"]["message"], english);

    let missing = app
        .client
        .get(app.url("/api/v1/payments/pay_00000000000000000000000000000000"))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payment_not_found");
    assert_eq!(body["error"]["message"], "找不到该付款");
}
