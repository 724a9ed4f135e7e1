//! Roles and credentials: what each key may do, what a customer sees, socket tickets, weak keys.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{
    fill, paired_display, send, shop_with_every_role, ADMIN, CASHIER, DESKTOP, DISPLAY, VIEWER,
};

#[tokio::test]
async fn every_route_answers_each_role_as_the_openapi_document_says() {
    let app = shop_with_every_role().await;
    let doc: Value = app.get_json("/api/openapi.json").await;
    let paired = paired_display(&app).await;
    let callers = [
        ("admin", Some(ADMIN)),
        ("cashier", Some(CASHIER)),
        ("viewer", Some(VIEWER)),
        ("display", Some(DISPLAY)),
        ("display", Some(paired.as_str())),
        ("desktop", Some(DESKTOP)),
        ("nobody", None),
    ];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method: Method = method.to_ascii_uppercase().parse().unwrap();
            let roles: Vec<&str> = op["security"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|req| req["api_key"].as_array())
                        .flatten()
                        .map(|r| r.as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            for (name, key) in callers {
                let r = send(&app, method.clone(), &fill(path), key).await;
                let status = r.status();
                let allowed = roles.is_empty() || roles.contains(&name) || name == "desktop";
                let expected = if allowed {
                    !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                } else if key.is_none() {
                    status == StatusCode::UNAUTHORIZED
                } else {
                    status == StatusCode::FORBIDDEN
                };
                assert!(
                    expected,
                    "{method} {path} as {name}: {status} (documented roles: {roles:?}) {}",
                    r.text().await.unwrap_or_default()
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 150,
        "only {checked} checks: is the document complete?"
    );
}

#[tokio::test]
async fn a_customer_sees_no_metadata_or_order_reference_and_staff_see_everything() {
    let app = shop_with_every_role().await;
    let created = app
        .client
        .post(app.url("/api/v1/payments"))
        .bearer_auth(CASHIER)
        .json(&json!({"amount": "4", "token": "USDT", "order_reference": "INV-7", "metadata": {"customer": "Ada"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let customer: Value = app.get_json(&format!("/api/v1/payments/{id}")).await;
    assert!(customer["metadata"].is_null() && customer["order_reference"].is_null());
    let mut socket = crate::ws::connect(&app, &id).await;
    let ack = crate::ws::next_json(&mut socket).await;
    assert!(ack["payment"]["metadata"].is_null() && ack["payment"]["order_reference"].is_null());
    let display = app
        .client
        .put(app.url("/api/v1/display"))
        .bearer_auth(CASHIER)
        .json(&json!({"payment_id": id}))
        .send()
        .await
        .unwrap();
    let display: Value = display.json().await.unwrap();
    assert!(display["payment"]["metadata"].is_null());

    let staff: Value = app
        .json_as(
            reqwest::Method::GET,
            &format!("/api/v1/payments/{id}"),
            VIEWER,
        )
        .await;
    assert_eq!(staff["metadata"]["customer"], "Ada");
    assert_eq!(staff["order_reference"], "INV-7");
}

#[tokio::test]
async fn a_merchant_socket_takes_a_single_use_ticket_never_the_key() {
    let app = shop_with_every_role().await;
    let url = format!("{}/ws/display", app.base.replace("http://", "ws://"));
    assert!(
        tokio_tungstenite::connect_async(url.clone()).await.is_err(),
        "no ticket, no socket"
    );
    let ticket: Value = app
        .json_as(reqwest::Method::POST, "/api/v1/socket-tickets", DISPLAY)
        .await;
    let with_ticket = format!("{url}?ticket={}", ticket["ticket"].as_str().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(with_ticket.clone())
        .await
        .expect("the ticket opens it");
    assert_eq!(
        crate::ws::next_json(&mut socket).await["type"],
        "display_update"
    );
    assert!(
        tokio_tungstenite::connect_async(with_ticket).await.is_err(),
        "a ticket opens one socket only"
    );
    let monitor = app
        .json_as(reqwest::Method::POST, "/api/v1/socket-tickets", DISPLAY)
        .await;
    let monitor_url = format!(
        "{}/ws/monitor?ticket={}",
        app.base.replace("http://", "ws://"),
        monitor["ticket"].as_str().unwrap()
    );
    assert!(
        tokio_tungstenite::connect_async(monitor_url).await.is_err(),
        "a display's ticket does not open the monitor"
    );
}

#[tokio::test]
async fn a_key_of_one_repeated_character_or_too_short_is_refused_at_start() {
    for bad in [
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "short-key-0123456789",
    ] {
        let err = stablepay_core::config::Config::from_toml_str(
            &format!("[server]\napi_keys = [\"{bad}\"]\n"),
            std::iter::empty(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("server.api_keys[0]"), "{err}");
    }
    let err = stablepay_core::config::Config::from_toml_str(
        "[[server.keys]]\nkey = \"0123456789abcdef0123456789abcdef\"\nrole = \"root\"\n",
        std::iter::empty(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("server.keys[0].role"), "{err}");
}
