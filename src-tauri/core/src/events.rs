//! Payment events: every status change is one row in the `events` table (the audit trail) and one
//! message on one broadcast channel. Webhooks, the display, stats and the shell subscribe to all of
//! it; a payment's sockets subscribe to that payment alone (so an update wakes only its own
//! sockets, however many are open for other payments). A subscriber that lags loses messages
//! (never blocks the writer) and should refetch the payment.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::{
    clock::to_millis,
    error::CoreError,
    payments::{InboxNote, ObservedTransfer, Payment, PaymentId, PaymentStatus},
};

/// Events one payment's subscriber may fall behind before it lags (a payment has a handful).
const PER_PAYMENT_BUFFER: usize = 16;

type PerPayment = Arc<Mutex<HashMap<PaymentId, broadcast::Sender<PaymentEvent>>>>;

/// The name of an event in the audit trail, in webhooks and on the payment socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// `payment.created`.
    PaymentCreated,
    /// `payment.pending`: back to waiting, other than a revert.
    PaymentPending,
    /// `payment.confirming`: credited, waiting for confirmations.
    PaymentConfirming,
    /// `payment.paid`.
    PaymentPaid,
    /// `payment.refunded`: a refund of a paid sale was confirmed on chain (the payment is now
    /// `partially_refunded` or `refunded`; the event's detail is the refund).
    PaymentRefunded,
    /// `payment.expired`.
    PaymentExpired,
    /// `payment.cancelled`.
    PaymentCancelled,
    /// `payment.failed`: the payment can no longer be paid correctly (see [`PaymentStatus::Failed`]).
    PaymentFailed,
    /// `payment.reverted`: a credit taken back (`confirming` → `pending`).
    PaymentReverted,
    /// `payment.progress`: confirmations counted up (sockets only; not in the audit trail).
    PaymentProgress,
    /// `payment.check_failed`: a manual check that did not pay the payment (audit trail and stats).
    PaymentCheckFailed,
    /// `transfer.unmatched`: a transfer to the receive address that matched no payment when first seen.
    TransferUnmatched,
    /// `settings.changed`: the owner changed settings in the app (audit trail only).
    SettingsChanged,
}

impl EventType {
    /// Whether a webhook endpoint may subscribe to this type: not the internal ones (a sale made,
    /// back to pending, confirmation progress, a failed manual check).
    pub fn is_subscribable(self) -> bool {
        !matches!(
            self,
            EventType::PaymentCreated
                | EventType::PaymentPending
                | EventType::PaymentProgress
                | EventType::PaymentCheckFailed
                | EventType::SettingsChanged
        )
    }

    /// The types a webhook endpoint may subscribe to, in declaration order.
    pub fn subscribable() -> Vec<EventType> {
        Self::ALL
            .iter()
            .copied()
            .filter(|t| t.is_subscribable())
            .collect()
    }

    const ALL: &'static [EventType] = &[
        EventType::PaymentCreated,
        EventType::PaymentPending,
        EventType::PaymentConfirming,
        EventType::PaymentPaid,
        EventType::PaymentRefunded,
        EventType::PaymentExpired,
        EventType::PaymentCancelled,
        EventType::PaymentFailed,
        EventType::PaymentReverted,
        EventType::PaymentProgress,
        EventType::PaymentCheckFailed,
        EventType::TransferUnmatched,
        EventType::SettingsChanged,
    ];

    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PaymentCreated => "payment.created",
            EventType::PaymentPending => "payment.pending",
            EventType::PaymentConfirming => "payment.confirming",
            EventType::PaymentPaid => "payment.paid",
            EventType::PaymentRefunded => "payment.refunded",
            EventType::PaymentExpired => "payment.expired",
            EventType::PaymentCancelled => "payment.cancelled",
            EventType::PaymentFailed => "payment.failed",
            EventType::PaymentReverted => "payment.reverted",
            EventType::PaymentProgress => "payment.progress",
            EventType::PaymentCheckFailed => "payment.check_failed",
            EventType::TransferUnmatched => "transfer.unmatched",
            EventType::SettingsChanged => "settings.changed",
        }
    }

    /// The type spelled `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }

    /// A webhook subscription `s`, or why not (naming the ones there are).
    pub fn subscription(s: &str) -> Result<Self, String> {
        Self::parse(s)
            .filter(|t| t.is_subscribable())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::subscribable().iter().map(|t| t.as_str()).collect();
                format!("{s:?} is not one of {}", names.join(", "))
            })
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for EventType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown event type {s:?}")))
    }
}

/// What happened to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaymentEventKind {
    /// A new payment was created (status `pending`).
    Created,
    /// The status moved from `previous` to the payment's current status.
    StatusChanged {
        /// The status before.
        previous: PaymentStatus,
    },
    /// Same status, new progress (confirmations counted up). Not written to the audit trail.
    Progress,
}

impl PaymentEventKind {
    /// The event's type, e.g. `payment.paid`. A credit taken back (`confirming` → `pending`: its
    /// block left the chain, or a second endpoint did not confirm it) is `payment.reverted`.
    pub fn event_type(&self, payment: &Payment) -> EventType {
        match self {
            PaymentEventKind::Created => EventType::PaymentCreated,
            PaymentEventKind::StatusChanged {
                previous: PaymentStatus::Confirming,
            } if payment.status == PaymentStatus::Pending => EventType::PaymentReverted,
            PaymentEventKind::StatusChanged { .. } => match payment.status {
                PaymentStatus::Pending => EventType::PaymentPending,
                PaymentStatus::Confirming => EventType::PaymentConfirming,
                PaymentStatus::Paid => EventType::PaymentPaid,
                PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => {
                    EventType::PaymentRefunded
                }
                PaymentStatus::Expired => EventType::PaymentExpired,
                PaymentStatus::Cancelled => EventType::PaymentCancelled,
                PaymentStatus::Failed => EventType::PaymentFailed,
            },
            PaymentEventKind::Progress => EventType::PaymentProgress,
        }
    }
}

/// A payment after a change.
#[derive(Debug, Clone)]
pub struct PaymentEvent {
    /// What happened.
    pub kind: PaymentEventKind,
    /// The payment as it is now.
    pub payment: Payment,
}

/// The broadcast channel for payment events, and one channel per watched payment.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<PaymentEvent>,
    per_payment: PerPayment,
    /// The other servers on the same PostgreSQL database, told of every event published here.
    relay: Option<crate::replicas::Replica>,
}

impl EventBus {
    /// A bus whose slowest subscriber may fall `capacity` events behind before it lags.
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity).0,
            per_payment: PerPayment::default(),
            relay: None,
        }
    }

    /// This bus, also telling `replica`'s peers of every event published on it.
    pub(crate) fn relayed_by(mut self, replica: crate::replicas::Replica) -> Self {
        self.relay = Some(replica);
        self
    }

    /// A new subscription receiving every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<PaymentEvent> {
        self.tx.subscribe()
    }

    /// A new subscription receiving the events of payment `id` published from now on.
    pub fn subscribe_payment(&self, id: &PaymentId) -> PaymentSubscription {
        let rx = self
            .per_payment
            .lock()
            .expect("event registry lock")
            .entry(id.clone())
            .or_insert_with(|| broadcast::channel(PER_PAYMENT_BUFFER).0)
            .subscribe();
        PaymentSubscription {
            rx: Some(rx),
            id: id.clone(),
            registry: self.per_payment.clone(),
        }
    }

    /// Sends to every subscriber, and to the payment's own subscribers; having none is fine.
    pub fn publish(&self, event: PaymentEvent) {
        if let Some(relay) = &self.relay {
            relay.relay_payment(&event);
        }
        self.publish_here(event);
    }

    /// Publishes `event` to this server's subscribers only (an event another server published).
    pub fn publish_here(&self, event: PaymentEvent) {
        if let Some(own) = self
            .per_payment
            .lock()
            .expect("event registry lock")
            .get(&event.payment.id)
        {
            let _ = own.send(event.clone());
        }
        let _ = self.tx.send(event);
    }

    /// How many payments have subscribers (for tests and monitoring).
    pub fn watched_payments(&self) -> usize {
        self.per_payment.lock().expect("event registry lock").len()
    }
}

/// The events of one payment; the payment's channel goes away with its last subscription.
#[derive(Debug)]
pub struct PaymentSubscription {
    rx: Option<broadcast::Receiver<PaymentEvent>>,
    id: PaymentId,
    registry: PerPayment,
}

impl PaymentSubscription {
    /// The next event, as [`broadcast::Receiver::recv`].
    pub async fn recv(&mut self) -> Result<PaymentEvent, broadcast::error::RecvError> {
        self.rx.as_mut().expect("live until dropped").recv().await
    }
}

impl Drop for PaymentSubscription {
    fn drop(&mut self) {
        drop(self.rx.take());
        let mut registry = self.registry.lock().expect("event registry lock");
        if registry
            .get(&self.id)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            registry.remove(&self.id);
        }
    }
}

/// Appends one row to the audit trail inside the caller's transaction, with a snapshot of the
/// payment as it is now (webhooks render that snapshot, so a delivery sent later still tells what
/// happened at this moment).
pub(crate) async fn record(
    conn: &mut crate::store::Conn,
    event: &PaymentEvent,
    detail: Option<Value>,
) -> Result<(), sqlx::Error> {
    let previous = match event.kind {
        PaymentEventKind::StatusChanged { previous } => Some(previous.as_str()),
        PaymentEventKind::Created | PaymentEventKind::Progress => None,
    };
    let snapshot = serde_json::to_string(&event.payment).ok();
    sqlx::query("INSERT INTO events (payment_id, kind, from_status, to_status, detail, at, payment) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(event.payment.id.as_str())
        .bind(event.kind.event_type(&event.payment).as_str())
        .bind(previous)
        .bind(event.payment.status.as_str())
        .bind(detail.map(|d| d.to_string()))
        .bind(to_millis(event.payment.updated_at))
        .bind(snapshot)
        .execute(conn)
        .await?;
    Ok(())
}

/// The payment as an event row's snapshot holds it, if the row has one.
pub(crate) fn from_snapshot(snapshot: Option<&str>) -> Result<Option<Payment>, CoreError> {
    snapshot
        .map(|s| {
            serde_json::from_str(s)
                .map_err(|_| CoreError::Corrupt("an event's payment snapshot".into()))
        })
        .transpose()
}

/// Appends a `settings.changed` row (no payment): `by` changed the settings `keys` in the app.
pub(crate) async fn record_settings_changed(
    conn: &mut crate::store::Conn,
    keys: &[&str],
    by: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    let detail = serde_json::json!({ "keys": keys, "by": by });
    sqlx::query("INSERT INTO events (payment_id, kind, detail, at) VALUES (NULL, $1, $2, $3)")
        .bind(EventType::SettingsChanged.as_str())
        .bind(detail.to_string())
        .bind(to_millis(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Appends a `transfer.unmatched` row (no payment) for a transfer stored for the first time that
/// matched nothing; webhooks pick it up from the audit trail. `inbox` says why it is there and which
/// sale it was meant for, when that is known.
pub(crate) async fn record_unmatched(
    conn: &mut crate::store::Conn,
    transfer_id: i64,
    t: &ObservedTransfer,
    inbox: Option<&InboxNote>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    let detail = serde_json::json!({
        "reason": inbox.map(|n| n.reason.as_str()),
        "related_payment_id": inbox.map(|n| n.payment.as_str()),
        "transfer_id": transfer_id,
        "network": t.network.as_str(),
        "chain_id": t.chain_id,
        "token_contract": t.token_contract.checksummed(),
        "transaction_hash": t.tx_hash.to_string(),
        "log_index": t.log_index,
        "block_number": t.block_number,
        "from": t.from.checksummed(),
        "to": t.to.checksummed(),
        "value_base_units": t.value.to_string(),
    });
    sqlx::query("INSERT INTO events (payment_id, kind, detail, at) VALUES (NULL, $1, $2, $3)")
        .bind(EventType::TransferUnmatched.as_str())
        .bind(detail.to_string())
        .bind(to_millis(at))
        .execute(conn)
        .await?;
    Ok(())
}
