//! StablePay POS core: the domain of a self-hosted stablecoin checkout. It owns payments (unique
//! exact amounts, lifecycle, expiry), the catalog of networks and tokens, products, the SQLite store,
//! configuration and the payment event stream. It knows nothing of HTTP or windows: the server and
//! the desktop shell call into [`Core`].

pub mod access;
pub mod address;
pub mod alerts;
pub mod amount;
pub mod cart;
pub mod catalog;
pub mod chain;
pub mod clock;
pub mod compat;
pub mod config;
pub mod counters;
pub mod display;
pub mod eip681;
pub mod entropy;
pub mod error;
pub mod events;
pub mod ip;
pub mod logo;
pub mod pairing;
pub mod payments;
pub mod pricing;
pub mod products;
pub mod progress;
pub mod qr;
pub mod receipts;
pub mod replicas;
pub mod reports;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod transfers;
pub mod trends;
pub mod watching;
pub mod webhooks;

use std::{collections::HashMap, sync::Arc};

use crate::store::Db;

pub use error::CoreError;

use crate::{
    alerts::Alerts,
    catalog::{Catalog, NetworkId},
    chain::RpcChain,
    clock::Clock,
    config::Config,
    display::Display,
    entropy::{Entropy, SystemEntropy},
    events::EventBus,
    logo::ShopLogo,
    pairing::Pairing,
    payments::Payments,
    products::Products,
    progress::ChainProgress,
    stats::Stats,
    store::DatabaseLock,
    telemetry::Telemetry,
    transfers::Transfers,
    webhooks::{RetryPolicy, Webhooks},
};

/// How many events a slow subscriber may fall behind before it lags and must refetch.
const EVENT_BUFFER: usize = 4096;

/// The running core: everything the server and the shell call.
#[derive(Clone, Debug)]
pub struct Core {
    /// The validated configuration it was started with.
    pub config: Arc<Config>,
    /// Payment statistics read from the store.
    pub stats: Stats,
    /// The transfers seen on chain: the inbox and what matched.
    pub transfers: Transfers,
    /// Networks and tokens.
    pub catalog: Catalog,
    /// Payments.
    pub payments: Payments,
    /// Products.
    pub products: Products,
    /// Payment events.
    pub events: EventBus,
    /// JSON-RPC clients of the networks that have endpoints (none connect until used).
    pub chains: HashMap<NetworkId, RpcChain>,
    /// Measured figures for monitoring, alerts and metrics.
    pub telemetry: Telemetry,
    /// The monitoring figures kept over time (the dashboard's charts).
    pub trends: trends::Trends,
    /// The day's close.
    pub reports: reports::Reports,
    /// Receipts, printed or shown.
    pub receipts: receipts::Receipts,
    /// Alert rules and the active alerts (the host runs [`Alerts::run`]).
    pub alerts: Alerts,
    /// Webhook endpoints and the outbox (the host runs [`Webhooks::run`]).
    pub webhooks: Webhooks,
    /// The epusdt protocol's orders (`[compat.epusdt]`).
    pub epusdt: compat::epusdt::Epusdt,
    /// What the customer display shows (the host runs [`Display::run`]).
    pub display: Display,
    /// The shop's logo (on the display's idle screen).
    pub logo: ShopLogo,
    /// Where the chain watchers are on each network.
    pub progress: ChainProgress,
    /// Paired customer displays and pairing codes.
    pub pairing: Pairing,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// The injected randomness (ids, keys, pairing codes).
    pub entropy: Arc<dyn Entropy>,
    /// The store itself stays inside the core: hosts ask the services.
    pool: Db,
    /// The SQLite file's one-server lock; `None` on PostgreSQL, shared by design.
    lock: Option<Arc<DatabaseLock>>,
    /// This server among those sharing its database: who leads the background work.
    pub replica: replicas::Replica,
}

impl Core {
    /// Opens and migrates the database, loads the catalog from the config, and wires the services.
    /// Background work (expiry sweeps) is started by the host with [`Payments::run_expiry`].
    /// A database that cannot be opened, migrated or written at start is reported with its path.
    pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<Self, CoreError> {
        Self::start_with(config, clock, Arc::new(SystemEntropy)).await
    }

    /// [`Core::start`] with its randomness from `entropy` (ids, keys, pairing codes).
    pub async fn start_with(
        config: Config,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self, CoreError> {
        let path = match &config.database.url {
            Some(url) => store::redacted(url),
            None => config.database.path.display().to_string(),
        };
        Self::start_inner(config, clock, entropy)
            .await
            .map_err(|e| match e {
                CoreError::Database(_) | CoreError::Migration(_) => CoreError::Storage {
                    path,
                    reason: e.to_string(),
                },
                other => other,
            })
    }

    async fn start_inner(
        config: Config,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self, CoreError> {
        let (lock, pool) = match &config.database.url {
            Some(url) => (None, store::open_postgres(url).await?),
            None => (
                Some(Arc::new(store::lock(&config.database.path)?)),
                store::open(&config.database.path).await?,
            ),
        };
        let progress = ChainProgress::default();
        let catalog =
            Catalog::from_config(pool.clone(), &config.networks, &config.tokens, clock.now())
                .await?;
        let products = Products::new(pool.clone(), clock.clone(), entropy.clone());
        let telemetry = Telemetry::new(clock.clone());
        let stats = Stats::new(pool.clone());
        let trends = trends::Trends::new(pool.clone());
        let reports = reports::Reports::new(pool.clone());
        let transfers = Transfers::new(pool.clone());
        let alerts = Alerts::new(
            stats.clone(),
            transfers.clone(),
            telemetry.clone(),
            clock.clone(),
            config.alerts.clone(),
        );
        let replica = replicas::Replica::new(
            pool.clone(),
            config.database.url.as_deref(),
            config.server.replica.clone(),
        );
        let events = EventBus::new(EVENT_BUFFER).relayed_by(replica.clone());
        let payments = Payments::new(
            pool.clone(),
            catalog.clone(),
            products.clone(),
            clock.clone(),
            events.clone(),
            config.payments.clone(),
            config.merchant.receive_address,
            progress.clone(),
            entropy.clone(),
            pricing::Pricing::new(config.pricing.clone(), clock.clone()),
        );
        let chains = rpc_chains(&config.networks, &telemetry)?;
        let webhooks = Webhooks::new(
            pool.clone(),
            payments.clone(),
            events.clone(),
            clock.clone(),
            RetryPolicy::default(),
            config.webhook_targets.clone(),
            entropy.clone(),
        );
        webhooks
            .sync_config(
                &config.webhooks,
                config.compat.epusdt.as_ref().map(|e| e.token.as_str()),
            )
            .await?;
        let epusdt = compat::epusdt::Epusdt::new(
            config.compat.epusdt.clone(),
            payments.clone(),
            catalog.clone(),
            pool.clone(),
        );
        let pairing = Pairing::load(pool.clone(), clock.clone(), entropy.clone())
            .await?
            .relayed_by(replica.clone());
        let display = Display::new(
            config.merchant.name.clone(),
            payments.clone(),
            events.clone(),
            clock.clone(),
        )
        .relayed_by(replica.clone());
        let logo = ShopLogo::load(pool.clone(), clock.clone(), display.clone()).await?;
        let receipts = receipts::Receipts::new(
            config.receipts.clone(),
            config.merchant.name.clone(),
            payments.clone(),
            catalog.clone(),
            events.clone(),
        );
        Ok(Self {
            config: Arc::new(config),
            epusdt,
            pool,
            stats,
            transfers,
            catalog,
            payments,
            products,
            events,
            chains,
            display,
            logo,
            webhooks,
            telemetry,
            trends,
            reports,
            receipts,
            alerts,
            progress,
            pairing,
            clock,
            entropy,
            lock,
            replica,
        })
    }

    /// Whether payments are being seen on each configured network, now.
    pub fn watching(&self) -> Vec<watching::NetworkWatch> {
        let links = self.telemetry.links();
        let now = self.clock.now();
        self.config
            .networks
            .iter()
            .map(|n| {
                let endpoints = self
                    .chains
                    .get(&n.id)
                    .map(RpcChain::endpoints)
                    .unwrap_or_default();
                watching::assess(
                    n.id.as_str(),
                    self.config.chain.enabled,
                    links.get(n.id.as_str()),
                    &endpoints,
                    now,
                )
            })
            .collect()
    }

    /// Records in the audit trail that `by` changed the settings `keys`.
    pub async fn audit_settings(&self, keys: &[&str], by: &str) -> Result<(), CoreError> {
        let mut tx = self.pool.begin_write().await?;
        events::record_settings_changed(&mut tx, keys, by, self.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the database answers (for health checks).
    pub async fn database_ok(&self) -> bool {
        store::ping(&self.pool).await.is_ok()
    }

    /// Lets another server open the database (the host calls this once it has stopped).
    pub fn release_database(&self) {
        if let Some(lock) = &self.lock {
            lock.release();
        }
    }

    /// Which database the shop's data is in.
    pub fn backend(&self) -> store::Backend {
        self.pool.backend()
    }
}

/// An RPC client for each network that has node URLs.
fn rpc_chains(
    networks: &[catalog::Network],
    telemetry: &Telemetry,
) -> Result<HashMap<NetworkId, RpcChain>, CoreError> {
    let mut chains = HashMap::new();
    for network in networks.iter().filter(|n| !n.rpc_urls.is_empty()) {
        let rpc = RpcChain::new(
            network.id.as_str(),
            network.chain_id,
            &network.rpc_urls,
            telemetry.clone(),
        )
        .map_err(|e| CoreError::Config(format!("networks.{}.rpc_urls: {e}", network.id)))?;
        chains.insert(network.id.clone(), rpc);
    }
    Ok(chains)
}
