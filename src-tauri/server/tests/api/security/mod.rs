//! The security boundary against the real server: hosts and origins, keys and their roles on every
//! route of the OpenAPI document, the keyless mode behind a proxy, the customer view, rate limits
//! behind a trusted proxy, and the security headers (issue 16; SECURITY.md).

use reqwest::Method;
use serde_json::json;
use stablepay_core::access::{ApiKey, Role};

use crate::helpers::{key, spawn_app_tweaked, TestApp};

mod limits;
mod origins;
mod roles;
mod secrets;

const ADMIN: &str = "admin-key-0123456789abcdef0123456789";

const CASHIER: &str = "cashier-key-0123456789abcdef012345678";

const VIEWER: &str = "viewer-key-0123456789abcdef0123456789";

const DISPLAY: &str = "display-key-0123456789abcdef012345678";

const DESKTOP: &str = "desktop-session-0123456789abcdef012345";

async fn shop_with_every_role() -> TestApp {
    spawn_app_tweaked("", |c| {
        c.server.keys = vec![
            key(ADMIN, Role::Admin),
            key(CASHIER, Role::Cashier),
            key(VIEWER, Role::Viewer),
            key(DISPLAY, Role::Display),
        ];
        c.server.session_token = Some(ApiKey::parse(DESKTOP).unwrap());
    })
    .await
}

async fn send(app: &TestApp, method: Method, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut r = app.client.request(method.clone(), app.url(path));
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
        r = r.json(&json!({}));
    }
    r.send().await.unwrap()
}

/// A display paired with a code: it holds the display role like a configured display key.
async fn paired_display(app: &TestApp) -> String {
    let paired = crate::helpers::pair_display(app, Some(ADMIN)).await;
    paired["token"].as_str().expect("paired").to_string()
}

/// Path parameters filled with well-formed ids of nothing: authorization is decided before the
/// handler looks anything up, so an allowed caller gets 404 or 422, never 401 or 403.
fn fill(path: &str) -> String {
    path.replace("{payment_id}", "pay_0123456789abcdef0123456789abcdef")
        .replace("{product_id}", "prod_0123456789abcdef01234567")
        .replace("{webhook_id}", "whk_0123456789abcdef01234567")
        .replace("{delivery_id}", "999999")
        .replace("{display_id}", "dsp_0123456789abcdef01234567")
}
