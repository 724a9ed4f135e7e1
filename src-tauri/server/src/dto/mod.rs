//! Transport DTOs: the JSON the API and the sockets speak, and how core types become it. Route
//! modules and sockets share these; they never import each other.

pub mod catalog;
pub mod display;
pub mod logo;
pub mod payments;
pub mod pricing;
pub mod receipts;
pub mod refunds;
pub mod reports;
pub mod settings;
pub mod stats;

use chrono::{DateTime, SecondsFormat, Utc};

/// RFC 3339 UTC with seconds, as every timestamp in the API is written.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
