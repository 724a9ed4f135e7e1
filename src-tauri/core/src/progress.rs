//! What the chain watchers know of each network, shared with the payments service: the highest head
//! seen (a new payment's lower bound starts there), and the last block scanned through with its time
//! (a pending payment is expired only once the watcher has looked at the chain past its expiry, so
//! a transfer mined in time is never turned away because the watcher was behind).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Duration, Utc};

use crate::catalog::NetworkId;

/// How long past its expiry a pending payment waits for the watcher to scan that far before it is
/// expired anyway (the chain is unreachable, or its clock is off).
pub const EXPIRY_CHAIN_WAIT: Duration = Duration::seconds(120);

#[derive(Debug, Clone, Default)]
struct NetworkProgress {
    watched: bool,
    head: Option<u64>,
    scanned_through: Option<(u64, DateTime<Utc>)>,
}

/// Shared per-network chain progress; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ChainProgress(Arc<Mutex<HashMap<NetworkId, NetworkProgress>>>);

impl ChainProgress {
    fn with<R>(&self, network: &NetworkId, f: impl FnOnce(&mut NetworkProgress) -> R) -> R {
        let mut all = self.0.lock().expect("progress lock");
        f(all.entry(network.clone()).or_default())
    }

    /// A watcher runs for `network`: expiry waits for it.
    pub fn watch(&self, network: &NetworkId) {
        self.with(network, |p| p.watched = true);
    }

    /// A head of `network` was seen.
    pub fn head_seen(&self, network: &NetworkId, number: u64) {
        self.with(network, |p| {
            p.head = Some(p.head.map_or(number, |h| h.max(number)))
        });
    }

    /// Whether a watcher runs for `network`.
    pub fn is_watched(&self, network: &NetworkId) -> bool {
        self.with(network, |p| p.watched)
    }

    /// The highest head of `network` seen by this process.
    pub fn head(&self, network: &NetworkId) -> Option<u64> {
        self.with(network, |p| p.head)
    }

    /// Every block of `network` up to `number` (mined at `time`) has been scanned.
    pub fn scanned_through(&self, network: &NetworkId, number: u64, time: DateTime<Utc>) {
        self.with(network, |p| {
            if p.scanned_through.is_none_or(|(n, _)| number >= n) {
                p.scanned_through = Some((number, time));
            }
        });
    }

    /// Whether a pending payment of `network` that expires at `expires_at` may be expired at `now`:
    /// its network is not watched, or the watcher has scanned a block mined at or after that time,
    /// or it has waited [`EXPIRY_CHAIN_WAIT`] past it.
    pub fn may_expire(
        &self,
        network: &NetworkId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        if now < expires_at {
            return false;
        }
        self.with(network, |p| {
            !p.watched
                || p.scanned_through.is_some_and(|(_, t)| t >= expires_at)
                || now >= expires_at + EXPIRY_CHAIN_WAIT
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bsc() -> NetworkId {
        NetworkId::parse("bsc").unwrap()
    }

    #[test]
    fn an_unwatched_network_expires_on_the_local_clock() {
        let p = ChainProgress::default();
        let t = Utc::now();
        assert!(!p.may_expire(&bsc(), t, t - Duration::seconds(1)));
        assert!(p.may_expire(&bsc(), t, t));
    }

    #[test]
    fn a_watched_network_expires_once_scanned_past_the_expiry_or_after_the_wait() {
        let p = ChainProgress::default();
        p.watch(&bsc());
        let expires = Utc::now();
        assert!(!p.may_expire(&bsc(), expires, expires + Duration::seconds(5)));
        p.scanned_through(&bsc(), 10, expires - Duration::seconds(1));
        assert!(!p.may_expire(&bsc(), expires, expires + Duration::seconds(5)));
        assert!(p.may_expire(&bsc(), expires, expires + EXPIRY_CHAIN_WAIT));
        p.scanned_through(&bsc(), 11, expires);
        assert!(p.may_expire(&bsc(), expires, expires + Duration::seconds(5)));
    }
}
