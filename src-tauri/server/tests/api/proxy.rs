//! The JSON-RPC fault proxy of `devchain/fault-proxy.mjs` (node) in front of a real anvil: an
//! endpoint that rate-limits, refuses methods, lags, answers another chain or lies, on demand.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use serde_json::Value;

/// A running proxy; stopped on drop.
pub(crate) struct FaultProxy {
    pub url: String,
    child: Child,
    client: reqwest::Client,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (honest until told otherwise).
    pub(crate) async fn start(upstream: &str) -> Self {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../devchain/fault-proxy.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .args(["--upstream", upstream])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs the fault proxy");
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("fault proxy said {line:?}: {e}"));
        Self {
            url: ready["url"].as_str().unwrap().to_string(),
            child,
            client: reqwest::Client::new(),
        }
    }

    /// Replaces its faults (`{}`: honest again). See `devchain/lib/fault-proxy.mjs`.
    pub(crate) async fn set(&self, faults: Value) {
        let r = self
            .client
            .post(format!("{}/__faults", self.url))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "fault proxy refused {faults}");
    }

    /// Requests it has seen, per method.
    pub(crate) async fn counts(&self) -> Value {
        let body: Value = self
            .client
            .get(format!("{}/__faults", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["counts"].clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
