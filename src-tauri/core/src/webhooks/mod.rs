//! Webhooks (SPEC §13): signed POSTs to the integrator's endpoints for `payment.confirming`,
//! `payment.paid`, `payment.expired`, `payment.cancelled` and `transfer.unmatched`.
//!
//! Nothing acknowledged is lost: every status change is already a row of the `events` table,
//! written in the same transaction as the change. The *feeder* turns new event rows into outbox rows
//! (`webhook_deliveries`, one per event and subscribed endpoint, body frozen) and advances a
//! persisted cursor in one transaction; the *sender* POSTs due rows and records the outcome. A crash
//! at any point repeats at most a POST, never skips one (receivers de-duplicate on the event id).
//!
//! Delivery: `POST <url>` with `content-type: application/json`, `StablePay-Event-Id: evt_<n>`,
//! `StablePay-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (re-signed on each
//! attempt). A 2xx answer within 10 s delivers it. Otherwise it is retried after 10 s, 20 s, 40 s …
//! (doubling, at most 6 h apart) until 3 days after it was queued, then marked `failed`; any delivery
//! can be sent again by hand (redeliver).
//!
//! Targets: an endpoint added through the API must resolve to public addresses only, checked when it
//! is added and at every delivery, which goes to the address checked ([`target`]); at most
//! [`MAX_ENDPOINTS`] endpoints. A failed attempt is recorded in plain words without socket detail
//! (the delivery log must not become a port scanner).
//!
//! Body: `{"id":"evt_<n>","type":"payment.paid","created_at":"<RFC 3339>","data":{"payment":{…}}}`
//! (the payment as the REST API showed it when the event happened: the audit trail keeps a snapshot
//! with each event, so a `payment.confirming` queued after the payment was paid still says
//! `confirming`), or `"data":{"transfer":{…}}`.

mod outbox;
mod rows;
mod send;
pub mod sign;
pub mod target;

use rows::map_endpoint;
pub use rows::DeliveryStatus;

use std::{sync::Arc, time::Duration};

use crate::store::Db;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::Row;
use tokio::sync::Notify;

use crate::{
    clock::{to_millis, Clock},
    config::WebhookConfig,
    entropy::Entropy,
    error::CoreError,
    events::{EventBus, EventType},
    payments::{Payment, Payments},
};

/// Most webhook endpoints (in the file and added through the API together).
pub const MAX_ENDPOINTS: usize = 20;

/// Renders a payment as the REST API shows it (the server supplies it; the core knows no DTOs).
pub type PaymentRenderer = Arc<dyn Fn(&Payment) -> Value + Send + Sync>;

/// When deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Wait after the first failure; doubles after each further one.
    pub base: Duration,
    /// Longest wait between two attempts.
    pub cap: Duration,
    /// A delivery still failing this long after it was queued is marked `failed`.
    pub give_up_after: Duration,
    /// How long a receiver may take to answer.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(6 * 3600),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
            timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt (1-based).
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// A receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `whk_` + 24 hex digits.
    pub id: String,
    /// Where to POST.
    pub url: String,
    /// HMAC secret.
    pub secret: String,
    /// Subscribed event types.
    pub events: Vec<EventType>,
    /// `config` (from `[[webhooks]]`, managed in the file) or `api`.
    pub source: String,
    /// Receives deliveries.
    pub enabled: bool,
    /// When added.
    pub created_at: DateTime<Utc>,
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Row id.
    pub id: i64,
    /// `evt_<n>`, the same for every endpoint and attempt.
    pub event_id: String,
    /// Event type.
    pub event_type: EventType,
    /// The endpoint.
    pub endpoint_id: String,
    /// Its URL.
    pub endpoint_url: String,
    /// Its source: `config` (the owner's file) or `api`.
    pub endpoint_source: String,
    /// An epusdt order's callback (to the order's `notify_url`, delivered once it answers `ok`).
    pub epusdt: bool,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// HTTP status of the last attempt, if it got one.
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// Endpoints, the outbox and its sender.
#[derive(Clone)]
pub struct Webhooks {
    pool: Db,
    payments: Payments,
    clock: Arc<dyn Clock>,
    events: EventBus,
    policy: RetryPolicy,
    targets: target::TargetPolicy,
    entropy: Arc<dyn Entropy>,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

pub(super) fn new_endpoint_id(entropy: &dyn Entropy) -> String {
    crate::entropy::hex_id::<12>("whk_", entropy)
}

/// Validates an endpoint's fields; `events` empty means all.
pub(super) fn check_endpoint(
    url: &str,
    secret: &str,
    events: &[String],
) -> Result<Vec<EventType>, CoreError> {
    let is_http = ["http://", "https://"].iter().any(|s| {
        url.strip_prefix(s)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
    });
    if !is_http || url.len() > 2000 {
        return Err(CoreError::field("url", "an http:// or https:// URL"));
    }
    if secret.len() < 16 || secret.len() > 200 {
        return Err(CoreError::field("secret", "between 16 and 200 characters"));
    }
    let events = events
        .iter()
        .map(|e| EventType::subscription(e))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CoreError::field("events", e))?;
    Ok(if events.is_empty() {
        EventType::subscribable()
    } else {
        events
    })
}

impl Webhooks {
    /// The service over `pool`; call [`Webhooks::sync_config`] before serving.
    pub fn new(
        pool: Db,
        payments: Payments,
        events: EventBus,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
        targets: target::TargetPolicy,
        entropy: Arc<dyn Entropy>,
    ) -> Self {
        Self {
            pool,
            payments,
            clock,
            events,
            policy,
            targets,
            entropy,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Makes the `[[webhooks]]` of the config the `config` endpoints (added, updated, or disabled
    /// when gone from the file), and starts the feeder's cursor at the current end of the events
    /// table on a first start, so history is not replayed.
    /// With `epusdt_token`, the endpoint standing for every epusdt order's own `notify_url` is
    /// enabled too (its secret is the token callbacks are signed with).
    pub async fn sync_config(
        &self,
        configured: &[WebhookConfig],
        epusdt_token: Option<&str>,
    ) -> Result<(), CoreError> {
        let mut tx = crate::store::begin_write(&self.pool).await?;
        sqlx::query("INSERT INTO webhook_cursor (id, event_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events WHERE true ON CONFLICT DO NOTHING")
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE webhook_endpoints SET enabled = 0 WHERE source = 'config'")
            .execute(&mut *tx)
            .await?;
        for w in configured {
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, url, secret, events, source, enabled, created_at) VALUES ($1, $2, $3, $4, 'config', 1, $5)
                 ON CONFLICT (url) WHERE source = 'config' DO UPDATE SET secret = excluded.secret, events = excluded.events, enabled = 1",
            )
            .bind(new_endpoint_id(self.entropy.as_ref()))
            .bind(&w.url)
            .bind(&w.secret)
            .bind(json!(w.events).to_string())
            .bind(to_millis(self.clock.now()))
            .execute(&mut *tx)
            .await?;
        }
        if let Some(token) = epusdt_token {
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, url, secret, events, source, enabled, created_at) VALUES ($1, $2, $3, $4, 'config', 1, $5)
                 ON CONFLICT (url) WHERE source = 'config' DO UPDATE SET secret = excluded.secret, events = excluded.events, enabled = 1",
            )
            .bind(new_endpoint_id(self.entropy.as_ref()))
            .bind(crate::compat::epusdt::CALLBACKS_ENDPOINT)
            .bind(token)
            .bind(json!([EventType::PaymentPaid, EventType::PaymentExpired]).to_string())
            .bind(to_millis(self.clock.now()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every endpoint, oldest first.
    pub async fn endpoints(&self) -> Result<Vec<Endpoint>, CoreError> {
        let rows = sqlx::query("SELECT * FROM webhook_endpoints ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(map_endpoint).collect()
    }

    /// Adds an endpoint (source `api`); it receives events from now on.
    pub async fn add_endpoint(
        &self,
        url: &str,
        secret: &str,
        events: &[String],
    ) -> Result<Endpoint, CoreError> {
        let events = check_endpoint(url, secret, events)?;
        if self.endpoints().await?.len() >= MAX_ENDPOINTS {
            return Err(CoreError::field(
                "url",
                format!("at most {MAX_ENDPOINTS} webhook endpoints; remove one first"),
            ));
        }
        self.targets
            .resolve(url)
            .await
            .map_err(|e| CoreError::field("url", e.to_string()))?;
        let id = new_endpoint_id(self.entropy.as_ref());
        sqlx::query("INSERT INTO webhook_endpoints (id, url, secret, events, source, enabled, created_at) VALUES ($1, $2, $3, $4, 'api', 1, $5)")
            .bind(&id)
            .bind(url)
            .bind(secret)
            .bind(json!(events).to_string())
            .bind(to_millis(self.clock.now()))
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT * FROM webhook_endpoints WHERE id = $1")
            .bind(&id)
            .fetch_one(&self.pool)
            .await?;
        map_endpoint(&row)
    }

    /// Removes an `api` endpoint and its deliveries; `config` ones are managed in the file.
    pub async fn remove_endpoint(&self, id: &str) -> Result<(), CoreError> {
        let row = sqlx::query("SELECT source FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(CoreError::WebhookNotFound)?;
        if row.try_get::<String, _>("source")? == "config" {
            return Err(CoreError::InvalidState {
                status: "defined in the config file",
                action: "removing it through the API",
            });
        }
        sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_ten_seconds_up_to_six_hours() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_secs(10));
        assert_eq!(p.backoff(2), Duration::from_secs(20));
        assert_eq!(p.backoff(5), Duration::from_secs(160));
        assert_eq!(p.backoff(40), Duration::from_secs(6 * 3600));
    }

    #[test]
    fn an_endpoint_needs_an_http_url_a_long_secret_and_known_events() {
        assert!(check_endpoint("ftp://x", "0123456789abcdef", &[]).is_err());
        assert!(check_endpoint("https://x.example/h", "short", &[]).is_err());
        assert!(check_endpoint(
            "https://x.example/h",
            "0123456789abcdef",
            &["payment.created".into()]
        )
        .is_err());
        let all = check_endpoint("https://x.example/h", "0123456789abcdef", &[]).unwrap();
        assert_eq!(all, EventType::subscribable());
    }
}
