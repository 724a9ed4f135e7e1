//! The shop's logo (issue 18): uploaded by the owner in Settings, kept in the database, served to
//! anyone for the customer display's idle screen, and announced to open displays by its version.

use reqwest::{header, Method, StatusCode};
use serde_json::Value;
use stablepay_core::access::Role;

use crate::{
    helpers::{assert_error, key, spawn_app_tweaked, TestApp},
    ws::next_json,
};

const ADMIN: &str = "admin-key-0123456789abcdef0123456789";
const CASHIER: &str = "cashier-key-0123456789abcdef012345678";
const VIEWER: &str = "viewer-key-0123456789abcdef0123456789";

/// The start of a real PNG file (signature and IHDR), padded to `size` bytes.
fn png(size: usize) -> Vec<u8> {
    let mut bytes = vec![
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
    ];
    bytes.resize(size.max(bytes.len()), 0);
    bytes
}

/// A shop whose keys name their roles, so that "no key" is a customer.
async fn shop() -> TestApp {
    spawn_app_tweaked("", |c| {
        c.server.keys = vec![
            key(ADMIN, Role::Admin),
            key(CASHIER, Role::Cashier),
            key(VIEWER, Role::Viewer),
        ];
    })
    .await
}

async fn upload(
    app: &TestApp,
    as_key: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .put(app.url("/api/v1/settings/logo"))
        .bearer_auth(as_key)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("request sent")
}

async fn remove(app: &TestApp, as_key: &str) -> reqwest::Response {
    app.client
        .delete(app.url("/api/v1/settings/logo"))
        .bearer_auth(as_key)
        .send()
        .await
        .expect("request sent")
}

#[tokio::test]
async fn a_png_uploaded_by_the_owner_is_served_to_anyone_as_it_was_sent() {
    let app = shop().await;
    // Larger than the API's usual 64 KiB body limit: a logo has its own.
    let image = png(300 * 1024);

    let r = upload(&app, ADMIN, "image/png", image.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["content_type"], "image/png");
    assert_eq!(saved["size"], image.len());
    let version = saved["version"].as_str().unwrap().to_string();

    let r = app.get("/api/v1/display/logo").await;
    assert_eq!(r.status(), StatusCode::OK, "no key needed");
    let h = r.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "image/png");
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::ETAG], format!("\"{version}\"").as_str());
    assert_eq!(r.bytes().await.unwrap().as_ref(), image.as_slice());

    let again = app
        .client
        .get(app.url("/api/v1/display/logo"))
        .header(header::IF_NONE_MATCH, format!("\"{version}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        StatusCode::NOT_MODIFIED,
        "a cached copy is kept"
    );
    assert_eq!(
        app.sql_count(
            "SELECT COUNT(*) FROM events WHERE kind = 'settings.changed' AND detail LIKE '%merchant.logo%'"
        )
        .await,
        1,
        "in the audit trail"
    );
}

#[tokio::test]
async fn the_type_is_read_from_the_bytes_not_from_what_the_upload_claims() {
    let app = shop().await;
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0];
    assert_eq!(
        upload(&app, ADMIN, "image/png", jpeg).await.status(),
        StatusCode::OK
    );
    let r = app.get("/api/v1/display/logo").await;
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/jpeg");

    let webp = b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0"
        .to_vec();
    assert_eq!(
        upload(&app, ADMIN, "application/octet-stream", webp)
            .await
            .status(),
        StatusCode::OK
    );
    let r = app.get("/api/v1/display/logo").await;
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/webp");
}

#[tokio::test]
async fn an_svg_is_refused_even_when_it_says_it_is_a_png_and_the_old_logo_stays() {
    let app = shop().await;
    assert_eq!(
        upload(&app, ADMIN, "image/png", png(100)).await.status(),
        StatusCode::OK
    );
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    for claimed in ["image/svg+xml", "image/png"] {
        assert_error(
            upload(&app, ADMIN, claimed, svg.to_vec()).await,
            415,
            "unsupported_image",
        )
        .await;
    }
    assert_error(
        upload(&app, ADMIN, "image/gif", b"GIF89a\x01\0\x01\0".to_vec()).await,
        415,
        "unsupported_image",
    )
    .await;
    let r = app.get("/api/v1/display/logo").await;
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(r.bytes().await.unwrap().len(), 100);
}

#[tokio::test]
async fn a_logo_over_512_kib_is_refused() {
    let app = shop().await;
    assert_error(
        upload(&app, ADMIN, "image/png", png(512 * 1024 + 1)).await,
        413,
        "image_too_large",
    )
    .await;
    assert_error(
        upload(&app, ADMIN, "image/png", png(2 * 1024 * 1024)).await,
        413,
        "image_too_large",
    )
    .await;
    assert_error(app.get("/api/v1/display/logo").await, 404, "logo_not_found").await;
    assert_eq!(
        upload(&app, ADMIN, "image/png", png(512 * 1024))
            .await
            .status(),
        StatusCode::OK,
        "512 KiB exactly is taken"
    );
}

#[tokio::test]
async fn a_cashier_or_viewer_key_cannot_change_the_logo() {
    let app = shop().await;
    for k in [CASHIER, VIEWER] {
        assert_error(
            upload(&app, k, "image/png", png(100)).await,
            403,
            "forbidden",
        )
        .await;
        assert_error(remove(&app, k).await, 403, "forbidden").await;
    }
    let nobody = app
        .client
        .put(app.url("/api/v1/settings/logo"))
        .body(png(100))
        .send()
        .await
        .unwrap();
    assert_error(nobody, 401, "unauthorized").await;
    assert_error(app.get("/api/v1/display/logo").await, 404, "logo_not_found").await;
}

#[tokio::test]
async fn a_removed_logo_is_gone() {
    let app = shop().await;
    assert_eq!(
        upload(&app, ADMIN, "image/png", png(100)).await.status(),
        StatusCode::OK
    );
    assert_eq!(remove(&app, ADMIN).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.get("/api/v1/display/logo").await, 404, "logo_not_found").await;
    assert_error(remove(&app, ADMIN).await, 404, "logo_not_found").await;
    assert_eq!(
        app.sql_count("SELECT COUNT(*) FROM events WHERE kind = 'settings.changed' AND detail LIKE '%merchant.logo%'")
            .await,
        2,
        "the upload and the removal"
    );
}

#[tokio::test]
async fn the_display_state_carries_the_logo_version_and_open_displays_follow_it() {
    let app = shop().await;
    let state: Value = app.json_as(Method::GET, "/api/v1/display", CASHIER).await;
    assert!(state["logo_version"].is_null(), "{state}");
    let ticket: Value = app
        .json_as(Method::POST, "/api/v1/socket-tickets", CASHIER)
        .await;
    let url = format!(
        "{}/ws/display?ticket={}",
        app.base.replace("http://", "ws://"),
        ticket["ticket"].as_str().unwrap()
    );
    let mut socket = tokio_tungstenite::connect_async(url).await.unwrap().0;
    let first = next_json(&mut socket).await;
    assert!(first["data"]["logo_version"].is_null(), "{first}");

    let saved: Value = upload(&app, ADMIN, "image/png", png(100))
        .await
        .json()
        .await
        .unwrap();
    let version = saved["version"].as_str().unwrap();
    let update = next_json(&mut socket).await;
    assert_eq!(update["type"], "display_update");
    assert_eq!(
        update["data"]["logo_version"], version,
        "at once, on the socket"
    );
    let state: Value = app.json_as(Method::GET, "/api/v1/display", CASHIER).await;
    assert_eq!(state["logo_version"], version);
    let settings: Value = app.json_as(Method::GET, "/api/v1/settings", VIEWER).await;
    assert_eq!(settings["merchant"]["logo_version"], version);

    let other: Value = upload(&app, ADMIN, "image/png", png(101))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(other["version"], version, "a new image, a new version");
    assert_eq!(
        next_json(&mut socket).await["data"]["logo_version"],
        other["version"]
    );

    assert_eq!(remove(&app, ADMIN).await.status(), StatusCode::NO_CONTENT);
    assert!(next_json(&mut socket).await["data"]["logo_version"].is_null());
}
