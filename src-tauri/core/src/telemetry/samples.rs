//! Bounded measurement windows: the last N samples of a duration (for averages and percentiles) and
//! a cumulative histogram (for Prometheus). Both are cheap to record from hot paths.

use std::{collections::VecDeque, sync::Mutex, time::Duration};

/// The most recent `capacity` durations, with a flag each (e.g. "was an error").
#[derive(Debug)]
pub struct Window {
    capacity: usize,
    samples: Mutex<VecDeque<(f64, bool)>>,
}

/// Figures over a [`Window`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowSummary {
    /// Samples in the window.
    pub count: usize,
    /// Mean, in milliseconds (0 when empty).
    pub mean_ms: f64,
    /// Median, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile, in milliseconds.
    pub p95_ms: f64,
    /// 99th percentile, in milliseconds.
    pub p99_ms: f64,
    /// Share of flagged samples, in percent.
    pub flagged_percent: f64,
}

impl Window {
    /// A window keeping the last `capacity` samples.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            samples: Mutex::new(VecDeque::with_capacity(capacity)),
        }
    }

    /// Adds one sample.
    pub fn record(&self, took: Duration, flagged: bool) {
        let mut samples = self.samples.lock().expect("lock");
        if samples.len() == self.capacity {
            samples.pop_front();
        }
        samples.push_back((took.as_secs_f64() * 1000.0, flagged));
    }

    /// Mean, percentiles and flagged share of what the window holds.
    pub fn summary(&self) -> WindowSummary {
        let samples = self.samples.lock().expect("lock");
        let count = samples.len();
        if count == 0 {
            return WindowSummary::default();
        }
        let mut ms: Vec<f64> = samples.iter().map(|s| s.0).collect();
        let flagged = samples.iter().filter(|s| s.1).count();
        drop(samples);
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((count as f64 - 1.0) * q).round() as usize];
        WindowSummary {
            count,
            mean_ms: ms.iter().sum::<f64>() / count as f64,
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            flagged_percent: flagged as f64 * 100.0 / count as f64,
        }
    }
}

/// Upper bounds (seconds) of the push-latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0];

/// A cumulative histogram over [`LATENCY_BUCKETS`], as Prometheus wants it.
#[derive(Debug, Default)]
pub struct Histogram {
    inner: Mutex<HistogramData>,
}

/// A histogram's counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramData {
    /// Observations at or below each bound of [`LATENCY_BUCKETS`] (cumulative).
    pub buckets: [u64; LATENCY_BUCKETS.len()],
    /// All observations.
    pub count: u64,
    /// Sum of all observations, in seconds.
    pub sum: f64,
}

impl Histogram {
    /// Adds one observation.
    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let mut h = self.inner.lock().expect("lock");
        for (bound, n) in LATENCY_BUCKETS.iter().zip(h.buckets.iter_mut()) {
            if secs <= *bound {
                *n += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// The counts so far.
    pub fn snapshot(&self) -> HistogramData {
        self.inner.lock().expect("lock").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_keeps_only_the_newest_samples_and_summarises_them() {
        let w = Window::new(3);
        for ms in [1000, 10, 20, 30] {
            w.record(Duration::from_millis(ms), ms == 30);
        }
        let s = w.summary();
        assert_eq!(s.count, 3);
        assert!((s.mean_ms - 20.0).abs() < 1e-9);
        assert!((s.p50_ms - 20.0).abs() < 1e-9);
        assert!((s.p99_ms - 30.0).abs() < 1e-9);
        assert!((s.flagged_percent - 100.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn an_empty_window_summarises_to_zeros() {
        assert_eq!(Window::new(4).summary(), WindowSummary::default());
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(70));
        let d = h.snapshot();
        assert_eq!(d.count, 2);
        assert_eq!(d.buckets[0], 1); // ≤ 5 ms
        assert_eq!(d.buckets[4], 2); // ≤ 100 ms
        assert!((d.sum - 0.073).abs() < 1e-9);
    }
}
