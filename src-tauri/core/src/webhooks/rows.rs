//! The webhook tables' rows, read back into [`Endpoint`] and [`Delivery`]; a corrupt one is an error.

use std::time::Duration;

use sqlx::Row;

use super::{Delivery, Endpoint};
use crate::{clock::from_millis, error::CoreError, events::EventType};

/// Where an outbox row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Given up after the retry window.
    Failed,
}

impl DeliveryStatus {
    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status spelled `s`.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            _ => Err(CoreError::field("status", "pending, delivered or failed")),
        }
    }
}

pub(super) fn corrupt(what: &str, value: &str) -> CoreError {
    CoreError::Corrupt(format!("{what} {value:?}"))
}

pub(super) fn map_endpoint(row: &crate::store::DbRow) -> Result<Endpoint, CoreError> {
    let events: String = row.try_get("events")?;
    let events: Vec<EventType> =
        serde_json::from_str(&events).map_err(|_| corrupt("webhook endpoint events", &events))?;
    Ok(Endpoint {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        events,
        source: row.try_get("source")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: from_millis(row.try_get("created_at")?),
    })
}

pub(super) fn map_delivery(row: &crate::store::DbRow) -> Result<Delivery, CoreError> {
    let event_type: String = row.try_get("event_type")?;
    let status: String = row.try_get("status")?;
    Ok(Delivery {
        id: row.try_get("seq")?,
        event_id: format!("evt_{}", row.try_get::<i64, _>("event_seq")?),
        event_type: EventType::parse(&event_type)
            .ok_or_else(|| corrupt("delivery event type", &event_type))?,
        endpoint_id: row.try_get("endpoint_id")?,
        endpoint_url: row.try_get("url")?,
        endpoint_source: row.try_get("source")?,
        epusdt: row.try_get::<i64, _>("epusdt")? != 0,
        status: DeliveryStatus::parse(&status).map_err(|_| corrupt("delivery status", &status))?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        last_status_code: row
            .try_get::<Option<i64>, _>("last_status_code")?
            .map(|c| c as u16),
        last_error: row.try_get("last_error")?,
        next_attempt_at: from_millis(row.try_get("next_attempt_at")?),
        delivered_at: row
            .try_get::<Option<i64>, _>("delivered_at")?
            .map(from_millis),
        created_at: from_millis(row.try_get("created_at")?),
    })
}

/// How long the feeder lets a burst of events gather before one pass queues them all.
pub(super) const FEED_COALESCE: Duration = Duration::from_millis(50);

pub(super) const DELIVERY_SELECT: &str =
    "SELECT d.*, COALESCE(d.target_url, e.url) AS url, CASE WHEN e.url = 'epusdt:notify_url' THEN 1 ELSE 0 END AS epusdt, e.source
     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id";
