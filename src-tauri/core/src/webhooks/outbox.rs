//! The outbox: new `events` rows become one delivery per subscribed endpoint (body frozen), the
//! delivery log, and redelivery.

use serde_json::{json, Value};
use sqlx::Row;

use super::{
    rows::{map_delivery, DELIVERY_SELECT},
    Delivery, DeliveryStatus, Endpoint, PaymentRenderer, Webhooks,
};
use crate::{
    clock::{from_millis, to_millis},
    compat::epusdt,
    error::CoreError,
    events::{self, EventType},
    payments::PaymentId,
};

impl Webhooks {
    /// Deliveries, newest first, optionally of one status.
    pub async fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<Delivery>, CoreError> {
        let status = status.map(DeliveryStatus::as_str);
        let rows = sqlx::query(&format!(
            "{DELIVERY_SELECT} WHERE ($1 IS NULL OR d.status = $2) ORDER BY d.seq DESC LIMIT $3"
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
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1 WHERE seq = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CoreError::DeliveryNotFound);
        }
        self.wake.notify_one();
        let row = sqlx::query(&format!("{DELIVERY_SELECT} WHERE d.seq = $1"))
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
        let rows = sqlx::query("SELECT seq, payment_id, kind, detail, at, payment FROM events WHERE seq > $1 ORDER BY seq LIMIT 500")
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
        let (epusdt, endpoints): (Vec<Endpoint>, Vec<Endpoint>) = self
            .endpoints()
            .await?
            .into_iter()
            .filter(|e| e.enabled)
            .partition(|e| e.url == epusdt::CALLBACKS_ENDPOINT);
        let mut queued = Vec::new();
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            let Some(kind) = EventType::parse(&kind).filter(|t| t.is_subscribable()) else {
                continue;
            };
            let seq: i64 = row.try_get("seq")?;
            if let Some(e) = epusdt.first().filter(|e| e.events.contains(&kind)) {
                if let Some((url, body)) = self.epusdt_callback(row, kind, &e.secret).await? {
                    queued.push((seq, e.id.clone(), kind, body, Some(url)));
                }
            }
            let subscribed: Vec<&Endpoint> = endpoints
                .iter()
                .filter(|e| e.events.contains(&kind))
                .collect();
            if subscribed.is_empty() {
                continue;
            }
            let Some(body) = self.body(row, seq, kind, render).await? else {
                continue;
            };
            for endpoint in subscribed {
                queued.push((seq, endpoint.id.clone(), kind, body.clone(), None));
            }
        }
        self.queue(cursor, last, &queued).await
    }

    /// An epusdt order's callback for event row `row` (paid: status 2, expired: 3): the order's
    /// `notify_url` and the signed body; `None` for any other payment.
    async fn epusdt_callback(
        &self,
        row: &crate::store::DbRow,
        kind: EventType,
        token: &str,
    ) -> Result<Option<(String, String)>, CoreError> {
        let status = match kind {
            EventType::PaymentPaid => 2,
            EventType::PaymentExpired => 3,
            _ => return Ok(None),
        };
        let Subject::Payment(payment) = self.subject(row).await? else {
            return Ok(None);
        };
        Ok(epusdt::order_of(&self.pool, *payment)
            .await?
            .map(|o| (o.notify_url.clone(), o.callback(status, token))))
    }

    /// What event row `row` is about: its payment as it was then (its snapshot; rows written
    /// before snapshots existed: the payment as it is now), or a transfer.
    async fn subject(&self, row: &crate::store::DbRow) -> Result<Subject, CoreError> {
        if let Some(p) = events::from_snapshot(row.try_get::<Option<&str>, _>("payment")?)? {
            return Ok(Subject::Payment(Box::new(p)));
        }
        let Some(id) = row.try_get::<Option<String>, _>("payment_id")? else {
            return Ok(Subject::Transfer);
        };
        match self.payments.get(&PaymentId::from_store(id)).await {
            Ok(p) => Ok(Subject::Payment(Box::new(p))),
            Err(CoreError::PaymentNotFound) => Ok(Subject::PaymentGone),
            Err(e) => Err(e),
        }
    }

    /// The frozen body of event row `row` (`seq`, of type `kind`); `None` when its payment is gone.
    async fn body(
        &self,
        row: &crate::store::DbRow,
        seq: i64,
        kind: EventType,
        render: &PaymentRenderer,
    ) -> Result<Option<String>, CoreError> {
        let data = match self.subject(row).await? {
            Subject::Payment(p) => json!({ "payment": render(&p) }),
            Subject::PaymentGone => return Ok(None),
            Subject::Transfer => {
                let detail: Option<String> = row.try_get("detail")?;
                json!({ "transfer": detail.and_then(|d| serde_json::from_str::<Value>(&d).ok()) })
            }
        };
        // A refund's event carries the refund beside the payment.
        let data = match (kind, data) {
            (EventType::PaymentRefunded, Value::Object(mut data)) => {
                let detail: Option<String> = row.try_get("detail")?;
                if let Some(Value::Object(d)) =
                    detail.and_then(|d| serde_json::from_str::<Value>(&d).ok())
                {
                    data.extend(d);
                }
                Value::Object(data)
            }
            (_, data) => data,
        };
        let at = from_millis(row.try_get("at")?);
        Ok(Some(
            json!({
                "id": format!("evt_{seq}"),
                "type": kind,
                "created_at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "data": data,
            })
            .to_string(),
        ))
    }

    /// Moves the feeder's cursor from `cursor` to `last` and queues `queued`, in one transaction;
    /// 0 when another feeder moved the cursor first.
    async fn queue(
        &self,
        cursor: i64,
        last: i64,
        queued: &[(i64, String, EventType, String, Option<String>)],
    ) -> Result<usize, CoreError> {
        let now = to_millis(self.clock.now());
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let moved =
            sqlx::query("UPDATE webhook_cursor SET event_seq = $1 WHERE id = 1 AND event_seq = $2")
                .bind(last)
                .bind(cursor)
                .execute(&mut *tx)
                .await?;
        if moved.rows_affected() == 0 {
            return Ok(0); // another feeder got there first
        }
        for (seq, endpoint, kind, body, target) in queued {
            sqlx::query(
                "INSERT INTO webhook_deliveries (event_seq, endpoint_id, event_type, payload, status, next_attempt_at, created_at, target_url)
                 VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(seq)
            .bind(endpoint)
            .bind(kind.as_str())
            .bind(body)
            .bind(now)
            .bind(now)
            .bind(target)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(queued.len())
    }
}

/// What an event row is about.
enum Subject {
    /// A payment.
    Payment(Box<crate::payments::Payment>),
    /// A payment no longer in the store.
    PaymentGone,
    /// A transfer (`transfer.unmatched`).
    Transfer,
}
