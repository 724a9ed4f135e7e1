//! The sender: due deliveries POSTed, signed, at most 32 at a time; outcomes recorded with the
//! retry schedule; the loop that feeds and sends.

use std::time::Duration;

use sqlx::Row;
use tokio::{sync::broadcast::error::TryRecvError, task::JoinSet};

use super::{
    rows::{map_delivery, DELIVERY_SELECT, FEED_COALESCE},
    sign, target, Delivery, DeliveryStatus, PaymentRenderer, Webhooks,
};
use crate::{clock::to_millis, error::CoreError};

impl Webhooks {
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

    /// Sends every due delivery once (concurrently); returns how many were attempted.
    pub async fn send_due(&self) -> Result<usize, CoreError> {
        let now = self.clock.now();
        let rows = sqlx::query(&format!(
            "{DELIVERY_SELECT} WHERE d.status = 'pending' AND d.next_attempt_at <= $1 ORDER BY d.next_attempt_at, d.seq LIMIT 32"
        ))
        .bind(to_millis(now))
        .fetch_all(&self.pool)
        .await?;
        let mut attempts = JoinSet::new();
        for row in &rows {
            let delivery = map_delivery(row)?;
            let payload: String = row.try_get("payload")?;
            let secret: String =
                sqlx::query_scalar("SELECT secret FROM webhook_endpoints WHERE id = $1")
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
            // The epusdt protocol: delivered only once the receiver answers `ok`.
            Ok((status, body)) if delivery.epusdt && status.is_success() && body.trim() != "ok" => {
                (
                    Some(status.as_u16()),
                    Some(format!("the receiver answered {status} without \"ok\"")),
                )
            }
            Ok((status, _)) if status.is_success() => (Some(status.as_u16()), None),
            Ok((status, _)) => (
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
                sqlx::query("UPDATE webhook_deliveries SET status = 'delivered', attempts = $1, last_status_code = $2, last_error = NULL, delivered_at = $3 WHERE seq = $4")
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
                sqlx::query("UPDATE webhook_deliveries SET status = $1, attempts = $2, last_status_code = $3, last_error = $4, next_attempt_at = $5 WHERE seq = $6")
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
    ) -> Result<(reqwest::StatusCode, String), String> {
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
        let mut request = client
            .post(&delivery.endpoint_url)
            .header("content-type", "application/json")
            .header("StablePay-Event-Id", &delivery.event_id);
        // An epusdt callback is signed inside its body, as the protocol does.
        if !delivery.epusdt {
            request = request.header(
                "StablePay-Signature",
                sign::signature_header(secret, t, payload.as_bytes()),
            );
        }
        let unreachable = |e: reqwest::Error| {
            if e.is_timeout() {
                "no answer in time".to_string()
            } else {
                "could not reach the receiver".to_string()
            }
        };
        let response = request.body(payload).send().await.map_err(unreachable)?;
        let status = response.status();
        // Only the start of the answer: `ok` is all an epusdt receiver says.
        let body = if delivery.epusdt {
            let bytes = response.bytes().await.map_err(unreachable)?;
            String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned()
        } else {
            String::new()
        };
        Ok((status, body))
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
