//! StablePay POS server: exposes the core over REST (`/api/v1`), serves the OpenAPI document and
//! Swagger UI, and runs headless as `stablepay-server` or in-process inside the desktop shell.
//! It owns HTTP concerns only — routing, DTOs, API keys, rate limits, CORS, compression, body
//! limits — and maps the core's errors to stable HTTP error bodies.

pub mod auth;
pub mod dto;
pub mod error;
pub mod extract;
pub mod guard;
pub mod lan;
pub mod language;
pub mod listener;
pub mod openapi;
pub mod protocol;
pub mod rate_limit;
pub mod reload;
pub mod routes;
pub mod signing;
pub mod socket;
pub mod state;
pub mod system;
pub mod tls;
mod trends;
pub mod ui;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::DefaultBodyLimit,
    http::{header, HeaderName, HeaderValue, Method},
    middleware,
    routing::get,
    Router,
};
use stablepay_core::{
    chain::watcher::{self, WatcherHandle},
    clock::Clock,
    config::Config,
    replicas::Relayed,
    webhooks::PaymentRenderer,
    Core, CoreError,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tower_http::{compression::CompressionLayer, cors::CorsLayer, trace::TraceLayer};

use crate::error::ApiError;
pub use crate::state::AppState;

/// The log filter of both binaries: `RUST_LOG` (default `info,tower_http=warn,sqlx=warn`), except
/// that the HTTP and WebSocket clients under the chain watcher never log below `info`: their debug
/// spans carry the whole endpoint URL, and a provider's key with it.
pub fn log_filter() -> tracing_subscriber::EnvFilter {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into());
    [
        "alloy_transport_http",
        "alloy_transport_ws",
        "alloy_pubsub",
        "reqwest",
        "hyper_util",
    ]
    .into_iter()
    .fold(filter, |f, target| {
        f.add_directive(format!("{target}=info").parse().expect("a valid directive"))
    })
}

/// How often open payments past their expiry are swept.
const EXPIRY_SWEEP: Duration = Duration::from_secs(1);
/// How often alert rules are evaluated.
const ALERT_EVALUATION: Duration = Duration::from_secs(5);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Bad config, unreadable database, failed migration.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The listen address is taken or not allowed.
    #[error("cannot listen on {addr}: {source} (is another StablePay server running? change server.bind)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The certificate or key for HTTPS cannot be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The key that signs socket messages cannot be read or made.
    #[error(transparent)]
    Signer(#[from] signing::SignerError),
}

impl StartError {
    /// Stable code for the desktop shell's start-up screen.
    pub fn code(&self) -> &'static str {
        match self {
            StartError::Core(e) => e.code(),
            StartError::Bind { .. } => "bind_failed",
            StartError::Tls(_) => "tls_failed",
            StartError::Signer(_) => "signing_key_failed",
        }
    }
}

/// The whole HTTP app for a state.
pub fn router(state: AppState) -> Router {
    let server = &state.core.config.server;
    let api = Router::new()
        .merge(routes::payments::router())
        .merge(routes::catalog::router())
        .merge(routes::pricing::router())
        .merge(routes::receipts::router())
        .merge(routes::refunds::router())
        .merge(routes::compat::router())
        .merge(routes::reports::router())
        .merge(routes::products::router())
        .merge(routes::transfers::router())
        .merge(routes::stats::router())
        .merge(routes::display::router())
        .merge(routes::logo::router())
        .merge(routes::webhooks::router())
        .merge(routes::settings::router())
        .merge(routes::tickets::router())
        .merge(routes::pairing::router());
    let mut app = Router::new()
        .route("/health", get(routes::health::health))
        .nest("/api/v1", api)
        .merge(openapi::router())
        .merge(routes::ws::router())
        .merge(routes::display::socket_router())
        .merge(routes::stats::socket_router())
        .merge(routes::metrics::router())
        .merge(routes::compat::pages())
        .fallback_service(ui::service(server.ui_dir.as_deref()))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::identify,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), guard::check))
        .layer(DefaultBodyLimit::max(server.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            server.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), time_request))
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn(language::scope))
        .layer(TraceLayer::new_for_http());
    if !server.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = server
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("idempotency-key"),
                ])
                .max_age(Duration::from_secs(600)),
        );
    }
    app.with_state(state)
}

/// Records every answered request's time and status in the telemetry (API response time and
/// error rate). WebSocket upgrades are not counted: their lifetime is not a response time.
async fn time_request(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let upgrade = request.headers().contains_key(header::UPGRADE);
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    if !upgrade {
        state
            .core
            .telemetry
            .api_response(started.elapsed(), response.status().as_u16());
    }
    response
}

/// What a self-signed certificate is made for: the configured names, the bind address, this
/// computer's host name and LAN address.
fn certificate_names(server: &stablepay_core::config::ServerConfig) -> Vec<String> {
    let mut names = server.allowed_hosts.clone();
    if let Some(host) = guard::url_host(&server.public_url) {
        names.push(host);
    }
    names.push(server.bind.ip().to_string());
    names.extend(lan::host_names());
    names.extend(lan::address().map(|ip| ip.to_string()));
    names
}

/// A server running in the background of this process.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (the real port when bound to port 0).
    pub addr: SocketAddr,
    /// SHA-256 fingerprint of its TLS certificate; `None` when it speaks plain HTTP.
    pub tls_fingerprint: Option<String>,
    /// The public half of the key that signs socket messages (Ed25519, hex).
    pub push_key: String,
    /// The core it serves, for in-process callers (the desktop shell).
    pub core: Core,
    shutdown: Option<oneshot::Sender<()>>,
    serve: JoinHandle<std::io::Result<TcpListener>>,
    display: JoinHandle<()>,
    alerts: JoinHandle<()>,
    pricing: JoinHandle<()>,
    /// Holding or waiting for the leadership, and the relay to the other servers on the database.
    leadership: JoinHandle<()>,
    relay: JoinHandle<()>,
    /// The leader's work while this server leads (see [`lead`]).
    leading: JoinHandle<()>,
}

/// What only the leading server runs (one per database; on SQLite, the one server): stopped when
/// dropped.
struct LeaderWork {
    tasks: Vec<JoinHandle<()>>,
    _watchers: Vec<WatcherHandle>,
}

impl Drop for LeaderWork {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl LeaderWork {
    /// The expiry sweep, the webhook outbox, automatic receipts, the trend sampler, the watchers.
    async fn start(state: &AppState, render: &PaymentRenderer) -> Self {
        let core = &state.core;
        let tasks = vec![
            tokio::spawn(core.payments.clone().run_expiry(EXPIRY_SWEEP)),
            tokio::spawn(core.webhooks.clone().run(render.clone())),
            tokio::spawn(core.receipts.clone().run()),
            tokio::spawn(trends::run(state.clone())),
        ];
        let watchers = if core.config.chain.enabled {
            watcher::spawn_all(core).await
        } else {
            vec![]
        };
        Self {
            tasks,
            _watchers: watchers,
        }
    }
}

/// Runs the leader's work whenever this server leads, and stops it when it no longer does.
async fn lead(state: AppState, render: PaymentRenderer) {
    let mut leading = state.core.replica.leadership();
    loop {
        while !*leading.borrow_and_update() {
            if leading.changed().await.is_err() {
                return;
            }
        }
        let work = LeaderWork::start(&state, &render).await;
        tracing::debug!(replica = %state.core.replica.name(), "leading: background work started");
        while *leading.borrow_and_update() {
            if leading.changed().await.is_err() {
                return;
            }
        }
        tracing::warn!(replica = %state.core.replica.name(), "no longer leading: background work stopped");
        drop(work);
    }
}

impl RunningServer {
    /// Stops accepting, finishes in-flight requests, and stops background work.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.serve).await;
        self.stop_background();
        self.core.release_database();
    }

    fn stop_background(&self) {
        self.leading.abort();
        self.leadership.abort();
        self.relay.abort();
        self.display.abort();
        self.alerts.abort();
        self.pricing.abort();
    }

    /// [`Self::shutdown`], handing back the still-bound listener (for a reload in place).
    pub(crate) async fn shutdown_keeping_listener(mut self) -> Option<TcpListener> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let listener = (&mut self.serve).await.ok().and_then(Result::ok);
        self.stop_background();
        self.core.release_database();
        listener
    }

    /// Runs until the server stops by itself (it only does on an I/O error).
    pub async fn wait(mut self) -> std::io::Result<()> {
        let result = (&mut self.serve)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
            .map(drop);
        self.stop_background();
        self.core.release_database();
        result
    }
}

/// Checks the exposure rule, starts the core on the configured database, binds and serves.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<RunningServer, StartError> {
    start_with(config, clock, None, None).await
}

/// [`start`], with the supervisor's way to reload (see [`reload`]) and, on a reload, the listener
/// the previous server kept bound.
pub(crate) async fn start_with(
    config: Config,
    clock: Arc<dyn Clock>,
    reload: Option<Arc<reload::Reload>>,
    kept: Option<TcpListener>,
) -> Result<RunningServer, StartError> {
    config.server.check_exposure()?;
    let bind = config.server.bind;
    let core = Core::start(config, clock).await?;
    // Kept beside the database, after Core::start has taken its lock: one server makes them.
    let data_dir = core.config.database.data_dir();
    let identity = tls::identity(
        &core.config.server.tls,
        &data_dir,
        &certificate_names(&core.config.server),
        core.clock.now(),
    )?;
    let signer = Arc::new(signing::PushSigner::load_or_create(&data_dir)?);
    let listener = match kept {
        Some(listener) => listener,
        None => TcpListener::bind(bind)
            .await
            .map_err(|source| StartError::Bind { addr: bind, source })?,
    };
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr: bind, source })?;
    let display = tokio::spawn(core.display.clone().run());
    let alerts = tokio::spawn(core.alerts.clone().run(ALERT_EVALUATION));
    let render: PaymentRenderer = Arc::new(|p| {
        serde_json::to_value(dto::payments::PaymentResponse::from(p)).unwrap_or_default()
    });
    let symbols = core.catalog.symbols().await;
    let pricing = tokio::spawn(core.payments.pricing().clone().run(symbols));
    let leadership = tokio::spawn(core.replica.clone().run_leadership(core.clock.clone()));
    let relay = tokio::spawn(core.replica.clone().run_relay(Relayed {
        events: core.events.clone(),
        payments: core.payments.clone(),
        display: core.display.clone(),
        pairing: core.pairing.clone(),
    }));
    let tls_summary = identity.as_ref().map(|i| state::TlsSummary {
        fingerprint: i.fingerprint.clone(),
        self_signed: i.self_signed,
    });
    let push_key = signer.public_key().to_string();
    let state = AppState::new(core.clone(), addr, tls_summary, signer, reload);
    let leading = tokio::spawn(lead(state.clone(), render));
    let app = router(state);
    let (tx, rx) = oneshot::channel::<()>();
    let limits = listener::Limits {
        max_connections: core.config.server.max_connections,
        header_read_timeout: core.config.server.header_read_timeout,
    };
    let tls_fingerprint = identity.as_ref().map(|i| i.fingerprint.clone());
    let acceptor = identity.map(|i| i.acceptor);
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let serve = tokio::spawn(async move {
        listener::serve(listener, app, limits, acceptor, async {
            let _ = rx.await;
        })
        .await
    });
    match &tls_fingerprint {
        Some(fingerprint) => tracing::info!(
            %addr,
            %fingerprint,
            "StablePay server listening on https:// (and plain http:// from this computer only); \
             check this SHA-256 fingerprint where a browser shows the certificate"
        ),
        None => tracing::info!(%addr, "StablePay server listening on {scheme}://"),
    }
    Ok(RunningServer {
        addr,
        tls_fingerprint,
        push_key,
        core,
        shutdown: Some(tx),
        serve,
        display,
        alerts,
        pricing,
        leadership,
        relay,
        leading,
    })
}
