//! The security boundary against the real server: hosts and origins, keys and their roles on every
//! route of the OpenAPI document, the keyless mode behind a proxy, the customer view, rate limits
//! behind a trusted proxy, and the security headers (issue 16; SECURITY.md).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use stablepay_core::access::{ApiKey, Role};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{assert_error, key, spawn_app, spawn_app_tweaked, usdt, TestApp};

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

#[tokio::test]
async fn every_route_answers_each_role_as_the_openapi_document_says() {
    let app = shop_with_every_role().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
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

    let customer: Value = app
        .get(&format!("/api/v1/payments/{id}"))
        .await
        .json()
        .await
        .unwrap();
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
        .client
        .get(app.url(&format!("/api/v1/payments/{id}")))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
        .client
        .post(app.url("/api/v1/socket-tickets"))
        .bearer_auth(DISPLAY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
        .client
        .post(app.url("/api/v1/socket-tickets"))
        .bearer_auth(DISPLAY)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
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

#[tokio::test]
async fn the_database_its_journal_and_its_lock_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    app.create_ok(usdt("1")).await;
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let path = format!("{}{suffix}", app.db_path().display());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path} is {mode:o}");
    }
}

#[tokio::test]
async fn a_provider_key_in_an_rpc_url_never_appears_in_logs_or_answers() {
    use std::{
        io::Read,
        process::{Command, Stdio},
    };
    let dir = tempfile::tempdir().unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("stablepay.toml");
    std::fs::write(
        &config,
        crate::helpers::config_toml(
            &dir.path().join("shop.db"),
            &format!(
                "[chain]\npoll_interval_ms = 200\n[[networks]]\nid = \"bsc\"\nname = \"BSC\"\nchain_id = 56\n\
                 rpc_urls = [\"http://127.0.0.1:{dead}/v1/SECRETKEY1\", \"http://user:SECRETKEY2@127.0.0.1:{dead}/?apikey=SECRETKEY3\"]\n\
                 ws_urls = [\"ws://127.0.0.1:{dead}/ws/SECRETKEY4\"]\n"
            ),
        ),
    )
    .unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_stablepay-server"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = server.stdout.take().unwrap();
    let mut first = [0u8; 200];
    let n = stdout.read(&mut first).unwrap();
    let line = String::from_utf8_lossy(&first[..n]).to_string();
    let base = format!(
        "http://{}",
        line.split("http://")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
    );
    let client = reqwest::Client::new();
    // Until the watcher has tried the dead endpoints (and so could have logged their URLs).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let monitoring: Value = client
            .get(format!("{base}/api/v1/stats/monitoring"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tried = monitoring["rpc_endpoints"].as_array().is_some_and(|e| {
            e.iter()
                .all(|e| e["health"].as_f64().unwrap_or(100.0) < 100.0)
        });
        if tried {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the endpoints were never tried: {monitoring}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let payment: Value = client
        .post(format!("{base}/api/v1/payments"))
        .json(&usdt("5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut answers = String::new();
    let process = client
        .post(format!(
            "{base}/api/v1/payments/{}/process",
            payment["id"].as_str().unwrap()
        ))
        .json(&json!({"transaction_hash": format!("0x{}", "1".repeat(64))}))
        .send()
        .await
        .unwrap();
    answers.push_str(&process.text().await.unwrap());
    for path in [
        "/api/v1/stats/websocket",
        "/api/v1/stats/websocket/messages?limit=500",
        "/api/v1/stats/monitoring",
        "/api/v1/alerts",
        "/api/v1/settings",
        "/metrics",
    ] {
        answers.push_str(
            &client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    server.kill().unwrap();
    let mut logs = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    server.wait().unwrap();

    assert!(
        logs.contains("RPC call failed"),
        "the endpoints were tried: {logs}"
    );
    assert!(!logs.contains("SECRETKEY"), "a key in the logs: {logs}");
    assert!(
        !answers.contains("SECRETKEY"),
        "a key in an answer: {answers}"
    );
}

#[tokio::test]
async fn a_half_sent_request_is_dropped_within_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_tweaked("", |c| {
        c.server.header_read_timeout = std::time::Duration::from_millis(500)
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 512];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match slow.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection stayed open");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once() {
    use tokio::io::AsyncReadExt;
    let app = spawn_app_tweaked("", |c| c.server.max_connections = 16).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // The listener accepts in the order the kernel queued the connections: these 16 first.
    let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(std::time::Duration::from_secs(2), extra.read(&mut buffer))
        .await
        .expect("closed at once, not left hanging");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    drop(held);
}

#[tokio::test]
async fn a_client_flooding_a_socket_is_disconnected() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_app().await;
    let p = app.create_ok(usdt("1")).await;
    let mut socket = crate::ws::connect(&app, p["id"].as_str().unwrap()).await;
    for _ in 0..40 {
        if socket
            .send(Message::text(r#"{"type":"ping"}"#))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut closed_with = None;
    while let Ok(Some(message)) =
        tokio::time::timeout(std::time::Duration::from_secs(5), socket.next()).await
    {
        match message {
            Ok(Message::Close(frame)) => {
                closed_with = frame.map(|f| u16::from(f.code));
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert_eq!(closed_with, Some(1008));
}

#[tokio::test]
async fn the_manual_check_of_one_payment_is_limited() {
    let app = spawn_app().await;
    let p = app.create_ok(usdt("1")).await;
    let url = app.url(&format!(
        "/api/v1/payments/{}/process",
        p["id"].as_str().unwrap()
    ));
    let hash = format!("0x{}", "2".repeat(64));
    for _ in 0..10 {
        let r = app
            .client
            .post(&url)
            .json(&json!({ "transaction_hash": hash }))
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), 429);
    }
    let r = app
        .client
        .post(&url)
        .json(&json!({ "transaction_hash": hash }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}
