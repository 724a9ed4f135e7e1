//! Pairing customer displays against the real server: a code from the owner buys a tablet a
//! display-role token, which shows the sale and nothing else; codes expire, work once and die after
//! ten wrong tries; revoking a display closes its socket (issue 16, item 5).

use chrono::Duration;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use stablepay_core::access::Role;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{assert_error, key, spawn_app_tweaked, usdt, TestApp};

const ADMIN: &str = "admin-key-0123456789abcdef0123456789";

async fn shop() -> TestApp {
    spawn_app_tweaked("", |c| c.server.keys = vec![key(ADMIN, Role::Admin)]).await
}

async fn pairing_code(app: &TestApp) -> Value {
    let r = app
        .client
        .post(app.url("/api/v1/displays/pairing"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

async fn pair(app: &TestApp, code: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/displays/pair"))
        .json(&json!({ "code": code, "name": "Counter tablet" }))
        .send()
        .await
        .unwrap()
}

async fn paired_token(app: &TestApp) -> (String, String) {
    let code = pairing_code(app).await;
    let r = pair(app, code["code"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    (
        body["id"].as_str().unwrap().to_string(),
        body["token"].as_str().unwrap().to_string(),
    )
}

async fn display_socket(app: &TestApp, token: &str) -> crate::ws::Socket {
    let ticket: Value = app
        .json_as(reqwest::Method::POST, "/api/v1/socket-tickets", token)
        .await;
    let url = format!(
        "{}/ws/display?ticket={}",
        app.base.replace("http://", "ws://"),
        ticket["ticket"].as_str().expect("a ticket")
    );
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

#[tokio::test]
async fn the_owner_gets_a_six_digit_code_with_a_pairing_url_and_its_qr() {
    let app = shop().await;
    let code = pairing_code(&app).await;
    let digits = code["code"].as_str().unwrap();
    assert!(digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()));
    let url = code["pair_url"].as_str().unwrap();
    assert!(
        url.starts_with(&app.base) && url.ends_with(&format!("/#/display?pair={digits}")),
        "{url}"
    );
    assert!(code["qr_svg"].as_str().unwrap().contains("<svg"));
    assert_eq!(code["expires_at"], "2026-01-15T12:02:00Z");
}

#[tokio::test]
async fn a_pairing_url_names_the_host_the_owner_used_or_the_public_url() {
    let app = shop().await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    let code: Value = app
        .client
        .post(app.url("/api/v1/displays/pairing"))
        .bearer_auth(ADMIN)
        .header("host", format!("127.0.0.1:{port}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(code["pair_url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("http://127.0.0.1:{port}/#/display")));

    let public = spawn_app_tweaked("", |c| {
        c.server.keys = vec![key(ADMIN, Role::Admin)];
        c.server.public_url = "https://pos.example.com".into();
    })
    .await;
    let code = pairing_code(&public).await;
    assert!(code["pair_url"]
        .as_str()
        .unwrap()
        .starts_with("https://pos.example.com/#/display?pair="));
}

#[tokio::test]
async fn a_paired_display_shows_the_sale_but_cannot_sell_or_read_history() {
    let app = shop().await;
    let (id, token) = paired_token(&app).await;
    assert!(id.starts_with("dsp_"));

    let sale: Value = app
        .client
        .post(app.url("/api/v1/payments"))
        .bearer_auth(ADMIN)
        .json(&usdt("12.5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.client
        .put(app.url("/api/v1/display"))
        .bearer_auth(ADMIN)
        .json(&json!({ "payment_id": sale["id"] }))
        .send()
        .await
        .unwrap();

    let mut socket = display_socket(&app, &token).await;
    let update = crate::ws::next_json(&mut socket).await;
    assert_eq!(update["data"]["mode"], "payment");
    assert_eq!(update["data"]["payment"]["id"], sale["id"]);

    let shown: Value = app
        .json_as(reqwest::Method::GET, "/api/v1/display", &token)
        .await;
    assert_eq!(shown["payment"]["id"], sale["id"]);

    for (method, path) in [
        (reqwest::Method::POST, "/api/v1/payments"),
        (reqwest::Method::GET, "/api/v1/payments"),
        (reqwest::Method::GET, "/api/v1/payments/export.csv"),
        (reqwest::Method::PUT, "/api/v1/display"),
        (reqwest::Method::GET, "/api/v1/displays"),
        (reqwest::Method::POST, "/api/v1/displays/pairing"),
    ] {
        let r = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&token)
            .json(&usdt("1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }

    let listed: Value = app
        .json_as(reqwest::Method::GET, "/api/v1/displays", ADMIN)
        .await;
    assert_eq!(listed["data"][0]["id"], id.as_str());
    assert_eq!(listed["data"][0]["name"], "Counter tablet");
    assert_eq!(listed["data"][0]["revoked_at"], Value::Null);
}

#[tokio::test]
async fn a_code_pairs_one_display_only_and_not_after_two_minutes() {
    let app = shop().await;
    let code = pairing_code(&app).await;
    let code = code["code"].as_str().unwrap();
    assert_eq!(pair(&app, code).await.status(), StatusCode::CREATED);
    assert_error(pair(&app, code).await, 403, "pairing_refused").await;

    let late = pairing_code(&app).await;
    app.advance(Duration::seconds(121));
    assert_error(
        pair(&app, late["code"].as_str().unwrap()).await,
        403,
        "pairing_refused",
    )
    .await;
}

#[tokio::test]
async fn ten_wrong_codes_void_the_current_one() {
    let app = shop().await;
    let code = pairing_code(&app).await;
    let code = code["code"].as_str().unwrap();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..10 {
        assert_error(pair(&app, wrong).await, 403, "pairing_refused").await;
    }
    assert_error(pair(&app, code).await, 403, "pairing_refused").await;
}

#[tokio::test]
async fn a_bad_display_name_is_refused_and_does_not_spend_the_code() {
    let app = shop().await;
    let code = pairing_code(&app).await;
    let r = app
        .client
        .post(app.url("/api/v1/displays/pair"))
        .json(&json!({ "code": code["code"], "name": "  " }))
        .send()
        .await
        .unwrap();
    assert_error(r, 422, "invalid_field").await;
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM display_devices").await,
        0
    );
    let r = pair(&app, code["code"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::CREATED, "the code still works");
}

#[tokio::test]
async fn revoking_a_display_closes_its_socket_and_its_token_stops_working() {
    let app = shop().await;
    let (id, token) = paired_token(&app).await;
    let mut socket = display_socket(&app, &token).await;
    assert_eq!(
        crate::ws::next_json(&mut socket).await["type"],
        "display_update"
    );

    let r = app
        .client
        .delete(app.url(&format!("/api/v1/displays/{id}")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let closed = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("closed within 5 s")
        {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let frame = closed.expect("a close frame with a reason");
    assert_eq!(u16::from(frame.code), 1008);
    assert_eq!(frame.reason.as_str(), "display revoked");

    let r = app
        .client
        .get(app.url("/api/v1/display"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "unauthorized").await;
    let again = app
        .client
        .delete(app.url(&format!("/api/v1/displays/{id}")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_error(again, 404, "display_not_found").await;
}

#[tokio::test]
async fn a_paired_display_survives_a_restart_and_the_database_holds_no_usable_token() {
    let app = shop().await;
    let (_, token) = paired_token(&app).await;
    let stored = app
        .sql_count(&format!(
            "SELECT COUNT(*) FROM display_devices WHERE token_hash = '{token}' OR token_hash LIKE '%{token}%'"
        ))
        .await;
    assert_eq!(stored, 0, "the token is stored hashed");

    let db = app.db_path();
    let mut app = app;
    app.server.take().unwrap().shutdown().await;
    let again = spawn_app_tweaked("", |c| {
        c.server.keys = vec![key(ADMIN, Role::Admin)];
        c.database.url = crate::helpers::database_url(&db);
        c.database.path = db;
    })
    .await;
    let r = again
        .client
        .get(again.url("/api/v1/display"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
