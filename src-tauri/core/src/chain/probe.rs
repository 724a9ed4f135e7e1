//! "Test connection" for one RPC endpoint (the first-run setup and Settings, issue 18): what a new
//! owner needs to know before trusting a node with the shop's payments — its chain id, its head
//! block, how fast it answers, and whether it serves `eth_getLogs` (BSC's official endpoints do
//! not) and the `finalized` block. Plain JSON-RPC over HTTP with a short timeout; nothing stored.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// What one endpoint answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// `eth_chainId`, when it answered.
    pub chain_id: Option<u64>,
    /// `eth_blockNumber`, when it answered.
    pub head: Option<u64>,
    /// How long `eth_blockNumber` took, milliseconds.
    pub latency_ms: Option<u64>,
    /// Whether `eth_getLogs` over the head block was answered.
    pub logs: bool,
    /// Whether `eth_getBlockByNumber("finalized")` was answered with a block.
    pub finalized: bool,
    /// Why it cannot be used, when it cannot: a stable code (for the screens' own words) and the
    /// words in English.
    pub problem: Option<(ProbeProblem, String)>,
}

/// Why an endpoint cannot serve the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeProblem {
    /// Not an http(s) URL.
    BadUrl,
    /// No connection, or no answer in time.
    Unreachable,
    /// An HTTP error status, or not JSON-RPC.
    BadAnswer,
    /// The JSON-RPC call was refused.
    Refused,
    /// Another chain.
    WrongChain,
    /// No newest block.
    NoHead,
    /// `eth_getLogs` refused: it cannot see payments.
    NoLogs,
}

impl ProbeProblem {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            ProbeProblem::BadUrl => "bad_url",
            ProbeProblem::Unreachable => "unreachable",
            ProbeProblem::BadAnswer => "bad_answer",
            ProbeProblem::Refused => "refused",
            ProbeProblem::WrongChain => "wrong_chain",
            ProbeProblem::NoHead => "no_head",
            ProbeProblem::NoLogs => "no_logs",
        }
    }
}

/// How long each call may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

async fn call(
    client: &reqwest::Client,
    url: &str,
    method: &str,
    params: Value,
) -> Result<Value, (ProbeProblem, String)> {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let response = client.post(url).json(&body).send().await.map_err(|e| {
        let words = if e.is_timeout() {
            "no answer within 5 s"
        } else {
            "cannot be reached"
        };
        (ProbeProblem::Unreachable, words.to_string())
    })?;
    if !response.status().is_success() {
        let words = format!("answered HTTP {}", response.status().as_u16());
        return Err((ProbeProblem::BadAnswer, words));
    }
    let answer: Value = response.json().await.map_err(|_| {
        (
            ProbeProblem::BadAnswer,
            "did not answer JSON-RPC".to_string(),
        )
    })?;
    match (answer.get("result"), answer.get("error")) {
        (Some(result), None) if !result.is_null() => Ok(result.clone()),
        (_, Some(error)) => {
            let words = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("refused")
                .chars()
                .take(200)
                .collect();
            Err((ProbeProblem::Refused, words))
        }
        _ => Err((ProbeProblem::BadAnswer, "answered nothing".into())),
    }
}

fn quantity(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// Asks `url` what a shop needs to know; `chain_id` is the network's, for the verdict.
pub async fn probe(url: &str, chain_id: u64) -> Probe {
    let mut probe = Probe {
        chain_id: None,
        head: None,
        latency_ms: None,
        logs: false,
        finalized: false,
        problem: None,
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        probe.problem = Some((
            ProbeProblem::BadUrl,
            "an RPC endpoint is an http:// or https:// URL".into(),
        ));
        return probe;
    }
    let client = match reqwest::Client::builder().timeout(PROBE_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            probe.problem = Some((ProbeProblem::Unreachable, e.to_string()));
            return probe;
        }
    };
    match call(&client, url, "eth_chainId", json!([])).await {
        Ok(id) => probe.chain_id = quantity(&id),
        Err(e) => {
            probe.problem = Some(e);
            return probe;
        }
    }
    let started = Instant::now();
    if let Ok(head) = call(&client, url, "eth_blockNumber", json!([])).await {
        probe.latency_ms = Some(started.elapsed().as_millis() as u64);
        probe.head = quantity(&head);
    }
    if let Some(head) = probe.head {
        let block = format!("0x{head:x}");
        let filter = json!([{ "fromBlock": block, "toBlock": block, "topics": [] }]);
        probe.logs = call(&client, url, "eth_getLogs", filter).await.is_ok();
    }
    probe.finalized = call(
        &client,
        url,
        "eth_getBlockByNumber",
        json!(["finalized", false]),
    )
    .await
    .is_ok_and(|b| b.is_object());
    probe.problem = match probe.chain_id {
        Some(id) if id != chain_id => Some((
            ProbeProblem::WrongChain,
            format!("it is on chain {id}, not {chain_id}"),
        )),
        _ if probe.head.is_none() => Some((
            ProbeProblem::NoHead,
            "it does not say its newest block".into(),
        )),
        _ if !probe.logs => Some((
            ProbeProblem::NoLogs,
            "it does not serve eth_getLogs, so it cannot see payments".into(),
        )),
        _ => None,
    };
    probe
}
