//! State shared by every handler.

use std::{sync::Arc, time::Instant};

use stablepay_core::Core;

use crate::{rate_limit::RateLimiter, routes::ws::SocketLimits, system::SystemProbe};

/// Handed to handlers with `State<AppState>`.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The domain core.
    pub core: Core,
    /// Accepted bearer keys (empty = merchant endpoints open, loopback only).
    pub api_keys: Arc<Vec<String>>,
    /// Per-client request budget.
    pub rate_limiter: Arc<RateLimiter>,
    /// Open WebSocket count limits.
    pub sockets: Arc<SocketLimits>,
    /// When the server started, for uptime.
    pub started: Instant,
    /// CPU, memory and disk readings.
    pub system: Arc<SystemProbe>,
}

impl AppState {
    /// State for a core, with limits from its config.
    pub fn new(core: Core) -> Self {
        let server = &core.config.server;
        let rate_limiter = Arc::new(RateLimiter::new(
            server.rate_limit_per_second,
            server.rate_limit_burst,
        ));
        let sockets = Arc::new(SocketLimits::new(server.ws_max_per_ip, server.ws_max_total));
        Self {
            api_keys: Arc::new(server.api_keys.clone()),
            rate_limiter,
            sockets,
            started: Instant::now(),
            system: Arc::default(),
            core,
        }
    }
}
