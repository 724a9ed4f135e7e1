//! StablePay POS core: the domain of a self-hosted stablecoin checkout. It owns payments (unique
//! exact amounts, lifecycle, expiry), the catalog of networks and tokens, products, the SQLite store,
//! configuration and the payment event stream. It knows nothing of HTTP or windows: the server and
//! the desktop shell call into [`Core`].

pub mod address;
pub mod amount;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod eip681;
pub mod error;
pub mod events;
pub mod payments;
pub mod products;
pub mod qr;
pub mod store;

use std::sync::Arc;

use sqlx::SqlitePool;

pub use error::CoreError;

use crate::{
    catalog::Catalog, clock::Clock, config::Config, events::EventBus, payments::Payments,
    products::Products,
};

/// How many events a slow subscriber may fall behind before it lags and must refetch.
const EVENT_BUFFER: usize = 4096;

/// The running core: everything the server and the shell call.
#[derive(Clone, Debug)]
pub struct Core {
    /// The validated configuration it was started with.
    pub config: Arc<Config>,
    /// The database.
    pub pool: SqlitePool,
    /// Networks and tokens.
    pub catalog: Catalog,
    /// Payments.
    pub payments: Payments,
    /// Products.
    pub products: Products,
    /// Payment events.
    pub events: EventBus,
}

impl Core {
    /// Opens and migrates the database, loads the catalog from the config, and wires the services.
    /// Background work (expiry sweeps) is started by the host with [`Payments::run_expiry`].
    pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<Self, CoreError> {
        let pool = store::open(&config.database.path).await?;
        let catalog = Catalog::from_config(pool.clone(), &config, clock.now()).await?;
        let products = Products::new(pool.clone(), clock.clone());
        let events = EventBus::new(EVENT_BUFFER);
        let payments = Payments::new(
            pool.clone(),
            catalog.clone(),
            products.clone(),
            clock,
            events.clone(),
            config.payments.clone(),
            config.merchant.receive_address,
        );
        Ok(Self {
            config: Arc::new(config),
            pool,
            catalog,
            payments,
            products,
            events,
        })
    }
}
