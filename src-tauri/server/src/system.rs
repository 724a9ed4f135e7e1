//! Machine figures for `GET /api/v1/stats/system`, read with sysinfo. CPU use is measured between
//! two reads, so the probe keeps its `System` and reports the use since the previous request
//! (or since start).

use std::{
    path::Path,
    time::{Duration, Instant},
};

use sysinfo::{Disks, System};
use tokio::sync::Mutex;

/// What the machine is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MachineSample {
    /// CPU use of the whole machine, percent.
    pub cpu_percent: f64,
    /// Memory in use, percent.
    pub memory_percent: f64,
    /// Use of the disk holding `path`, percent.
    pub disk_percent: f64,
}

/// Keeps the state sysinfo needs between reads.
#[derive(Debug)]
pub struct SystemProbe {
    inner: Mutex<(System, Instant, f64)>,
}

impl Default for SystemProbe {
    fn default() -> Self {
        let mut system = System::new();
        system.refresh_cpu_usage();
        Self {
            inner: Mutex::new((system, Instant::now(), 0.0)),
        }
    }
}

impl SystemProbe {
    /// Reads CPU, memory and the disk holding `path` now.
    pub async fn sample(&self, path: &Path) -> MachineSample {
        let mut guard = self.inner.lock().await;
        let (system, last, cpu) = &mut *guard;
        // sysinfo needs some time between two CPU reads; closer reads reuse the last figure.
        if last.elapsed() >= sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.max(Duration::from_millis(200)) {
            system.refresh_cpu_usage();
            *cpu = f64::from(system.global_cpu_usage());
            *last = Instant::now();
        }
        system.refresh_memory();
        let memory_percent = match system.total_memory() {
            0 => 0.0,
            total => system.used_memory() as f64 * 100.0 / total as f64,
        };
        let cpu_percent = *cpu;
        drop(guard);
        MachineSample {
            cpu_percent,
            memory_percent,
            disk_percent: disk_percent(path),
        }
    }
}

/// Use of the mounted disk with the longest mount point that contains `path`.
fn disk_percent(path: &Path) -> f64 {
    let path = std::fs::canonicalize(path)
        .or_else(|_| std::env::current_dir())
        .unwrap_or_default();
    let disks = Disks::new_with_refreshed_list();
    disks
        .list()
        .iter()
        .filter(|d| path.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map_or(0.0, |d| match d.total_space() {
            0 => 0.0,
            total => (total - d.available_space()) as f64 * 100.0 / total as f64,
        })
}
