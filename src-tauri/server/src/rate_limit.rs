//! Per-client rate limiting: a token bucket per client IP (the proxy's client when the peer is a
//! trusted proxy, see [`crate::guard::client_ip`]). Over budget → 429 with `Retry-After`.

use std::{collections::HashMap, net::IpAddr, sync::Mutex, time::Instant};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};

use crate::{error::ApiError, state::AppState};

/// Buckets kept before idle (full) ones are dropped.
const MAX_TRACKED_CLIENTS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets per client IP.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `per_second` sustained requests with bursts of `burst`; `per_second == 0` turns limiting off.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: per_second as f64,
            burst: burst.max(1) as f64,
            buckets: Mutex::default(),
        }
    }

    /// Takes one token for `ip`, or says how many seconds until one is available.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        if self.per_second == 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().expect("rate limiter lock poisoned");
        if buckets.len() >= MAX_TRACKED_CLIENTS {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Middleware applying the limiter to the peer address.
pub async fn limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let ip = crate::guard::client_ip(&request, &state.core.config.server.trusted_proxies);
    state
        .rate_limiter
        .check(ip, Instant::now())
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use std::{net::Ipv4Addr, time::Duration};

    use super::*;

    #[test]
    fn a_client_over_its_burst_is_told_when_to_retry() {
        let limiter = RateLimiter::new(1, 2);
        let (ip, t0) = (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), Instant::now());
        assert!(limiter.check(ip, t0).is_ok());
        assert!(limiter.check(ip, t0).is_ok());
        assert_eq!(limiter.check(ip, t0), Err(1));
        assert!(limiter.check(ip, t0 + Duration::from_millis(1100)).is_ok());
    }

    #[test]
    fn clients_have_separate_budgets_and_zero_means_unlimited() {
        let limiter = RateLimiter::new(1, 1);
        let t0 = Instant::now();
        assert!(limiter
            .check(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), t0)
            .is_ok());
        assert!(limiter
            .check(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), t0)
            .is_ok());
        let off = RateLimiter::new(0, 1);
        for _ in 0..100 {
            assert!(off.check(IpAddr::V4(Ipv4Addr::LOCALHOST), t0).is_ok());
        }
    }
}
