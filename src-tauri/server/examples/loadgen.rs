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
    let next = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(seconds);

    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (client, paths, body, next) =
                (client.clone(), paths.clone(), body.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
                while Instant::now() < until {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let url = &paths[i as usize % paths.len()];
                    let started = Instant::now();
                    let request = if post {
                        client
                            .post(url)
                            .header("content-type", "application/json")
                            .body(body.replace("{i}", &i.to_string()))
                    } else {
                        client.get(url)
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
            })
        })
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
