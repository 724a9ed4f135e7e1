//! One module per domain concept; each owns its routes and transport DTOs.

pub mod catalog;
pub mod compat;
pub mod display;
pub mod health;
pub mod logo;
pub mod metrics;
pub mod pairing;
pub mod payments;
pub mod pricing;
pub mod products;
pub mod receipts;
pub mod refunds;
pub mod reports;
pub mod settings;
pub mod stats;
pub mod tickets;
pub mod transfers;
pub mod webhooks;
pub mod ws;
