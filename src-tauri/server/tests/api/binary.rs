//! Tests that run the real `stablepay-server` binary as a separate process.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::helpers::{config_toml, start_binary, usdt, MERCHANT};

const BIN: &str = env!("CARGO_BIN_EXE_stablepay-server");

#[tokio::test]
async fn a_payment_answered_201_survives_sigkill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("stablepay.toml");
    std::fs::write(&config, config_toml(&dir.path().join("shop.db"), "")).unwrap();
    let client = reqwest::Client::new();

    let (mut server, base) = start_binary(&config, "warn", Stdio::inherit());
    let created = client
        .post(format!("{base}/api/v1/payments"))
        .json(&usdt("42"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    server.kill().unwrap(); // SIGKILL: no shutdown code runs
    server.wait().unwrap();

    let (mut restarted, base) = start_binary(&config, "warn", Stdio::inherit());
    let fetched: Value = client
        .get(format!(
            "{base}/api/v1/payments/{}",
            created["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    restarted.kill().unwrap();
    restarted.wait().unwrap();

    assert_eq!(fetched["id"], created["id"]);
    assert_eq!(fetched["amount_base_units"], created["amount_base_units"]);
    assert_eq!(fetched["status"], "pending");
}

fn run_expecting_failure(config_text: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, config_text).unwrap();
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(!out.status.success(), "should refuse to start");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn a_config_with_a_wrongly_checksummed_address_is_refused_naming_the_key() {
    let bad = MERCHANT.replacen("AC", "ac", 1);
    let stderr = run_expecting_failure(&format!("[merchant]\nreceive_address = \"{bad}\"\n"), &[]);

    assert!(
        stderr.contains("merchant.receive_address") && stderr.contains("checksum"),
        "{stderr}"
    );
}

#[test]
fn a_config_with_a_malformed_token_address_is_refused_naming_the_key() {
    let toml = "[[tokens]]\nsymbol = \"USDT\"\nnetwork = \"bsc\"\ncontract_address = \"0x55d3983\"\ndecimals = 18\n";
    let stderr = run_expecting_failure(toml, &[]);

    assert!(stderr.contains("tokens[0].contract_address"), "{stderr}");
}

#[test]
fn a_public_bind_without_an_api_key_is_refused() {
    let stderr = run_expecting_failure("", &["--bind", "0.0.0.0:0"]);

    assert!(stderr.contains("server.api_keys"), "{stderr}");
}

#[test]
fn help_documents_the_serve_flags() {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);

    for flag in ["--config", "--bind", "--database", "STABLEPAY_CONFIG"] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
}

#[tokio::test]
async fn a_second_server_on_the_same_database_exits_non_zero_naming_the_lock() {
    if crate::helpers::postgres().is_some() {
        return; // the SQLite file's rule: servers on PostgreSQL share it (see replicas)
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("stablepay.toml");
    std::fs::write(&config, config_toml(&dir.path().join("shop.db"), "")).unwrap();
    let (mut first, base) = start_binary(&config, "warn", Stdio::inherit());

    let second = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .output()
        .expect("binary runs");

    assert!(!second.status.success(), "the second server must not run");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("shop.db.lock") && said.contains("in use by process"),
        "{said}"
    );
    let still = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(still.status(), 200, "the first one carries on");
    first.kill().unwrap();
    first.wait().unwrap();
}
