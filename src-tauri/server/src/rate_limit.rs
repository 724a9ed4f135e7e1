//! Rate limits, with `governor` (a generic cell rate algorithm, keyed):
//!
//! - per client IP on every request (the proxy's client when the peer is a trusted proxy, see
//!   [`crate::guard::client_ip`]); over budget → 429 with `Retry-After`;
//! - per payment on the manual check (`/process` asks the chain each time: a stranger must not be
//!   able to make the shop's RPC endpoints rate-limit it by hammering one payment).

use std::{hash::Hash, net::IpAddr, num::NonZeroU32};

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use governor::{
    clock::{Clock, DefaultClock},
    DefaultKeyedRateLimiter, Quota,
};

use crate::{error::ApiError, state::AppState};

/// Keys tracked before the idle ones are forgotten.
const MAX_TRACKED: usize = 10_000;
/// Manual checks per payment: a burst of this many, then one every 6 s (10 a minute).
const PROCESS_BURST: u32 = 10;

/// A keyed budget: `per_second` sustained with bursts of `burst`; off when `per_second` is 0.
#[derive(Debug)]
pub struct Budget<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
}

impl<K: Hash + Eq + Clone> Budget<K> {
    fn with(quota: Option<Quota>) -> Self {
        Self {
            limiter: quota.map(DefaultKeyedRateLimiter::keyed),
        }
    }

    /// `per_second` sustained requests with bursts of `burst`; `per_second == 0` turns it off.
    pub fn per_second(per_second: u32, burst: u32) -> Self {
        Self::with(NonZeroU32::new(per_second).map(|rate| {
            Quota::per_second(rate).allow_burst(NonZeroU32::new(burst.max(1)).expect("at least 1"))
        }))
    }

    /// Takes one unit for `key`, or says how many seconds until one is available.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > MAX_TRACKED {
            limiter.retain_recent();
        }
        limiter.check_key(key).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs_f64()
                .ceil()
                .max(1.0) as u64
        })
    }
}

/// The per-client request budget.
pub type RateLimiter = Budget<IpAddr>;

/// The per-payment manual check budget.
pub fn process_budget() -> Budget<String> {
    Budget::with(Some(
        Quota::per_minute(NonZeroU32::new(PROCESS_BURST).expect("non-zero"))
            .allow_burst(NonZeroU32::new(PROCESS_BURST).expect("non-zero")),
    ))
}

/// Middleware applying the per-client budget.
pub async fn limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let ip = crate::guard::client_ip(&request, &state.core.config.server.trusted_proxies);
    state
        .rate_limiter
        .check(&ip)
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn a_client_over_its_burst_is_told_when_to_retry() {
        let limiter = RateLimiter::per_second(1, 2);
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        assert!(limiter.check(&ip).is_ok());
        assert!(limiter.check(&ip).is_ok());
        assert_eq!(limiter.check(&ip), Err(1));
    }

    #[test]
    fn clients_have_separate_budgets_and_zero_means_unlimited() {
        let limiter = RateLimiter::per_second(1, 1);
        assert!(limiter
            .check(&IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
            .is_ok());
        assert!(limiter
            .check(&IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)))
            .is_ok());
        let off = RateLimiter::per_second(0, 1);
        for _ in 0..100 {
            assert!(off.check(&IpAddr::V4(Ipv4Addr::LOCALHOST)).is_ok());
        }
    }

    #[test]
    fn a_payment_takes_ten_manual_checks_then_waits() {
        let budget = process_budget();
        let id = "pay_0".to_string();
        for _ in 0..10 {
            assert!(budget.check(&id).is_ok());
        }
        assert!(budget.check(&id).unwrap_err() >= 1);
        assert!(budget.check(&"pay_1".to_string()).is_ok());
    }
}
