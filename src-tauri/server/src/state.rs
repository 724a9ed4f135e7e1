//! State shared by every handler.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use stablepay_core::Core;

use crate::{
    auth::Keys,
    guard::HostPolicy,
    rate_limit::{Budget, RateLimiter},
    routes::ws::SocketLimits,
    system::SystemProbe,
};

/// Handed to handlers with `State<AppState>`.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The domain core.
    pub core: Core,
    /// Accepted keys, the desktop session token and socket tickets.
    pub keys: Arc<Keys>,
    /// The hosts and origins this server answers.
    pub hosts: Arc<HostPolicy>,
    /// Per-client request budget.
    pub rate_limiter: Arc<RateLimiter>,
    /// Per-payment manual check budget.
    pub process_budget: Arc<Budget<String>>,
    /// Open WebSocket count limits.
    pub sockets: Arc<SocketLimits>,
    /// The address it listens on.
    pub listen: SocketAddr,
    /// Whether it serves HTTPS.
    pub tls: bool,
    /// When the server started, for uptime.
    pub started: Instant,
    /// CPU, memory and disk readings.
    pub system: Arc<SystemProbe>,
}

impl AppState {
    /// State for a core listening on `listen`, with limits from its config.
    pub fn new(core: Core, listen: SocketAddr) -> Self {
        let server = &core.config.server;
        let rate_limiter = Arc::new(RateLimiter::per_second(
            server.rate_limit_per_second,
            server.rate_limit_burst,
        ));
        let sockets = Arc::new(SocketLimits::new(server.ws_max_per_ip, server.ws_max_total));
        Self {
            keys: Arc::new(Keys::from_config(server, core.pairing.clone())),
            hosts: Arc::new(HostPolicy::new(server)),
            rate_limiter,
            process_budget: Arc::new(crate::rate_limit::process_budget()),
            sockets,
            listen,
            tls: false,
            started: Instant::now(),
            system: Arc::default(),
            core,
        }
    }
}
