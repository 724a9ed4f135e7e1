//! Hosts, origins, proxies and the headers every answer carries.

use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{assert_error, spawn_app, spawn_app_tweaked, usdt, TestApp};

#[tokio::test]
async fn a_request_for_a_host_the_server_does_not_serve_is_misdirected() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/health"))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_error(r, 421, "misdirected_request").await;
    let r = app
        .client
        .get(app.url("/health"))
        .header("host", "localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_cross_origin_body_less_post_and_socket_upgrade_are_refused_same_origin_ones_work() {
    let app = spawn_app().await;
    let p = app.create_ok(usdt("2")).await;
    let cancel = app.url(&format!(
        "/api/v1/payments/{}/cancel",
        p["id"].as_str().unwrap()
    ));

    let forged = app
        .client
        .post(&cancel)
        .header("origin", "http://attacker.example")
        .send()
        .await
        .unwrap();
    assert_error(forged, 403, "origin_not_allowed").await;
    let marked = app
        .client
        .post(&cancel)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_error(marked, 403, "origin_not_allowed").await;

    let url = format!("{}/ws/display", app.base.replace("http://", "ws://"));
    let mut request = url.clone().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "http://attacker.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    assert!(
        matches!(refused, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 403),
        "{refused:?}"
    );

    let own = app
        .client
        .post(&cancel)
        .header("origin", app.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", app.base.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
}

#[tokio::test]
async fn a_server_without_keys_refuses_merchant_routes_to_requests_through_a_proxy() {
    let app = spawn_app().await;
    for header in ["x-forwarded-for", "x-real-ip", "forwarded"] {
        let value = if header == "forwarded" {
            "for=203.0.113.7"
        } else {
            "203.0.113.7"
        };
        let r = app
            .client
            .get(app.url("/api/v1/payments"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_error(r, 401, "unauthorized").await;
    }
    let p = app.create_ok(usdt("3")).await;
    let customer = app
        .client
        .get(app.url(&format!("/api/v1/payments/{}", p["id"].as_str().unwrap())))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(customer.status(), 200, "customer routes stay open");
}

#[tokio::test]
async fn behind_a_trusted_proxy_clients_get_their_own_rate_limit_and_others_cannot_claim_one() {
    let trusted = spawn_app_tweaked("", |c| {
        c.server.rate_limit_per_second = 1;
        c.server.rate_limit_burst = 1;
        c.server.trusted_proxies = vec![stablepay_core::ip::IpRange::parse("127.0.0.1").unwrap()];
    })
    .await;
    let from = |app: &TestApp, client: &str| {
        app.client
            .get(app.url("/api/v1/tokens"))
            .header("x-forwarded-for", client.to_string())
            .send()
    };
    assert_eq!(from(&trusted, "198.51.100.1").await.unwrap().status(), 200);
    assert_eq!(from(&trusted, "198.51.100.2").await.unwrap().status(), 200);
    assert_eq!(from(&trusted, "198.51.100.1").await.unwrap().status(), 429);

    let untrusted = spawn_app_tweaked("", |c| {
        c.server.rate_limit_per_second = 1;
        c.server.rate_limit_burst = 1;
    })
    .await;
    assert_eq!(
        from(&untrusted, "198.51.100.1").await.unwrap().status(),
        200
    );
    assert_eq!(
        from(&untrusted, "198.51.100.2").await.unwrap().status(),
        429,
        "an untrusted peer's X-Forwarded-For is ignored"
    );
}

#[tokio::test]
async fn every_answer_forbids_framing_and_sniffing_and_pins_scripts_to_the_server() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/health",
        "/api/v1/tokens",
        "/docs/",
        "/api/v1/nowhere",
    ] {
        let r = app.get(path).await;
        let h = r.headers();
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
    }
}
