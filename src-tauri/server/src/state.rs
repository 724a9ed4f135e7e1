//! State shared by every handler.
//!
//! Every middleware layer and every handler clones the state, several times per request: so the
//! state is one `Arc` ([`AppState`] derefs to [`Shared`]). Cloning the [`Core`] itself touches
//! dozens of reference counts (and copies a map), which at 15,000 requests a second on two cores
//! halved the throughput.

use std::{net::SocketAddr, ops::Deref, sync::Arc, time::Instant};

use stablepay_core::Core;

use crate::{
    auth::Keys,
    guard::HostPolicy,
    rate_limit::{Budget, RateLimiter},
    reload::Reload,
    signing::PushSigner,
    socket::SocketLimits,
    system::SystemProbe,
};

/// Handed to handlers with `State<AppState>`; one reference-counted [`Shared`].
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct Shared {
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
    /// What it serves HTTPS with; `None` for plain HTTP.
    pub tls: Option<TlsSummary>,
    /// Signs every message on the display and payment sockets.
    pub signer: Arc<PushSigner>,
    /// When the server started, for uptime.
    pub started: Instant,
    /// CPU, memory and disk readings.
    pub system: Arc<SystemProbe>,
    /// How settings saved in the app reload the server; `None`: read-only settings.
    pub reload: Option<Arc<Reload>>,
}

impl AppState {
    /// State for a core listening on `listen`, with limits from its config.
    pub fn new(
        core: Core,
        listen: SocketAddr,
        tls: Option<TlsSummary>,
        signer: Arc<PushSigner>,
        reload: Option<Arc<Reload>>,
    ) -> Self {
        let server = &core.config.server;
        let rate_limiter = Arc::new(RateLimiter::per_second(
            server.rate_limit_per_second,
            server.rate_limit_burst,
        ));
        let sockets = Arc::new(SocketLimits::new(server.ws_max_per_ip, server.ws_max_total));
        Self(Arc::new(Shared {
            keys: Arc::new(Keys::from_config(
                server,
                core.pairing.clone(),
                core.entropy.clone(),
            )),
            hosts: Arc::new(HostPolicy::new(server)),
            rate_limiter,
            process_budget: Arc::new(crate::rate_limit::process_budget()),
            sockets,
            listen,
            tls,
            signer,
            started: Instant::now(),
            system: Arc::default(),
            reload,
            core,
        }))
    }
}

/// The server's TLS certificate, as Settings shows it.
#[derive(Clone, Debug)]
pub struct TlsSummary {
    /// SHA-256 of the certificate (`AB:CD:…`).
    pub fingerprint: String,
    /// Made by this server (`server.tls_self_signed`), not the shop's own.
    pub self_signed: bool,
}
