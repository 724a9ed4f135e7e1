//! Resource limits: header timeout, connection cap, socket floods, the manual check.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_tweaked, usdt};

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
    for attempt in 1..=11 {
        let r = app
            .client
            .post(&url)
            .json(&json!({ "transaction_hash": hash }))
            .send()
            .await
            .unwrap();
        if attempt <= 10 {
            assert_ne!(r.status(), 429, "attempt {attempt}");
        } else {
            assert_eq!(r.status(), 429, "the eleventh is refused");
            assert!(r.headers().contains_key("retry-after"));
        }
    }
}
