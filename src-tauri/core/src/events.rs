//! Payment events: every status change is one row in the `events` table (the audit trail) and one
//! message on one broadcast channel. Sockets, webhooks, stats and the shell subscribe; a subscriber
//! that lags loses messages (never blocks the writer) and should refetch the payment.

use serde_json::Value;
use sqlx::SqliteConnection;
use tokio::sync::broadcast;

use crate::{
    clock::to_millis,
    payments::{ObservedTransfer, Payment, PaymentStatus},
};

/// Audit-trail kind of a transfer to the receive address that matched no payment when first seen.
pub const TRANSFER_UNMATCHED: &str = "transfer.unmatched";

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
    /// Name stored in the `events` table and used for webhooks, e.g. `payment.paid`.
    pub fn name(&self, payment: &Payment) -> String {
        match self {
            PaymentEventKind::Created => "payment.created".into(),
            PaymentEventKind::StatusChanged { .. } => {
                format!("payment.{}", payment.status.as_str())
            }
            PaymentEventKind::Progress => "payment.progress".into(),
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

/// The one broadcast channel for payment events.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<PaymentEvent>,
}

impl EventBus {
    /// A bus whose slowest subscriber may fall `capacity` events behind before it lags.
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity).0,
        }
    }

    /// A new subscription receiving every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<PaymentEvent> {
        self.tx.subscribe()
    }

    /// Sends to every subscriber; having none is fine.
    pub fn publish(&self, event: PaymentEvent) {
        let _ = self.tx.send(event);
    }
}

/// Appends one row to the audit trail inside the caller's transaction.
pub(crate) async fn record(
    conn: &mut SqliteConnection,
    event: &PaymentEvent,
    detail: Option<Value>,
) -> Result<(), sqlx::Error> {
    let previous = match event.kind {
        PaymentEventKind::StatusChanged { previous } => Some(previous.as_str()),
        PaymentEventKind::Created | PaymentEventKind::Progress => None,
    };
    sqlx::query("INSERT INTO events (payment_id, kind, from_status, to_status, detail, at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(event.payment.id.as_str())
        .bind(event.kind.name(&event.payment))
        .bind(previous)
        .bind(event.payment.status.as_str())
        .bind(detail.map(|d| d.to_string()))
        .bind(to_millis(event.payment.updated_at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Appends a `transfer.unmatched` row (no payment) for a transfer stored for the first time that
/// matched nothing; webhooks pick it up from the audit trail.
pub(crate) async fn record_unmatched(
    conn: &mut SqliteConnection,
    transfer_id: i64,
    t: &ObservedTransfer,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    let detail = serde_json::json!({
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
    sqlx::query("INSERT INTO events (payment_id, kind, detail, at) VALUES (NULL, ?, ?, ?)")
        .bind(TRANSFER_UNMATCHED)
        .bind(detail.to_string())
        .bind(to_millis(at))
        .execute(conn)
        .await?;
    Ok(())
}
