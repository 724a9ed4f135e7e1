//! Secrets at rest and in logs: file modes, provider keys in RPC URLs.

use std::{process::Stdio, time::Duration};

use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_app, start_binary, usdt};

#[tokio::test]
async fn the_database_its_journal_and_its_lock_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    if crate::helpers::postgres().is_some() {
        return; // the SQLite file's own rule; PostgreSQL keeps its files itself
    }
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
    // Debug logs go to a file: a pipe read only after start-up could fill up (64 KiB) with the
    // migrations' statements before the server prints its address.
    let log_path = dir.path().join("stderr.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let (mut server, base) = start_binary(&config, "debug", Stdio::from(log_file));
    let client = reqwest::Client::new();
    until_every_endpoint_was_tried(&client, &base).await;
    let answers = everything_the_server_answers(&client, &base).await;
    server.kill().unwrap();
    server.wait().unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();

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

/// Waits until the watcher has tried the dead endpoints (and so could have logged their URLs).
async fn until_every_endpoint_was_tried(client: &reqwest::Client, base: &str) {
    eventually("every endpoint tried", Duration::from_secs(20), || async {
        let monitoring: Value = client
            .get(format!("{base}/api/v1/stats/monitoring"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        monitoring["rpc_endpoints"]
            .as_array()
            .is_some_and(|e| {
                e.iter()
                    .all(|e| e["health"].as_f64().unwrap_or(100.0) < 100.0)
            })
            .then_some(())
    })
    .await;
}

/// A failed manual check, then every page that reports on endpoints, concatenated.
async fn everything_the_server_answers(client: &reqwest::Client, base: &str) -> String {
    let payment: Value = client
        .post(format!("{base}/api/v1/payments"))
        .json(&usdt("5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let process = client
        .post(format!(
            "{base}/api/v1/payments/{}/process",
            payment["id"].as_str().unwrap()
        ))
        .json(&json!({"transaction_hash": format!("0x{}", "1".repeat(64))}))
        .send()
        .await
        .unwrap();
    let mut answers = process.text().await.unwrap();
    for path in [
        "/api/v1/stats/websocket",
        "/api/v1/stats/websocket/messages?limit=500",
        "/api/v1/stats/monitoring",
        "/api/v1/alerts",
        "/api/v1/settings",
        "/metrics",
    ] {
        let page = client.get(format!("{base}{path}")).send().await.unwrap();
        answers.push_str(&page.text().await.unwrap());
    }
    answers
}
