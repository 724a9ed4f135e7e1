//! HTTPS and WSS on the real server, with the shop's certificate and with a self-signed one that a
//! client pins by fingerprint; plain HTTP from the network sent to HTTPS; and the signature on every
//! display and payment socket message (issue 16, items 6 and 13).

use std::{path::Path, sync::Arc, time::Duration};

use futures_util::SinkExt;
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    pki_types::{CertificateDer, ServerName, UnixTime},
    DigitallySignedStruct, SignatureScheme,
};
use serde_json::{json, Value};
use stablepay_core::{
    access::Role,
    clock::{Clock, ManualClock},
    config::{Config, Tls},
};
use stablepay_server::signing::verify;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::{tungstenite::Message, WebSocketStream};

use crate::{
    helpers::{config_toml, key, spawn_app_tweaked, usdt},
    ws::next_text,
};

const ADMIN: &str = "admin-key-0123456789abcdef0123456789";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A certificate authority of the shop's own and a certificate it issued for this computer.
struct ShopPki {
    ca_pem: String,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn shop_pki(dir: &Path) -> ShopPki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Corner Café CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let (cert, key) = (dir.join("shop.crt"), dir.join("shop.key"));
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    ShopPki {
        ca_pem: ca.pem(),
        cert,
        key,
    }
}

/// Trusts exactly one certificate, by its SHA-256 fingerprint: how a tablet's owner trusts a
/// self-signed till after comparing the fingerprint with Settings.
#[derive(Debug)]
struct Pinned(String);

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if stablepay_server::tls::fingerprint(end_entity) == self.0 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("fingerprint does not match".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn pinned_config(fingerprint: &str) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned(fingerprint.to_string())))
        .with_no_client_auth()
}

fn ca_config(ca_pem: &str) -> rustls::ClientConfig {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A WebSocket over TLS with `config`, to `path` on `localhost:port`.
async fn wss(
    config: rustls::ClientConfig,
    port: u16,
    path: &str,
) -> Result<WebSocketStream<impl AsyncRead + AsyncWrite + Unpin>, String> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let url = format!("wss://localhost:{port}{path}");
    let (socket, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .map_err(|e| e.to_string())?;
    Ok(socket)
}

async fn push_key(client: &reqwest::Client, base: &str) -> String {
    let key: Value = client
        .get(format!("{base}/api/v1/push-key"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(key["algorithm"], "ed25519");
    key["public_key"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn https_and_wss_are_served_with_the_shop_s_own_certificate() {
    let certs = tempfile::tempdir().unwrap();
    let pki = shop_pki(certs.path());
    let (cert, key_file) = (pki.cert.clone(), pki.key.clone());
    let app = spawn_app_tweaked("", move |c| {
        c.server.tls = Tls::Files {
            cert,
            key: key_file,
        }
    })
    .await;
    let port = app.server.as_ref().unwrap().addr.port();
    let https = format!("https://localhost:{port}");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();

    let health = client.get(format!("{https}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let p: Value = client
        .post(format!("{https}/api/v1/payments"))
        .json(&usdt("4"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = p["id"].as_str().unwrap();
    let settings: Value = client
        .get(format!("{https}/api/v1/settings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["server"]["tls"]["self_signed"], false);

    let mut socket = wss(ca_config(&pki.ca_pem), port, &format!("/ws/payments/{id}"))
        .await
        .expect("WSS with the shop's CA");
    let ack = next_text(&mut socket).await;
    assert!(ack.contains("connection_ack"), "{ack}");
    assert!(verify(&ack, &push_key(&client, &https).await));

    // A client that does not trust the shop's CA gets no connection.
    let stranger = reqwest::Client::new();
    assert!(stranger
        .get(format!("{https}/health"))
        .send()
        .await
        .is_err());
    // This computer may still speak plain HTTP (the desktop app's own windows do).
    assert_eq!(app.get("/health").await.status(), 200);
}

#[tokio::test]
async fn a_self_signed_certificate_is_kept_and_a_client_pinning_its_fingerprint_gets_https_and_wss()
{
    let dir = tempfile::tempdir().unwrap();
    let start = |dir: &Path| {
        let mut config = Config::from_toml_str(
            &config_toml(&dir.join("stablepay.db"), ""),
            std::iter::empty(),
        )
        .unwrap();
        config.server.tls = Tls::SelfSigned;
        config.server.keys = vec![key(ADMIN, Role::Admin)];
        let clock = Arc::new(ManualClock::new(chrono::Utc::now())) as Arc<dyn Clock>;
        stablepay_server::start(config, clock)
    };
    let server = start(dir.path())
        .await
        .expect("starts with a self-signed certificate");
    let fingerprint = server.tls_fingerprint.clone().expect("serves HTTPS");
    let port = server.addr.port();
    let https = format!("https://localhost:{port}");

    let pinned = reqwest::Client::builder()
        .use_preconfigured_tls(pinned_config(&fingerprint))
        .build()
        .unwrap();
    let settings: Value = pinned
        .get(format!("{https}/api/v1/settings"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["server"]["tls"]["fingerprint_sha256"], fingerprint);
    assert_eq!(settings["server"]["tls"]["self_signed"], true);

    let ticket: Value = pinned
        .post(format!("{https}/api/v1/socket-tickets"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("/ws/display?ticket={}", ticket["ticket"].as_str().unwrap());
    let mut socket = wss(pinned_config(&fingerprint), port, &path)
        .await
        .expect("WSS pinned to the fingerprint");
    let update = next_text(&mut socket).await;
    assert!(update.contains("display_update"), "{update}");
    assert!(verify(
        &update,
        settings["server"]["push_key"].as_str().unwrap()
    ));

    let wrong = "00:".repeat(31) + "00";
    assert!(
        wss(pinned_config(&wrong), port, "/ws/payments/x")
            .await
            .is_err(),
        "a client pinning another fingerprint does not connect"
    );
    drop(socket);
    server.shutdown().await;

    let again = start(dir.path()).await.expect("starts again");
    assert_eq!(
        again.tls_fingerprint.as_deref(),
        Some(fingerprint.as_str()),
        "the certificate is made once and kept"
    );
    again.shutdown().await;
}

#[tokio::test]
async fn plain_http_from_the_network_is_sent_to_https_and_served_nothing() {
    let Some(lan) = stablepay_server::lan::address() else {
        eprintln!("this machine has no network address besides loopback: nothing to test");
        return;
    };
    let app = spawn_app_tweaked("", |c| {
        c.server.bind = "0.0.0.0:0".parse().unwrap();
        c.server.tls = Tls::SelfSigned;
        c.server.keys = vec![key(ADMIN, Role::Admin)];
    })
    .await;
    let port = app.server.as_ref().unwrap().addr.port();
    let mut tcp = tokio::net::TcpStream::connect((lan, port)).await.unwrap();
    let request = format!(
        "GET /api/v1/payments HTTP/1.1\r\nHost: {lan}:{port}\r\nAuthorization: Bearer {ADMIN}\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer))
        .await
        .expect("answered and closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 308"), "{answer}");
    assert!(
        answer.contains(&format!("location: https://{lan}:{port}/api/v1/payments")),
        "{answer}"
    );
    assert!(
        !answer.contains("\"payments\""),
        "nothing is served over plain HTTP"
    );
}

#[tokio::test]
async fn every_message_on_the_payment_and_display_sockets_is_signed_with_the_published_key() {
    let app = spawn_app_tweaked("", |_| {}).await;
    let key = push_key(&app.client, &app.base).await;
    let p = app.create_ok(usdt("6")).await;
    let id = p["id"].as_str().unwrap();

    let mut socket = crate::ws::connect(&app, id).await;
    socket
        .send(Message::Text(json!({ "type": "ping" }).to_string().into()))
        .await
        .unwrap();
    let mut seen = vec![];
    while seen.len() < 2 {
        let text = next_text(&mut socket).await;
        assert!(verify(&text, &key), "unsigned or badly signed: {text}");
        seen.push(serde_json::from_str::<Value>(&text).unwrap()["type"].clone());
    }
    assert_eq!(seen, [json!("connection_ack"), json!("pong")]);
    app.post_empty(&format!("/api/v1/payments/{id}/cancel"))
        .await;
    let update = next_text(&mut socket).await;
    assert!(update.contains("payment_status_update") && verify(&update, &key));

    let url = format!("{}/ws/display", app.base.replace("http://", "ws://"));
    let (mut display, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let shown = next_text(&mut display).await;
    assert!(shown.contains("display_update") && verify(&shown, &key));
    let tampered = shown.replace("display_update", "display_updatE");
    assert!(!verify(&tampered, &key));

    let paired = crate::helpers::pair_display(&app, None).await;
    assert_eq!(paired["push_key"], key, "a display pins the key at pairing");
}
