//! One module per domain concept; each owns its routes and transport DTOs.

pub mod catalog;
pub mod health;
pub mod payments;
pub mod products;
pub mod transfers;
pub mod ws;
