//! Payments through the REST API: unique amounts, creation, reading and the store underneath.

mod amounts;
mod creation;
mod reading;
mod store;
