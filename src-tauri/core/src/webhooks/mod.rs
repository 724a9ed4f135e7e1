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

pub mod sign;
pub mod target;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::{sqlite::SqliteRow, Row, SqlitePool};
use tokio::{
    sync::{broadcast::error::TryRecvError, Notify},
    task::JoinSet,
};

use crate::{
    clock::{from_millis, to_millis, Clock},
    config::WebhookConfig,
    entropy::Entropy,
    error::CoreError,
    events::{self, EventBus, EventType},
    payments::{Payment, PaymentId, Payments},
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
    pool: SqlitePool,
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

fn new_endpoint_id(entropy: &dyn Entropy) -> String {
    format!("whk_{}", hex::encode(crate::entropy::bytes::<12>(entropy)))
}

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

fn corrupt(what: &str, value: &str) -> CoreError {
    CoreError::Corrupt(format!("{what} {value:?}"))
}

fn map_endpoint(row: &SqliteRow) -> Result<Endpoint, CoreError> {
    let events: String = row.try_get("events")?;
    let events: Vec<EventType> =
        serde_json::from_str(&events).map_err(|_| corrupt("webhook endpoint events", &events))?;
    Ok(Endpoint {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        events,
        source: row.try_get("source")?,
        enabled: row.try_get("enabled")?,
        created_at: from_millis(row.try_get("created_at")?),
    })
}

fn map_delivery(row: &SqliteRow) -> Result<Delivery, CoreError> {
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

/// Validates an endpoint's fields; `events` empty means all.
fn check_endpoint(url: &str, secret: &str, events: &[String]) -> Result<Vec<EventType>, CoreError> {
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
        EventType::SUBSCRIBABLE.to_vec()
    } else {
        events
    })
}

/// How long the feeder lets a burst of events gather before one pass queues them all.
const FEED_COALESCE: Duration = Duration::from_millis(50);

const DELIVERY_SELECT: &str =
    "SELECT d.*, e.url, e.source FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id";

impl Webhooks {
    /// The service over `pool`; call [`Webhooks::sync_config`] before serving.
    pub fn new(
        pool: SqlitePool,
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

    /// A client for one attempt; `pinned` sends every request to these addresses of `host`.
    fn client(&self, pinned: Option<(&str, &[std::net::SocketAddr])>) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .timeout(self.policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("StablePay-Webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some((host, addresses)) = pinned {
            builder = builder.resolve_to_addrs(host, addresses);
        }
        builder.build().expect("the HTTP client builds")
    }

    /// Makes the `[[webhooks]]` of the config the `config` endpoints (added, updated, or disabled
    /// when gone from the file), and starts the feeder's cursor at the current end of the events
    /// table on a first start, so history is not replayed.
    pub async fn sync_config(&self, configured: &[WebhookConfig]) -> Result<(), CoreError> {
        let mut tx = crate::store::begin_write(&self.pool).await?;
        sqlx::query("INSERT OR IGNORE INTO webhook_cursor (id, event_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events")
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE webhook_endpoints SET enabled = 0 WHERE source = 'config'")
            .execute(&mut *tx)
            .await?;
        for w in configured {
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, url, secret, events, source, enabled, created_at) VALUES (?, ?, ?, ?, 'config', 1, ?)
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
        sqlx::query("INSERT INTO webhook_endpoints (id, url, secret, events, source, enabled, created_at) VALUES (?, ?, ?, ?, 'api', 1, ?)")
            .bind(&id)
            .bind(url)
            .bind(secret)
            .bind(json!(events).to_string())
            .bind(to_millis(self.clock.now()))
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT * FROM webhook_endpoints WHERE id = ?")
            .bind(&id)
            .fetch_one(&self.pool)
            .await?;
        map_endpoint(&row)
    }

    /// Removes an `api` endpoint and its deliveries; `config` ones are managed in the file.
    pub async fn remove_endpoint(&self, id: &str) -> Result<(), CoreError> {
        let row = sqlx::query("SELECT source FROM webhook_endpoints WHERE id = ?")
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
        sqlx::query("DELETE FROM webhook_endpoints WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deliveries, newest first, optionally of one status.
    pub async fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>, CoreError> {
        let status = status.map(DeliveryStatus::as_str);
        let rows = sqlx::query(&format!(
            "{DELIVERY_SELECT} WHERE (? IS NULL OR d.status = ?) ORDER BY d.seq DESC LIMIT ?"
        ))
        .bind(status)
        .bind(status)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(map_delivery).collect()
    }

    /// Queues a delivery again, due now (also a delivered or failed one); its queue time is kept.
    pub async fn redeliver(&self, id: i64) -> Result<Delivery, CoreError> {
        let now = to_millis(self.clock.now());
        // One more attempt now. The queue time stays: automatic retries after it continue only
        // inside the 3-day window, so a long-failed delivery gets this one attempt.
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ? WHERE seq = ?",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CoreError::DeliveryNotFound);
        }
        self.wake.notify_one();
        let row = sqlx::query(&format!("{DELIVERY_SELECT} WHERE d.seq = ?"))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        map_delivery(&row)
    }

    /// Turns new `events` rows into deliveries; returns how many were queued.
    pub async fn feed(&self, render: &PaymentRenderer) -> Result<usize, CoreError> {
        let cursor: i64 = sqlx::query_scalar("SELECT event_seq FROM webhook_cursor WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or(0);
        let rows = sqlx::query("SELECT seq, payment_id, kind, detail, at, payment FROM events WHERE seq > ? ORDER BY seq LIMIT 500")
            .bind(cursor)
            .fetch_all(&self.pool)
            .await?;
        let Some(last) = rows
            .last()
            .map(|r| r.try_get::<i64, _>("seq"))
            .transpose()?
        else {
            return Ok(0);
        };
        let endpoints: Vec<Endpoint> = self
            .endpoints()
            .await?
            .into_iter()
            .filter(|e| e.enabled)
            .collect();
        let mut queued = Vec::new();
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            let Some(kind) =
                EventType::parse(&kind).filter(|t| EventType::SUBSCRIBABLE.contains(t))
            else {
                continue;
            };
            let subscribed: Vec<&Endpoint> = endpoints
                .iter()
                .filter(|e| e.events.contains(&kind))
                .collect();
            if subscribed.is_empty() {
                continue;
            }
            let seq: i64 = row.try_get("seq")?;
            let snapshot = events::from_snapshot(row.try_get::<Option<&str>, _>("payment")?)?;
            let data = match (snapshot, row.try_get::<Option<String>, _>("payment_id")?) {
                (Some(p), _) => json!({ "payment": render(&p) }),
                // Rows written before snapshots existed: the payment as it is now.
                (None, Some(id)) => match self.payments.get(&PaymentId::from_store(id)).await {
                    Ok(p) => json!({ "payment": render(&p) }),
                    Err(CoreError::PaymentNotFound) => continue,
                    Err(e) => return Err(e),
                },
                (None, None) => {
                    let detail: Option<String> = row.try_get("detail")?;
                    json!({ "transfer": detail.and_then(|d| serde_json::from_str::<Value>(&d).ok()) })
                }
            };
            let at = from_millis(row.try_get("at")?);
            let body = json!({
                "id": format!("evt_{seq}"),
                "type": kind,
                "created_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "data": data,
            })
            .to_string();
            for endpoint in subscribed {
                queued.push((seq, endpoint.id.clone(), kind, body.clone()));
            }
        }
        let now = to_millis(self.clock.now());
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let moved =
            sqlx::query("UPDATE webhook_cursor SET event_seq = ? WHERE id = 1 AND event_seq = ?")
                .bind(last)
                .bind(cursor)
                .execute(&mut *tx)
                .await?;
        if moved.rows_affected() == 0 {
            return Ok(0); // another feeder got there first
        }
        for (seq, endpoint, kind, body) in &queued {
            sqlx::query(
                "INSERT OR IGNORE INTO webhook_deliveries (event_seq, endpoint_id, event_type, payload, status, next_attempt_at, created_at)
                 VALUES (?, ?, ?, ?, 'pending', ?, ?)",
            )
            .bind(seq)
            .bind(endpoint)
            .bind(kind.as_str())
            .bind(body)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(queued.len())
    }

    /// Sends every due delivery once (concurrently); returns how many were attempted.
    pub async fn send_due(&self) -> Result<usize, CoreError> {
        let now = self.clock.now();
        let rows = sqlx::query(&format!(
            "{DELIVERY_SELECT} WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.seq LIMIT 32"
        ))
        .bind(to_millis(now))
        .fetch_all(&self.pool)
        .await?;
        let mut attempts = JoinSet::new();
        for row in &rows {
            let delivery = map_delivery(row)?;
            let payload: String = row.try_get("payload")?;
            let secret: String =
                sqlx::query_scalar("SELECT secret FROM webhook_endpoints WHERE id = ?")
                    .bind(&delivery.endpoint_id)
                    .fetch_one(&self.pool)
                    .await?;
            let this = self.clone();
            attempts.spawn(async move { this.attempt(delivery, payload, secret).await });
        }
        let count = attempts.len();
        while let Some(done) = attempts.join_next().await {
            if let Ok(Err(e)) = done {
                tracing::warn!(error = %e, "recording a webhook attempt failed");
            }
        }
        Ok(count)
    }

    async fn attempt(
        &self,
        delivery: Delivery,
        payload: String,
        secret: String,
    ) -> Result<(), CoreError> {
        let (code, error) = match self.deliver(&delivery, payload, &secret).await {
            Ok(status) if status.is_success() => (Some(status.as_u16()), None),
            Ok(status) => (
                Some(status.as_u16()),
                Some(format!("the receiver answered {status}")),
            ),
            Err(why) => (None, Some(why)),
        };
        let now = self.clock.now();
        let attempts = delivery.attempts + 1;
        match error {
            None => {
                tracing::info!(event = %delivery.event_id, url = %delivery.endpoint_url, "webhook delivered");
                sqlx::query("UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, last_status_code = ?, last_error = NULL, delivered_at = ? WHERE seq = ?")
                    .bind(i64::from(attempts))
                    .bind(code.map(i64::from))
                    .bind(to_millis(now))
                    .bind(delivery.id)
                    .execute(&self.pool)
                    .await?;
            }
            Some(error) => {
                let next = now
                    + chrono::Duration::from_std(self.policy.backoff(attempts)).unwrap_or_default();
                let give_up = delivery.created_at
                    + chrono::Duration::from_std(self.policy.give_up_after).unwrap_or_default();
                let status = if next > give_up {
                    DeliveryStatus::Failed
                } else {
                    DeliveryStatus::Pending
                };
                tracing::warn!(event = %delivery.event_id, url = %delivery.endpoint_url, %error, attempts, status = status.as_str(), "webhook attempt failed");
                sqlx::query("UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status_code = ?, last_error = ?, next_attempt_at = ? WHERE seq = ?")
                    .bind(status.as_str())
                    .bind(i64::from(attempts))
                    .bind(code.map(i64::from))
                    .bind(error)
                    .bind(to_millis(next))
                    .bind(delivery.id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// One POST of `payload`; the status the receiver answered, or why there is none in plain words
    /// (no socket detail: refused, reset and timed-out connections all read alike, so the delivery
    /// log cannot map the network).
    async fn deliver(
        &self,
        delivery: &Delivery,
        payload: String,
        secret: &str,
    ) -> Result<reqwest::StatusCode, String> {
        let pinned = if delivery.endpoint_source == "config" {
            None
        } else {
            let addresses = self
                .targets
                .resolve(&delivery.endpoint_url)
                .await
                .map_err(|e| format!("not sent: {e}"))?;
            let host = target::host_port(&delivery.endpoint_url)
                .map(|(h, _)| h)
                .unwrap_or_default();
            Some((host, addresses))
        };
        let client = self.client(pinned.as_ref().map(|(h, a)| (h.as_str(), a.as_slice())));
        let t = self.clock.now().timestamp();
        client
            .post(&delivery.endpoint_url)
            .header("content-type", "application/json")
            .header("StablePay-Event-Id", &delivery.event_id)
            .header(
                "StablePay-Signature",
                sign::signature_header(secret, t, payload.as_bytes()),
            )
            .body(payload)
            .send()
            .await
            .map(|r| r.status())
            .map_err(|e| {
                if e.is_timeout() {
                    "no answer in time".to_string()
                } else {
                    "could not reach the receiver".to_string()
                }
            })
    }

    /// Feeds and sends forever: on every payment event, on a redelivery and at least every second
    /// (the host spawns this). Never blocks the watcher or the API: it only reads their rows.
    pub async fn run(self, render: PaymentRenderer) {
        let mut events = self.events.subscribe();
        loop {
            if let Err(e) = self.feed(&render).await {
                tracing::warn!(error = %e, "queueing webhooks failed");
            }
            if let Err(e) = self.send_due().await {
                tracing::warn!(error = %e, "sending webhooks failed");
            }
            tokio::select! {
                _ = events.recv() => {
                    // Under a burst of sales, one pass per burst rather than one per event: the
                    // feeder's write would otherwise compete with every sale for the write lock.
                    tokio::time::sleep(FEED_COALESCE).await;
                    while !matches!(events.try_recv(), Err(TryRecvError::Empty | TryRecvError::Closed)) {}
                }
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
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
        assert_eq!(all, EventType::SUBSCRIBABLE);
    }
}
