//! The HTTP load generator behind `npm run bench`: a fixed number of keep-alive connections
//! sending requests back to back for a fixed time. Written in Rust so the client costs the shared
//! 2-core machine less than the server it measures (a Node client was the bottleneck).
//!
//! ```text
//! loadgen <base-url> <seconds> <connections> GET <path>[,<path>…]
//! loadgen <base-url> <seconds> <connections> POST <path> <json-body-with-{i}>
//! ```
//! `{i}` in a POST body becomes the request's sequence number. Prints one JSON line:
//! `{"requests":…,"errors":…,"rps":…,"p50_ms":…,"p99_ms":…,"statuses":{"201":…}}`.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, seconds, connections, method, target, rest @ ..] = args.as_slice() else {
        anyhow::bail!(
            "usage: loadgen <base-url> <seconds> <connections> GET|POST <path[,path…]> [body]"
        );
    };
    let seconds: f64 = seconds.parse()?;
    let connections: usize = connections.parse()?;
    let post = match method.as_str() {
        "GET" => false,
        "POST" => true,
        other => anyhow::bail!("method must be GET or POST, not {other}"),
    };
    let body = Arc::new(rest.first().cloned().unwrap_or_default());
    let paths: Arc<Vec<String>> =
        Arc::new(target.split(',').map(|p| format!("{base}{p}")).collect());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .http1_only()
        .build()?;
    let load = Load {
        client,
        paths,
        body,
        post,
        next: Arc::new(AtomicU64::new(0)),
        until: Instant::now() + Duration::from_secs_f64(seconds),
    };
    let workers: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(load.clone().run()))
        .collect();

    let mut latencies = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for worker in workers {
        let (l, s) = worker.await?;
        latencies.extend(l);
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
    }
    latencies.sort();
    let pct = |q: f64| {
        latencies
            .get(((latencies.len().saturating_sub(1)) as f64 * q).round() as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    let errors: u64 = statuses
        .iter()
        .filter(|(s, _)| **s == 0 || **s >= 400)
        .map(|(_, n)| n)
        .sum();
    println!(
        "{}",
        serde_json::json!({
            "requests": latencies.len(),
            "errors": errors,
            "rps": latencies.len() as f64 / seconds,
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
            "statuses": statuses.iter().map(|(k, v)| (k.to_string(), v)).collect::<BTreeMap<_, _>>(),
        })
    );
    Ok(())
}

/// What one connection sends, and until when.
#[derive(Clone)]
struct Load {
    client: reqwest::Client,
    paths: Arc<Vec<String>>,
    body: Arc<String>,
    post: bool,
    /// The next request's sequence number, shared by all connections.
    next: Arc<AtomicU64>,
    until: Instant,
}

impl Load {
    /// Sends requests back to back until the end; each request's latency and the statuses seen
    /// (0: no answer).
    async fn run(self) -> (Vec<Duration>, BTreeMap<u16, u64>) {
        let mut latencies = Vec::new();
        let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
        while Instant::now() < self.until {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let url = &self.paths[i as usize % self.paths.len()];
            let started = Instant::now();
            let request = if self.post {
                self.client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(self.body.replace("{i}", &i.to_string()))
            } else {
                self.client.get(url)
            };
            let status = match request.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    status
                }
                Err(_) => 0,
            };
            latencies.push(started.elapsed());
            *statuses.entry(status).or_default() += 1;
        }
        (latencies, statuses)
    }
}
