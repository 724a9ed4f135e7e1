//! Integration tests against the real server on 127.0.0.1:0 with a temporary SQLite file.

mod anvil;
mod bad_input;
mod binary;
mod catalog_products;
mod chain;
mod compat;
mod copy;
mod counters;
mod figures;
mod helpers;
mod http;
mod logo;
mod monitoring;
mod pairing;
mod payments;
mod pricing;
mod proxy;
mod receipts;
mod reports;
mod security;
mod settings;
mod settlement;
mod tls;
mod webhooks;
mod ws;
