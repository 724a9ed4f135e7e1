//! `/ws/payments/{id}` with a real WebSocket client against the real server.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::{connect_async, tungstenite::Message, MaybeTlsStream, WebSocketStream};

use crate::helpers::{spawn_app, spawn_app_tweaked, usdt, TestApp};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(app: &TestApp, id: &str) -> Socket {
    let url = format!("{}/ws/payments/{id}", app.base.replace("http://", "ws://"));
    connect_async(url).await.expect("socket connects").0
}

/// The next text message as it arrived (5 s at most), skipping nothing; over any stream (plain or
/// TLS).
pub(crate) async fn next_text(
    socket: &mut WebSocketStream<impl AsyncRead + AsyncWrite + Unpin>,
) -> String {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message within 5 s")
            .expect("socket open")
            .unwrap();
        if let Message::Text(text) = message {
            return text.to_string();
        }
    }
}

/// The next JSON text message (5 s at most), skipping server heartbeats.
pub(crate) async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let value: Value = serde_json::from_str(&next_text(socket).await).unwrap();
        if value["type"] != "ping" {
            return value;
        }
    }
}

#[tokio::test]
async fn a_client_gets_an_ack_with_the_payment_then_each_status_update() {
    let app = spawn_app().await;
    let p = app.create_ok(usdt("3")).await;
    let id = p["id"].as_str().unwrap();
    let mut socket = connect(&app, id).await;

    let ack = next_json(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack");
    assert_eq!(ack["paymentId"], id);
    assert_eq!(ack["data"]["status"], "pending");
    assert_eq!(ack["payment"]["amount"], "3.00");

    app.post_empty(&format!("/api/v1/payments/{id}/cancel"))
        .await;
    let update = next_json(&mut socket).await;

    assert_eq!(update["type"], "payment_status_update");
    assert_eq!(update["paymentId"], id);
    assert_eq!(update["data"]["status"], "cancelled");
    assert_eq!(update["data"]["amount"], "3.00");
    assert_eq!(update["data"]["token"], "USDT");
    assert!(update["data"]["transactionHash"].is_null());
    assert!(update["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn an_unknown_payment_gets_an_error_and_the_socket_closes() {
    let app = spawn_app().await;
    let mut socket = connect(&app, "pay_00000000000000000000000000000000").await;

    let error = next_json(&mut socket).await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["code"], "payment_not_found");
    let closing = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap();
    assert!(matches!(closing, Some(Ok(Message::Close(_))) | None));
}

#[tokio::test]
async fn a_client_ping_gets_a_pong_and_nonsense_gets_an_error() {
    let app = spawn_app().await;
    let id = app.create_ok(usdt("1")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut socket = connect(&app, &id).await;
    next_json(&mut socket).await;

    socket
        .send(Message::text(json!({"type": "ping"}).to_string()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["type"], "pong");
    socket.send(Message::text("not json")).await.unwrap();
    assert_eq!(
        next_json(&mut socket).await["error"]["code"],
        "unknown_message"
    );
}

#[tokio::test]
async fn two_hundred_clients_all_get_the_update_and_a_client_that_stops_reading_slows_nobody() {
    let app = spawn_app().await;
    let id = app.create_ok(usdt("2")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut sluggard = connect(&app, &id).await; // never reads after this
    let mut sockets = Vec::new();
    for _ in 0..200 {
        let mut s = connect(&app, &id).await;
        assert_eq!(next_json(&mut s).await["type"], "connection_ack");
        sockets.push(s);
    }

    app.post_empty(&format!("/api/v1/payments/{id}/cancel"))
        .await;

    let updates = futures_util::future::join_all(sockets.iter_mut().map(next_json)).await;
    assert!(updates.iter().all(|u| u["data"]["status"] == "cancelled"));
    let _ = sluggard.close(None).await;
}

#[tokio::test]
async fn sockets_over_the_per_ip_limit_are_refused_with_429() {
    let app = spawn_app_tweaked("", |c| c.server.ws_max_per_ip = 2).await;
    let id = app.create_ok(usdt("1")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let _a = connect(&app, &id).await;
    let _b = connect(&app, &id).await;

    let url = format!("{}/ws/payments/{id}", app.base.replace("http://", "ws://"));
    let refused = connect_async(url).await.unwrap_err();

    match refused {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 429),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test]
async fn a_socket_hears_only_its_own_payment_and_its_channel_goes_when_it_closes() {
    let app = spawn_app().await;
    let core = &app.server.as_ref().unwrap().core;
    let mine = app.create_ok(usdt("4")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = app.create_ok(usdt("5")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut socket = connect(&app, &mine).await;
    assert_eq!(next_json(&mut socket).await["type"], "connection_ack");
    assert_eq!(core.events.watched_payments(), 1);

    app.post_empty(&format!("/api/v1/payments/{other}/cancel"))
        .await;
    app.post_empty(&format!("/api/v1/payments/{mine}/cancel"))
        .await;
    let update = next_json(&mut socket).await;
    assert_eq!(update["paymentId"], mine.as_str());
    assert_eq!(update["data"]["status"], "cancelled");

    socket.close(None).await.unwrap();
    let mut forgotten = false;
    for _ in 0..50 {
        if core.events.watched_payments() == 0 {
            forgotten = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        forgotten,
        "the payment's channel is dropped with its last socket"
    );
}

/// Reads until the server closes the socket; the close code, or `None` when it just went away.
async fn closed_by_server(socket: &mut Socket, within: Duration) -> Option<u16> {
    tokio::time::timeout(within, async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the server closed the socket in time")
}

#[tokio::test]
async fn a_silent_client_is_dropped_from_each_of_the_three_sockets() {
    let app = spawn_app_tweaked("", |c| {
        c.server.socket_heartbeat = Duration::from_millis(100);
    })
    .await;
    let p = app.create_ok(usdt("2")).await;
    let ws = app.base.replace("http://", "ws://");
    for path in [
        format!("/ws/payments/{}", p["id"].as_str().unwrap()),
        "/ws/display".to_string(),
        "/ws/monitor".to_string(),
    ] {
        let (mut socket, _) = connect_async(format!("{ws}{path}")).await.expect(&path);
        // Three heartbeats without a word from the client, then the fourth drops it.
        let code = closed_by_server(&mut socket, Duration::from_secs(5)).await;
        assert_eq!(code, Some(1001), "{path}");
    }
}

#[tokio::test]
async fn a_client_answering_pings_stays_connected() {
    let app = spawn_app_tweaked("", |c| {
        c.server.socket_heartbeat = Duration::from_millis(100);
    })
    .await;
    let ws = app.base.replace("http://", "ws://");
    let (mut socket, _) = connect_async(format!("{ws}/ws/monitor")).await.unwrap();
    let mut pings = 0;
    while pings < 8 {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message")
            .expect("still open")
            .unwrap();
        if let Message::Text(text) = message {
            if serde_json::from_str::<Value>(&text).unwrap()["type"] == "ping" {
                pings += 1;
                socket
                    .send(Message::Text(json!({ "type": "pong" }).to_string().into()))
                    .await
                    .unwrap();
            }
        }
    }
}
