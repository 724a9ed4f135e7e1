//! Payments: creation with a unique exact amount, lookup, listing, cancellation and expiry.
//!
//! The unique-amount rule (SPEC §6): a payment for amount A gets A + k·step with the smallest k ≥ 0
//! that no other payment on the same (network, token, receive address) holds. A payment holds its
//! amount while open (`pending`, `confirming`) and for a while after it ends — expired unpaid: the
//! grace window (`late_grace_seconds`); cancelled: `cancelled_hold_seconds`; paid:
//! `paid_hold_seconds` — so a late transfer, one sent before the cashier cancelled, or a second
//! send of a paid amount is never credited to a newer sale (it goes to the inbox, linked to the sale
//! it was meant for). Holds cost a busy shop offsets: a price sold often climbs k while earlier sales
//! of it are held. Creation is serialised by one in-process lock (one server per database, see
//! [`crate::store`]); a partial unique index backs it up.
//!
//! The service is [`Payments`]; its parts, one file each: `create.rs` (a new sale), this file
//! (lookup, cancel, expiry, transitions), `ingest.rs` and `holders.rs` (a chain log to a credit),
//! `settle.rs` (confirmations, finality, reverts), `attach.rs` (staff attach), `refund.rs` (refunds
//! sent from the shop's own wallet), `remainder.rs` and `tip.rs`, `checks.rs` (what
//! the manual check asks), `query.rs` (the SQL), `model.rs` and `observed.rs` (the types).
//!
//! The lower bound: a payment records its network's head block at creation (less
//! [`HEAD_LAG_MARGIN`]); a transfer in an earlier block, mined before `created_at` less
//! [`BLOCK_TIME_SKEW`], or stored before the payment existed never credits it automatically.

mod attach;
mod checks;
mod create;
mod holders;
mod id;
mod ingest;
mod model;
mod observed;
mod query;
mod refund;
mod remainder;
mod row;
mod settle;
mod tip;

use std::{fmt, sync::Arc};

use chrono::Duration;
use serde_json::Value;
use tokio::sync::Mutex;

pub use id::{IdempotencyKey, PaymentId};
pub use model::{AmountMatch, Created, NewPayment, Payment, PaymentStatus, Price, WrongAmount};
pub use observed::{
    InboxNote, InboxReason, Ingested, ObservedTransfer, OpenCredit, Settlement, Uncredit,
};
pub use query::{Page, PaymentFilter};
pub(crate) use refund::confirmed_between as refunds_confirmed_between;
pub use refund::{NewRefund, Refund, RefundId, RefundStatus, Refunds};
pub use remainder::Shortfall;
pub use tip::Tip;

use crate::{
    address::Address,
    catalog::{Catalog, NetworkId, TokenSymbol},
    clock::{to_millis, Clock},
    config::PaymentsConfig,
    entropy::Entropy,
    error::CoreError,
    events::{self, EventBus, PaymentEvent, PaymentEventKind},
    pricing::Pricing,
    products::Products,
    progress::ChainProgress,
    store::Db,
};

/// Blocks subtracted from the known head when a payment records its lower bound: the head we know
/// may be a block or two ahead of the chain the customer's wallet sees after a short reorg.
pub const HEAD_LAG_MARGIN: u64 = 5;
/// How far before `created_at` a crediting block may have been mined (the shop's clock may be a
/// little ahead of the chain's).
pub const BLOCK_TIME_SKEW: Duration = Duration::seconds(300);

/// The payments service.
#[derive(Clone)]
pub struct Payments {
    pool: Db,
    catalog: Catalog,
    products: Products,
    clock: Arc<dyn Clock>,
    events: EventBus,
    rules: PaymentsConfig,
    receive_address: Option<Address>,
    progress: ChainProgress,
    entropy: Arc<dyn Entropy>,
    pricing: Pricing,
    create_lock: Arc<Mutex<()>>,
}

impl fmt::Debug for Payments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payments")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl Payments {
    /// Wires the service.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pool: Db,
        catalog: Catalog,
        products: Products,
        clock: Arc<dyn Clock>,
        events: EventBus,
        rules: PaymentsConfig,
        receive_address: Option<Address>,
        progress: ChainProgress,
        entropy: Arc<dyn Entropy>,
        pricing: Pricing,
    ) -> Self {
        Self {
            pool,
            catalog,
            products,
            clock,
            events,
            rules,
            receive_address,
            progress,
            entropy,
            pricing,
            create_lock: Arc::default(),
        }
    }

    /// The lifecycle rules.
    pub fn rules(&self) -> &PaymentsConfig {
        &self.rules
    }

    /// The shop's currency and its rates.
    pub fn pricing(&self) -> &Pricing {
        &self.pricing
    }

    /// Where the watchers are on each network.
    pub fn progress(&self) -> &ChainProgress {
        &self.progress
    }

    /// Payment `id` as stored, without expiring it if due (what another server just changed).
    pub async fn stored(&self, id: &PaymentId) -> Result<Option<Payment>, CoreError> {
        query::by_id(&self.pool, id).await
    }

    /// One payment; an open one past its expiry is expired on the way.
    pub async fn get(&self, id: &PaymentId) -> Result<Payment, CoreError> {
        let payment = query::by_id(&self.pool, id)
            .await?
            .ok_or(CoreError::PaymentNotFound)?;
        self.expire_if_due(payment).await
    }

    /// The payment carrying `order_reference`, if any.
    pub async fn by_order_reference(&self, reference: &str) -> Result<Option<Payment>, CoreError> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM payment_sessions WHERE order_reference = $1",
            row::COLUMNS
        ))
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(self.expire_if_due(row::map(&r)?).await?)),
            None => Ok(None),
        }
    }

    /// A page of payments, newest first.
    pub async fn list(&self, filter: &PaymentFilter) -> Result<Page, CoreError> {
        self.expire_due().await?;
        query::list(&self.pool, filter).await
    }

    /// Cancels a pending payment. A payment whose transfer is already confirming cannot be
    /// cancelled: the money is on its way.
    pub async fn cancel(&self, id: &PaymentId) -> Result<Payment, CoreError> {
        let payment = self.get(id).await?;
        if payment.status != PaymentStatus::Pending {
            return Err(CoreError::InvalidState {
                status: payment.status.as_str(),
                action: "cancel",
            });
        }
        match self
            .transition(&payment, PaymentStatus::Pending, PaymentStatus::Cancelled)
            .await?
        {
            Some(cancelled) => Ok(cancelled),
            // Credited or expired in between: say what it is now.
            None => Err(CoreError::InvalidState {
                status: self.get(id).await?.status.as_str(),
                action: "cancel",
            }),
        }
    }

    /// Fails every open (`pending` or `confirming`) payment in token `symbol` on `network`, with
    /// `reason` in the audit trail (event `payment.failed`): the token was disabled because its
    /// contract disagrees with the configuration, so these payments' exact amounts cannot be
    /// trusted — a customer paying one would send the wrong sum, and a credit already seen was
    /// measured in the wrong unit. Returns how many failed.
    pub async fn fail_open_in_token(
        &self,
        network: &NetworkId,
        symbol: &TokenSymbol,
        reason: &str,
    ) -> Result<usize, CoreError> {
        let mut failed = 0;
        for payment in query::open_in_token(&self.pool, network, symbol).await? {
            let detail = Some(serde_json::json!({ "reason": reason }));
            if self
                .transition_with(&payment, payment.status, PaymentStatus::Failed, detail)
                .await?
                .is_some()
            {
                tracing::warn!(payment = %payment.id, token = %symbol, %reason, "payment failed: its token is disabled");
                failed += 1;
            }
        }
        Ok(failed)
    }

    /// Expires every pending payment past its expiry whose network's watcher has scanned past that
    /// time (or has been waited for long enough, see [`ChainProgress::may_expire`]); returns how many.
    pub async fn expire_due(&self) -> Result<usize, CoreError> {
        let now = self.clock.now();
        let due = query::pending_due(&self.pool, now).await?;
        let mut n = 0;
        for payment in due {
            if !self
                .progress
                .may_expire(&payment.network, payment.expires_at, now)
            {
                continue;
            }
            if self
                .transition(&payment, PaymentStatus::Pending, PaymentStatus::Expired)
                .await?
                .is_some()
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Runs [`Payments::expire_due`] every `every` until the task is dropped.
    pub async fn run_expiry(self, every: std::time::Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.expire_due().await {
                tracing::warn!(error = %e, "expiry sweep failed; retrying next tick");
            }
        }
    }

    async fn expire_if_due(&self, payment: Payment) -> Result<Payment, CoreError> {
        if payment.status == PaymentStatus::Pending
            && self
                .progress
                .may_expire(&payment.network, payment.expires_at, self.clock.now())
        {
            if let Some(expired) = self
                .transition(&payment, PaymentStatus::Pending, PaymentStatus::Expired)
                .await?
            {
                return Ok(expired);
            }
            return query::by_id(&self.pool, &payment.id)
                .await?
                .ok_or(CoreError::PaymentNotFound);
        }
        Ok(payment)
    }

    /// Moves `payment` from `from` to `to` if it is still in `from`; records and publishes the change.
    /// `None` when another writer moved it first.
    async fn transition(
        &self,
        payment: &Payment,
        from: PaymentStatus,
        to: PaymentStatus,
    ) -> Result<Option<Payment>, CoreError> {
        self.transition_with(payment, from, to, None).await
    }

    /// [`Self::transition`] with a detail for the audit trail.
    async fn transition_with(
        &self,
        payment: &Payment,
        from: PaymentStatus,
        to: PaymentStatus,
        detail: Option<Value>,
    ) -> Result<Option<Payment>, CoreError> {
        let now = self.clock.now();
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let changed = sqlx::query(
            "UPDATE payment_sessions SET status = $1, updated_at = $2,
               closed_at = CASE WHEN $3 THEN COALESCE(closed_at, $4) ELSE closed_at END,
               paid_at = CASE WHEN $5 = 'paid' THEN $6 ELSE paid_at END
             WHERE id = $7 AND status = $8",
        )
        .bind(to.as_str())
        .bind(to_millis(now))
        .bind(!to.is_open())
        .bind(to_millis(now))
        .bind(to.as_str())
        .bind(to_millis(now))
        .bind(payment.id.as_str())
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let mut updated = payment.clone();
        updated.status = to;
        updated.updated_at = now;
        if to == PaymentStatus::Paid {
            updated.paid_at = Some(now);
        }
        let event = PaymentEvent {
            kind: PaymentEventKind::StatusChanged { previous: from },
            payment: updated,
        };
        events::record(&mut tx, &event, detail).await?;
        tx.commit().await?;
        let updated = event.payment.clone();
        self.events.publish(event);
        Ok(Some(updated))
    }
}
