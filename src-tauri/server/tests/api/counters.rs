//! Counters attached to a hub against the real server (issue 21, part 3): a till pairs with the
//! display pairing code and gets a cashier-role key; its sales carry its name; history and
//! statistics narrow to one counter; each counter's customer display follows its own sales only;
//! revoking a counter stops its key.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use stablepay_core::access::Role;

use crate::helpers::{assert_error, key, spawn_app_tweaked, usdt, TestApp};

const ADMIN: &str = "admin-key-0123456789abcdef0123456789";

async fn hub() -> TestApp {
    spawn_app_tweaked("", |c| c.server.keys = vec![key(ADMIN, Role::Admin)]).await
}

async fn code(app: &TestApp) -> String {
    let code = app
        .json_as(Method::POST, "/api/v1/displays/pairing", ADMIN)
        .await;
    code["code"].as_str().expect("a code").to_string()
}

/// Pairs a counter called `name`: its id and its key.
async fn counter(app: &TestApp, name: &str) -> (String, String) {
    let code = code(app).await;
    let r = app
        .client
        .post(app.url("/api/v1/counters/pair"))
        .json(&json!({ "code": code, "name": name }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["name"], name);
    assert!(body["push_key"].as_str().is_some_and(|k| k.len() == 64));
    (
        body["id"].as_str().unwrap().to_string(),
        body["token"].as_str().unwrap().to_string(),
    )
}

/// A sale made with `token`, put on its display.
async fn sell(app: &TestApp, token: &str, amount: &str) -> Value {
    let r = app
        .client
        .post(app.url("/api/v1/payments"))
        .bearer_auth(token)
        .json(&json!({ "amount": amount, "token": "USDT", "show_on_display": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn display_socket(app: &TestApp, token: &str, query: &str) -> crate::ws::Socket {
    let ticket: Value = app
        .json_as(Method::POST, "/api/v1/socket-tickets", token)
        .await;
    let url = format!(
        "{}/ws/display?ticket={}{query}",
        app.base.replace("http://", "ws://"),
        ticket["ticket"].as_str().expect("a ticket")
    );
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

#[tokio::test]
async fn a_counter_pairs_with_the_display_code_and_sells_with_a_cashier_key_that_cannot_manage() {
    let app = hub().await;
    let (id, token) = counter(&app, "Counter 1").await;
    assert!(id.starts_with("ctr_") && id.len() == 28, "{id}");

    let sale = sell(&app, &token, "12.5").await;
    assert_eq!(sale["counter"], json!({ "id": id, "name": "Counter 1" }));
    let read = app
        .json_as(
            Method::GET,
            &format!("/api/v1/payments/{}", sale["id"].as_str().unwrap()),
            &token,
        )
        .await;
    assert_eq!(read["counter"]["name"], "Counter 1");

    for (method, path) in [
        (Method::GET, "/api/v1/settings"),
        (Method::GET, "/api/v1/stats/payments"),
        (Method::POST, "/api/v1/displays/pairing"),
        (Method::GET, "/api/v1/webhooks"),
    ] {
        let r = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }

    let listed = app.json_as(Method::GET, "/api/v1/counters", &token).await;
    assert_eq!(listed["data"][0]["id"], id.as_str());
    assert_eq!(listed["data"][0]["revoked_at"], Value::Null);
    // A counter is not a display: the displays' list does not hold it.
    let displays = app.json_as(Method::GET, "/api/v1/displays", ADMIN).await;
    assert_eq!(displays["data"], json!([]));
}

#[tokio::test]
async fn a_customer_sees_no_counter_and_a_sale_made_otherwise_has_none() {
    let app = hub().await;
    let (_, token) = counter(&app, "Counter 1").await;
    let sale = sell(&app, &token, "3").await;
    let id = sale["id"].as_str().unwrap();
    let customer: Value = app.get_json(&format!("/api/v1/payments/{id}")).await;
    assert_eq!(customer["counter"], Value::Null);
    let own = sell(&app, ADMIN, "4").await;
    assert_eq!(own["counter"], Value::Null);
}

#[tokio::test]
async fn history_and_statistics_narrow_to_one_counter() {
    let app = hub().await;
    let (one, one_key) = counter(&app, "Counter 1").await;
    let (two, two_key) = counter(&app, "Counter 2").await;
    sell(&app, &one_key, "1").await;
    sell(&app, &one_key, "2").await;
    sell(&app, &two_key, "3").await;
    sell(&app, ADMIN, "4").await;

    let all = app.json_as(Method::GET, "/api/v1/payments", ADMIN).await;
    assert_eq!(all["payments"].as_array().unwrap().len(), 4);
    let only = |id: &str| format!("/api/v1/payments?counter={id}");
    let first = app.json_as(Method::GET, &only(&one), ADMIN).await;
    let names: Vec<&str> = first["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["counter"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Counter 1", "Counter 1"]);
    let second = app.json_as(Method::GET, &only(&two), &one_key).await;
    assert_eq!(second["payments"][0]["amount"], "3.00");
    assert_eq!(second["payments"].as_array().unwrap().len(), 1);

    let csv = app
        .client
        .get(app.url(&format!("/api/v1/payments/export.csv?counter={two}")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().ends_with(",Counter 2"), "{csv}");

    let stats = |q: String| {
        let app = &app;
        async move {
            app.json_as(Method::GET, &format!("/api/v1/stats/payments{q}"), ADMIN)
                .await
        }
    };
    assert_eq!(stats(String::new()).await["total_payments"], 4);
    let narrowed = stats(format!("?counter={one}")).await;
    assert_eq!(narrowed["total_payments"], 2);
    assert_eq!(narrowed["open_payments"], 2);
    assert_eq!(narrowed["payments_by_token"]["USDT"], 2);
    assert_eq!(
        narrowed["daily"].as_array().unwrap().last().unwrap()["created"],
        2
    );

    assert_error(
        app.client
            .get(app.url("/api/v1/payments?counter=ctr_nope'--"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap(),
        400,
        "invalid_query",
    )
    .await;
    assert_error(
        app.client
            .get(app.url("/api/v1/stats/payments?counter=1%20OR%201=1"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap(),
        400,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn each_counters_display_follows_its_own_sales_only() {
    let app = hub().await;
    let (one, one_key) = counter(&app, "Counter 1").await;
    let (_, two_key) = counter(&app, "Counter 2").await;

    let mut first = display_socket(&app, &one_key, "").await;
    let mut second = display_socket(&app, &two_key, "").await;
    // A tablet beside counter 1, with a display key of the shop's, names its channel.
    let tablet = app
        .json_as(Method::POST, "/api/v1/socket-tickets", ADMIN)
        .await;
    let mut beside = tokio_tungstenite::connect_async(format!(
        "{}/ws/display?ticket={}&counter={one}",
        app.base.replace("http://", "ws://"),
        tablet["ticket"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .0;
    let mut shop = display_socket(&app, ADMIN, "").await;
    for s in [&mut first, &mut second, &mut beside, &mut shop] {
        assert_eq!(crate::ws::next_json(s).await["data"]["mode"], "idle");
    }

    let sale = sell(&app, &one_key, "7").await;
    for s in [&mut first, &mut beside] {
        let update = crate::ws::next_json(s).await;
        assert_eq!(update["data"]["mode"], "payment");
        assert_eq!(update["data"]["payment"]["id"], sale["id"]);
    }
    let other = sell(&app, &two_key, "8").await;
    let update = crate::ws::next_json(&mut second).await;
    assert_eq!(update["data"]["payment"]["id"], other["id"]);

    // Nobody else's screen moved: the shop's is idle, counter 1's still shows its own sale.
    let shop_now = app.json_as(Method::GET, "/api/v1/display", ADMIN).await;
    assert_eq!(shop_now["mode"], "idle");
    let one_now = app.json_as(Method::GET, "/api/v1/display", &one_key).await;
    assert_eq!(one_now["payment"]["id"], sale["id"]);
    let named = app
        .json_as(
            Method::GET,
            &format!("/api/v1/display?counter={one}"),
            ADMIN,
        )
        .await;
    assert_eq!(named["payment"]["id"], sale["id"]);
    // A counter's key always shows on its own channel, whatever it names.
    let own = app
        .json_as(
            Method::GET,
            &format!("/api/v1/display?counter={one}"),
            &two_key,
        )
        .await;
    assert_eq!(own["payment"]["id"], other["id"]);
    assert!(
        tokio::time::timeout(
            std::time::Duration::from_millis(300),
            crate::ws::next_json(&mut shop)
        )
        .await
        .is_err(),
        "the shop's display moved"
    );

    // Paid (here: cancelled) sales move the screens showing them, each on its own channel.
    app.client
        .post(app.url(&format!(
            "/api/v1/payments/{}/cancel",
            sale["id"].as_str().unwrap()
        )))
        .bearer_auth(&one_key)
        .send()
        .await
        .unwrap();
    let update = crate::ws::next_json(&mut first).await;
    assert_eq!(update["data"]["payment"]["status"], "cancelled");

    assert_error(
        app.client
            .get(app.url("/api/v1/display?counter=ctr_0123456789abcdef01234567"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap(),
        404,
        "counter_not_found",
    )
    .await;
}

#[tokio::test]
async fn a_revoked_counter_key_stops_working_and_its_sales_keep_its_name() {
    let app = hub().await;
    let (id, token) = counter(&app, "Counter 1").await;
    let sale = sell(&app, &token, "5").await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/counters/{id}")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let refused = app
        .client
        .post(app.url("/api/v1/payments"))
        .bearer_auth(&token)
        .json(&usdt("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let read = app
        .json_as(
            Method::GET,
            &format!("/api/v1/payments/{}", sale["id"].as_str().unwrap()),
            ADMIN,
        )
        .await;
    assert_eq!(read["counter"]["name"], "Counter 1");
    let listed = app.json_as(Method::GET, "/api/v1/counters", ADMIN).await;
    assert!(listed["data"][0]["revoked_at"].is_string());
    assert_error(
        app.client
            .delete(app.url(&format!("/api/v1/counters/{id}")))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap(),
        404,
        "counter_not_found",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_code_pairs_no_counter() {
    let app = hub().await;
    let _ = code(&app).await;
    let r = app
        .client
        .post(app.url("/api/v1/counters/pair"))
        .json(&json!({ "code": "000000x", "name": "Counter 1" }))
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "pairing_refused").await;
    let r = app
        .client
        .post(app.url("/api/v1/counters/pair"))
        .json(&json!({ "code": code(&app).await, "name": "" }))
        .send()
        .await
        .unwrap();
    assert_error(r, 422, "invalid_field").await;
}
