//! `[alerts]`: the thresholds the monitoring alerts fire at (the dashboard's threshold editor
//! writes them here, through Settings).

use std::time::Duration;

use super::{bad, section};
use crate::{alerts::AlertRules, error::CoreError};

section! {
    /// `[alerts]` as written.
    struct RawAlerts {
        min_success_rate: f64 = 80.0,
        max_error_rate: f64 = 5.0,
        max_api_p95_ms: f64 = 1000.0,
        max_push_latency_ms: f64 = 10_000.0,
        max_blocks_behind: u64 = 20,
        disconnected_after_seconds: u64 = 30,
    }
}

impl TryFrom<RawAlerts> for AlertRules {
    type Error = CoreError;

    fn try_from(a: RawAlerts) -> Result<Self, CoreError> {
        let percent = |key: &str, v: f64| {
            if (0.0..=100.0).contains(&v) {
                Ok(v)
            } else {
                Err(bad(key, "must be a percentage between 0 and 100"))
            }
        };
        let positive = |key: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(bad(key, "must be more than 0"))
            }
        };
        if !(5..=86_400).contains(&a.disconnected_after_seconds) {
            return Err(bad(
                "alerts.disconnected_after_seconds",
                "must be between 5 and 86400",
            ));
        }
        Ok(AlertRules {
            min_success_rate: percent("alerts.min_success_rate", a.min_success_rate)?,
            max_error_rate: percent("alerts.max_error_rate", a.max_error_rate)?,
            max_api_p95_ms: positive("alerts.max_api_p95_ms", a.max_api_p95_ms)?,
            max_push_latency_ms: positive("alerts.max_push_latency_ms", a.max_push_latency_ms)?,
            max_blocks_behind: a.max_blocks_behind,
            disconnected_after: Duration::from_secs(a.disconnected_after_seconds),
            ..AlertRules::default()
        })
    }
}
