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
//! The lower bound: a payment records its network's head block at creation (less
//! [`HEAD_LAG_MARGIN`]); a transfer in an earlier block, mined before `created_at` less
//! [`BLOCK_TIME_SKEW`], or stored before the payment existed never credits it automatically.

mod attach;
mod checks;
mod id;
mod query;
mod settle;

use std::{fmt, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
use tokio::sync::Mutex;

pub use id::{IdempotencyKey, PaymentId};
pub use query::{Page, PaymentFilter};
pub use settle::{
    InboxNote, InboxReason, Ingested, ObservedTransfer, OpenCredit, Settlement, Uncredit,
};

use crate::{
    address::Address,
    amount::{DecimalAmount, TokenAmount},
    catalog::{Catalog, NetworkId, TokenSymbol},
    clock::{to_millis, Clock},
    config::PaymentsConfig,
    eip681,
    entropy::Entropy,
    error::CoreError,
    events::{self, EventBus, PaymentEvent, PaymentEventKind},
    products::{ProductId, Products},
    progress::ChainProgress,
};

/// Blocks subtracted from the known head when a payment records its lower bound: the head we know
/// may be a block or two ahead of the chain the customer's wallet sees after a short reorg.
pub const HEAD_LAG_MARGIN: u64 = 5;
/// How far before `created_at` a crediting block may have been mined (the shop's clock may be a
/// little ahead of the chain's).
pub const BLOCK_TIME_SKEW: Duration = Duration::seconds(300);

/// Where a payment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    /// Waiting for the customer's transfer.
    Pending,
    /// A matching transfer was seen; waiting for confirmations.
    Confirming,
    /// Settled.
    Paid,
    /// Not paid in time.
    Expired,
    /// Cancelled by the merchant.
    Cancelled,
    /// Can no longer be paid correctly: its token was disabled while it was open (the contract on
    /// chain disagrees with the configuration, so its exact amount means something else). See
    /// [`Payments::fail_open_in_token`].
    Failed,
}

impl PaymentStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [PaymentStatus; 6] = [
        PaymentStatus::Pending,
        PaymentStatus::Confirming,
        PaymentStatus::Paid,
        PaymentStatus::Expired,
        PaymentStatus::Cancelled,
        PaymentStatus::Failed,
    ];

    /// The API and store spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Confirming => "confirming",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Failed => "failed",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                CoreError::field(
                    "status",
                    format!(
                        "{s:?} is not one of pending, confirming, paid, expired, cancelled, failed"
                    ),
                )
            })
    }

    /// Still waiting for money or confirmations.
    pub fn is_open(&self) -> bool {
        matches!(self, PaymentStatus::Pending | PaymentStatus::Confirming)
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payment session. Serialized only into the audit trail's snapshots (the API has its own DTO).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Payment {
    /// `pay_` + 128 random bits.
    pub id: PaymentId,
    /// Lifecycle state.
    pub status: PaymentStatus,
    /// Network slug.
    pub network: NetworkId,
    /// Chain id of that network.
    pub chain_id: u64,
    /// Token ticker.
    pub token: TokenSymbol,
    /// Token contract.
    pub token_contract: Address,
    /// Receive address.
    pub pay_to: Address,
    /// The amount the sale asked for.
    pub requested_amount: TokenAmount,
    /// The exact amount to pay (requested + offset_steps × step).
    pub amount: TokenAmount,
    /// k in the unique-amount rule.
    pub offset_steps: u32,
    /// Free text shown to the customer.
    pub description: Option<String>,
    /// The integrator's order id (unique).
    pub order_reference: Option<String>,
    /// The integrator's JSON object.
    pub metadata: Option<Map<String, Value>>,
    /// The product sold, when created from one.
    pub product_id: Option<ProductId>,
    /// Confirmations needed before `paid`.
    pub required_confirmations: u32,
    /// Confirmations seen so far.
    pub confirmations: u32,
    /// Crediting transaction.
    pub transaction_hash: Option<String>,
    /// Block of the crediting transaction.
    pub block_number: Option<u64>,
    /// What the crediting transfer carried (differs from `amount` only for a transfer staff
    /// attached by hand).
    pub amount_received: Option<TokenAmount>,
    /// The network's head at creation less [`HEAD_LAG_MARGIN`]: no earlier block credits it
    /// automatically. `None` when no head was known.
    pub start_block: Option<u64>,
    /// Matched after its expiry, within the grace window.
    pub late: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When an unpaid payment expires.
    pub expires_at: DateTime<Utc>,
    /// When it became `paid`.
    pub paid_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Payment {
    /// The EIP-681 URI the QR code carries.
    pub fn payment_uri(&self) -> String {
        eip681::TransferRequest {
            token: self.token_contract,
            chain_id: self.chain_id,
            to: self.pay_to,
            amount: self.amount.base_units(),
        }
        .to_string()
    }

    /// The URI for wallets that ignore token requests: just the receive address.
    pub fn address_only_uri(&self) -> String {
        eip681::address_only(&self.pay_to, self.chain_id)
    }

    /// How what was received compares with what was asked; `None` until something was received.
    pub fn amount_match(&self) -> Option<AmountMatch> {
        let received = self.amount_received?.base_units();
        let asked = self.amount.base_units();
        Some(match received.cmp(&asked) {
            std::cmp::Ordering::Less => AmountMatch::Underpaid,
            std::cmp::Ordering::Equal => AmountMatch::Exact,
            std::cmp::Ordering::Greater => AmountMatch::Overpaid,
        })
    }
}

/// What was received against what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountMatch {
    /// Exactly the amount.
    Exact,
    /// Less (an attached transfer, e.g. an exchange withdrawal minus fees).
    Underpaid,
    /// More.
    Overpaid,
}

impl AmountMatch {
    /// The API spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            AmountMatch::Exact => "exact",
            AmountMatch::Underpaid => "underpaid",
            AmountMatch::Overpaid => "overpaid",
        }
    }
}

/// How a new payment is priced.
#[derive(Debug, Clone)]
pub enum Price {
    /// A free amount in token units.
    Amount(DecimalAmount),
    /// A product's price.
    Product(ProductId),
}

/// A request to create a payment; fields other than price, token and network are optional.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Amount or product.
    pub price: Price,
    /// Token ticker.
    pub token: TokenSymbol,
    /// Network slug.
    pub network: NetworkId,
    /// Shown to the customer; defaults to the product name.
    pub description: Option<String>,
    /// The integrator's unique order id.
    pub order_reference: Option<String>,
    /// Lifetime in seconds, overriding `payments.expiry_seconds`.
    pub expires_in: Option<u64>,
    /// The integrator's JSON object, returned as given.
    pub metadata: Option<Map<String, Value>>,
    /// Replays with the same key return the same payment.
    pub idempotency_key: Option<IdempotencyKey>,
}

/// Bounds on free-text fields.
const MAX_DESCRIPTION_CHARS: usize = 500;
const MAX_ORDER_REFERENCE_CHARS: usize = 128;
const MAX_METADATA_BYTES: usize = 4096;
const MIN_EXPIRES_IN: u64 = 30;
const MAX_EXPIRES_IN: u64 = 7 * 24 * 3600;

impl NewPayment {
    fn check(&self) -> Result<(), CoreError> {
        if let Some(d) = &self.description {
            if d.chars().count() > MAX_DESCRIPTION_CHARS {
                return Err(CoreError::field(
                    "description",
                    format!("at most {MAX_DESCRIPTION_CHARS} characters"),
                ));
            }
        }
        if let Some(r) = &self.order_reference {
            if r.is_empty()
                || r.chars().count() > MAX_ORDER_REFERENCE_CHARS
                || r.chars().any(char::is_control)
            {
                return Err(CoreError::field(
                    "order_reference",
                    format!("1 to {MAX_ORDER_REFERENCE_CHARS} printable characters"),
                ));
            }
        }
        if let Some(e) = self.expires_in {
            if !(MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(&e) {
                return Err(CoreError::field(
                    "expires_in",
                    format!("seconds between {MIN_EXPIRES_IN} and {MAX_EXPIRES_IN}"),
                ));
            }
        }
        if let Some(m) = &self.metadata {
            if Value::Object(m.clone()).to_string().len() > MAX_METADATA_BYTES {
                return Err(CoreError::field(
                    "metadata",
                    format!("at most {MAX_METADATA_BYTES} bytes of JSON"),
                ));
            }
        }
        Ok(())
    }

    /// A digest of everything that defines the request, to tell a replay from a different request
    /// under the same idempotency key.
    fn fingerprint(&self) -> String {
        let price = match &self.price {
            Price::Amount(a) => serde_json::json!({ "amount": a.to_string() }),
            Price::Product(p) => serde_json::json!({ "product_id": p.as_str() }),
        };
        let canonical = serde_json::json!({
            "price": price,
            "token": self.token.as_str(),
            "network": self.network.as_str(),
            "description": self.description,
            "order_reference": self.order_reference,
            "expires_in": self.expires_in,
            "metadata": self.metadata,
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// The result of a create call.
#[derive(Debug, Clone)]
pub struct Created {
    /// The payment.
    pub payment: Payment,
    /// True when an earlier request with the same idempotency key created it.
    pub replayed: bool,
}

/// The payments service.
#[derive(Clone)]
pub struct Payments {
    pool: SqlitePool,
    catalog: Catalog,
    products: Products,
    clock: Arc<dyn Clock>,
    events: EventBus,
    rules: PaymentsConfig,
    receive_address: Option<Address>,
    progress: ChainProgress,
    entropy: Arc<dyn Entropy>,
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
        pool: SqlitePool,
        catalog: Catalog,
        products: Products,
        clock: Arc<dyn Clock>,
        events: EventBus,
        rules: PaymentsConfig,
        receive_address: Option<Address>,
        progress: ChainProgress,
        entropy: Arc<dyn Entropy>,
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
            create_lock: Arc::default(),
        }
    }

    /// The lifecycle rules.
    pub fn rules(&self) -> &PaymentsConfig {
        &self.rules
    }

    /// Where the watchers are on each network.
    pub fn progress(&self) -> &ChainProgress {
        &self.progress
    }

    /// Creates a payment, or returns the one an earlier request with the same idempotency key made.
    #[tracing::instrument(skip_all, fields(token = %req.token, network = %req.network))]
    pub async fn create(&self, req: NewPayment) -> Result<Created, CoreError> {
        req.check()?;
        let fingerprint = req.fingerprint();
        let _guard = self.create_lock.lock().await;

        if let Some(key) = &req.idempotency_key {
            if let Some((payment, earlier)) = query::by_idempotency_key(&self.pool, key).await? {
                return if earlier == fingerprint {
                    Ok(Created {
                        payment: self.expire_if_due(payment).await?,
                        replayed: true,
                    })
                } else {
                    Err(CoreError::IdempotencyKeyReused)
                };
            }
        }
        let pay_to = self
            .receive_address
            .ok_or(CoreError::MerchantNotConfigured)?;
        let (network, token) = self.catalog.token(&req.network, &req.token).await?;
        let (price, description, product_id) = match &req.price {
            Price::Amount(a) => (a.clone(), req.description.clone(), None),
            Price::Product(id) => {
                let product = self.products.get(id).await?;
                if !product.active {
                    return Err(CoreError::ProductInactive(id.to_string()));
                }
                (
                    product.price.clone(),
                    req.description.clone().or(Some(product.name)),
                    Some(id.clone()),
                )
            }
        };
        let requested = price.to_token(token.decimals)?;
        let step = self.rules.amount_step.to_token(token.decimals)?;
        if let Some(r) = &req.order_reference {
            if query::order_reference_taken(&self.pool, r).await? {
                return Err(CoreError::OrderReferenceTaken(r.clone()));
            }
        }

        let now = self.clock.now();
        let holds = query::Holds::at(now, &self.rules);
        let candidates: Vec<TokenAmount> = (0..self.rules.max_offset_steps)
            .map_while(|k| requested.offset(step, k))
            .collect();
        // Probe the offsets in growing windows (1, 8, 64, … candidates): the first is almost always
        // free, and a short IN list keeps the serialized part of a sale short.
        let mut free = None;
        let (mut start, mut window) = (0, 1);
        while free.is_none() && start < candidates.len() {
            let end = (start + window).min(candidates.len());
            let held = query::held_amounts(
                &self.pool,
                &network.id,
                &token.symbol,
                &pay_to,
                &candidates[start..end],
                &holds,
            )
            .await?;
            free = (start..end)
                .find(|&k| !held.contains(&candidates[k].base_units().to_string()))
                .map(|k| (k as u32, candidates[k]));
            (start, window) = (end, window * 8);
        }
        let (k, amount) =
            free.ok_or(CoreError::AmountSlotsExhausted(self.rules.max_offset_steps))?;

        let lifetime = req.expires_in.unwrap_or(self.rules.expiry_seconds);
        let start_block = match self.progress.head(&network.id) {
            Some(head) => Some(head),
            // No head seen yet (offline, or just started): the watcher's cursor is an earlier block
            // of the same chain, so still a sound (if looser) bound.
            None if self.progress.is_watched(&network.id) => {
                query::cursor_block(&self.pool, &network.id).await?
            }
            None => None,
        }
        .map(|b| b.saturating_sub(HEAD_LAG_MARGIN));
        let payment = Payment {
            id: PaymentId::random(self.entropy.as_ref()),
            status: PaymentStatus::Pending,
            network: network.id.clone(),
            chain_id: network.chain_id,
            token: token.symbol.clone(),
            token_contract: token.contract_address,
            pay_to,
            requested_amount: requested,
            amount,
            offset_steps: k,
            description,
            order_reference: req.order_reference.clone(),
            metadata: req.metadata.clone(),
            product_id,
            required_confirmations: self.rules.confirmations,
            confirmations: 0,
            transaction_hash: None,
            block_number: None,
            amount_received: None,
            start_block,
            late: false,
            created_at: now,
            expires_at: now + Duration::seconds(lifetime as i64),
            paid_at: None,
            updated_at: now,
        };
        let event = PaymentEvent {
            kind: PaymentEventKind::Created,
            payment,
        };
        // One statement: the insert's trigger records the `payment.created` event atomically.
        query::insert(
            &self.pool,
            &event.payment,
            req.idempotency_key.as_ref(),
            &fingerprint,
        )
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.message().contains("order_reference") => {
                CoreError::OrderReferenceTaken(req.order_reference.clone().unwrap_or_default())
            }
            _ => CoreError::Database(e),
        })?;
        let payment = event.payment.clone();
        self.events.publish(event);
        Ok(Created {
            payment,
            replayed: false,
        })
    }

    /// One payment; an open one past its expiry is expired on the way.
    pub async fn get(&self, id: &PaymentId) -> Result<Payment, CoreError> {
        let payment = query::by_id(&self.pool, id)
            .await?
            .ok_or(CoreError::PaymentNotFound)?;
        self.expire_if_due(payment).await
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
            "UPDATE payment_sessions SET status = ?, updated_at = ?,
               closed_at = CASE WHEN ? THEN ? ELSE closed_at END,
               paid_at = CASE WHEN ? = 'paid' THEN ? ELSE paid_at END
             WHERE id = ? AND status = ?",
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
