use serde_json::Value;

use stablepay_core::access::Role;

use crate::helpers::{assert_error, key, spawn_app, spawn_app_tweaked, usdt};

const KEY: &str = "test-key-0123456789abcdef0123456789";

#[tokio::test]
async fn health_reports_the_database() {
    let app = spawn_app().await;

    let r = app.get("/health").await;

    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    // The one server of its database leads its background work, and says so.
    let kind = if crate::helpers::postgres().is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["replica"]["database"], kind, "{body}");
    let name = body["replica"]["name"].as_str().unwrap().to_string();
    crate::helpers::eventually("it leads", std::time::Duration::from_secs(10), || async {
        let body: Value = app.get_json("/health").await;
        (body["replica"]["leader"] == true && body["replica"]["leader_name"] == name.as_str())
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn merchant_endpoints_need_the_api_key_when_keys_are_configured() {
    let app = spawn_app_tweaked("", |c| c.server.keys = vec![key(KEY, Role::Admin)]).await;

    let r = app.create(usdt("1")).await;
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_error(r, 401, "unauthorized").await;
    let wrong = app
        .client
        .post(app.url("/api/v1/payments"))
        .bearer_auth("test-key-0123456789abcdef0123456780")
        .json(&usdt("1"))
        .send()
        .await
        .unwrap();
    assert_error(wrong, 401, "unauthorized").await;
    assert_error(app.get("/api/v1/payments").await, 401, "unauthorized").await;
    assert_error(app.get("/api/v1/products").await, 401, "unauthorized").await;

    let ok = app
        .client
        .post(app.url("/api/v1/payments"))
        .bearer_auth(KEY)
        .json(&usdt("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let id = ok.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.get(&format!("/api/v1/payments/{id}")).await.status(),
        200,
        "customers need only the id"
    );
    assert_eq!(app.get("/api/v1/tokens").await.status(), 200);
}

#[tokio::test]
async fn a_client_over_its_rate_limit_gets_429_with_retry_after() {
    let app = spawn_app_tweaked("", |c| {
        c.server.rate_limit_per_second = 1;
        c.server.rate_limit_burst = 3;
    })
    .await;

    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/tokens").await.status(), 200);
    }
    let limited = app.get("/api/v1/tokens").await;

    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_error(limited, 429, "rate_limited").await;
}

#[tokio::test]
async fn cors_allows_only_listed_origins() {
    let app = spawn_app_tweaked("", |c| {
        c.server.cors_origins = vec!["https://shop.example".into()]
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/payments"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
    };

    let allowed = preflight("https://shop.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let denied = preflight("https://evil.example").await.unwrap();
    assert!(denied
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn responses_are_gzipped_when_the_client_accepts_it() {
    let app = spawn_app().await;

    let r = app
        .client
        .get(app.url("/api/openapi.json"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();

    assert_eq!(r.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn openapi_describes_the_payment_endpoints() {
    let app = spawn_app().await;

    let spec: Value = app.get_json("/api/openapi.json").await;

    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/payments",
        "/api/v1/payments/{payment_id}",
        "/api/v1/tokens",
        "/api/v1/networks",
        "/api/v1/products",
        "/health",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(spec["components"]["schemas"]
        .get("PaymentResponse")
        .is_some());
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary_without_any_cdn() {
    let app = spawn_app().await;

    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let config = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;

    assert!(html.contains("swagger-ui"));
    assert!(config.contains("/api/openapi.json"), "{config}");
    assert_eq!(bundle.status(), 200);
    for text in [&html, &config] {
        assert!(
            !text.contains("unpkg.com")
                && !text.contains("cdn.jsdelivr")
                && !text.contains("cdnjs"),
            "external asset referenced"
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = spawn_app().await;
    assert_error(app.get("/api/v1/nothing").await, 404, "not_found").await;
    assert_error(
        app.client
            .delete(app.url("/api/v1/tokens"))
            .send()
            .await
            .unwrap(),
        405,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn the_built_ui_is_served_at_the_root_and_unknown_files_are_json_404s() {
    let ui = tempfile::tempdir().unwrap();
    std::fs::write(
        ui.path().join("index.html"),
        "<!doctype html><div id=app></div>",
    )
    .unwrap();
    let dir = ui.path().to_path_buf();
    let app = spawn_app_tweaked("", move |c| c.server.ui_dir = Some(dir)).await;

    assert_html_page(app.get("/").await, "id=app").await;
    assert_error(app.get("/missing.js").await, 404, "not_found").await;
}

#[tokio::test]
async fn without_a_ui_dir_the_server_serves_the_ui_it_carries_with_the_monitor_page() {
    assert!(
        std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../ui/dist/index.html"
        ))
        .exists(),
        "build the UI first (npm run ui:build; npm test does)"
    );
    let app = crate::helpers::spawn_app().await;

    assert_html_page(app.get("/").await, "id=\"app\"").await;
    let monitor = app.get("/src/websocket-monitor.html").await;
    assert_eq!(monitor.status(), 200);
    assert!(monitor
        .text()
        .await
        .unwrap()
        .contains("websocket-monitor.js"));
    let script = app.get("/src/websocket-monitor.js").await;
    assert_eq!(script.status(), 200);
    assert!(script
        .text()
        .await
        .unwrap()
        .contains("/api/v1/stats/websocket/messages"));
    assert_error(app.get("/missing.js").await, 404, "not_found").await;
}

/// `page` is a 200 HTML page containing `marker`.
async fn assert_html_page(page: reqwest::Response, marker: &str) {
    assert_eq!(page.status(), 200);
    let kind = page.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(page.text().await.unwrap().contains(marker));
}
