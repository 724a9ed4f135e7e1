//! From chain observations to payment states: every Transfer log to the receive address is stored
//! once (unique on chain, tx hash, log index); a log whose value equals a held exact amount credits
//! that payment (`confirming`) when it passes the payment's lower bound; confirmations, finality and
//! a second endpoint settle it (`paid`); a log whose block left the canonical chain, or that a
//! second endpoint says is not there, un-credits it (`pending`, event `payment.reverted`). A paid
//! payment is never un-paid.
//!
//! Exactly once: one transaction hash credits at most one payment, whatever its log index (a reorg
//! may re-include it at another). A transfer that matches a sale it cannot credit — cancelled, already
//! paid, or older than the sale — waits in the inbox linked to that sale, and never pays another.

use std::collections::{HashMap, HashSet};

use alloy_primitives::{B256, U256};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;

use super::{query, Payment, PaymentId, PaymentStatus, Payments, BLOCK_TIME_SKEW};
use crate::{
    address::Address,
    catalog::NetworkId,
    clock::{from_millis, to_millis},
    error::CoreError,
    events::{self, PaymentEvent, PaymentEventKind},
};

/// One Transfer log as the chain showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTransfer {
    /// Network slug.
    pub network: NetworkId,
    /// Chain id.
    pub chain_id: u64,
    /// Emitting token contract.
    pub token_contract: Address,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Log index in the block.
    pub log_index: u64,
    /// Block height.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// When the block was mined, when known.
    pub block_time: Option<DateTime<Utc>>,
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Amount in base units.
    pub value: U256,
    /// The RPC endpoint that reported it (its key).
    pub source: Option<String>,
}

/// Why a transfer that matches a sale's exact amount did not credit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxReason {
    /// The sale was cancelled (the customer paid anyway, or had already sent it).
    PaidAfterCancel,
    /// The sale is already credited or paid: a second payment.
    SecondPayment,
    /// Mined (or first seen) before the sale existed: an old transfer, not this sale's.
    BeforeSale,
    /// Its transaction already credits another payment.
    SameTransaction,
}

impl InboxReason {
    /// The API and store spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            InboxReason::PaidAfterCancel => "paid_after_cancel",
            InboxReason::SecondPayment => "second_payment",
            InboxReason::BeforeSale => "before_sale",
            InboxReason::SameTransaction => "same_transaction",
        }
    }
}

/// Why a transfer is in the inbox, and the sale it belongs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxNote {
    /// Why it credited nothing.
    pub reason: InboxReason,
    /// The sale it was meant for.
    pub payment: PaymentId,
}

/// What storing a log did.
#[derive(Debug, Clone, PartialEq)]
pub enum Ingested {
    /// It credited this payment.
    Credited(Box<Payment>),
    /// It was seen before and still credits (or never credited) the same payment: nothing changed.
    AlreadyKnown,
    /// It credits nothing; kept for staff review, with why when it matched a sale it cannot pay.
    Unmatched(Option<InboxNote>),
}

/// A confirming payment and where its credit sits.
#[derive(Debug, Clone)]
pub struct OpenCredit {
    /// The payment.
    pub payment: Payment,
    /// Block hash of the crediting log.
    pub block_hash: B256,
    /// Crediting transaction.
    pub tx_hash: B256,
    /// The endpoint that reported the credit, when known.
    pub source: Option<String>,
}

/// Why a credit is taken back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uncredit {
    /// Its block left the canonical chain.
    Reorg,
    /// A second endpoint says the transaction is not in the block the first one reported.
    NotConfirmed {
        /// The endpoint that contradicted it.
        by: String,
    },
}

/// How a payment became settled, for its audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settlement {
    /// Endpoints that confirmed the crediting receipt and block, besides the one that found it.
    pub confirmed_by: Vec<String>,
    /// No second endpoint could answer in time: settled on one source (an alert is raised).
    pub single_source: bool,
}

/// A holder of an exact amount, as matching sees it.
struct Holder {
    id: PaymentId,
    status: PaymentStatus,
    credited: bool,
    start_block: Option<u64>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// The lower bound (module doc of [`super`]): whether `t`, first stored at `first_seen` (if it was),
/// is older than a payment created at `created_at` that recorded `start_block` — mined before that
/// block, mined well before it was created, or stored before it existed.
pub(crate) fn predates(
    t: &ObservedTransfer,
    first_seen: Option<DateTime<Utc>>,
    start_block: Option<u64>,
    created_at: DateTime<Utc>,
) -> bool {
    start_block.is_some_and(|b| t.block_number < b)
        || t.block_time
            .is_some_and(|mined| mined < created_at - BLOCK_TIME_SKEW)
        || first_seen.is_some_and(|seen| seen < created_at)
}

impl Holder {
    /// `t`, first stored at `first_seen`, may credit this payment: it is open for credit and the
    /// transfer passes its lower bound.
    fn accepts(&self, t: &ObservedTransfer, first_seen: DateTime<Utc>) -> bool {
        matches!(self.status, PaymentStatus::Pending | PaymentStatus::Expired)
            && !self.credited
            && !predates(t, Some(first_seen), self.start_block, self.created_at)
    }

    fn inbox_reason(&self) -> InboxReason {
        match self.status {
            PaymentStatus::Cancelled => InboxReason::PaidAfterCancel,
            PaymentStatus::Confirming | PaymentStatus::Paid => InboxReason::SecondPayment,
            _ if self.credited => InboxReason::SecondPayment,
            _ => InboxReason::BeforeSale,
        }
    }
}

/// What a run of logs needs to know of the store, read once for the whole run instead of per log
/// (a backfill stores thousands of logs, and each statement is a round trip to SQLite's thread).
/// Exact for the run: it is read inside the run's write transaction, so nothing else changes the
/// store meanwhile, and the run's own changes are written into it as they are made.
struct RunView {
    /// (tx hash, log index) → the block hash stored, for the run's transactions' stored logs.
    stored: HashMap<(String, u64), Option<String>>,
    /// tx hash → the payment one of its logs credits.
    owners: HashMap<String, String>,
    /// (network, token contract, pay-to, amount in base units) some payment holds: a log of any
    /// other has no holder to look for.
    held: HashSet<(String, String, String, String)>,
}

impl RunView {
    async fn read(
        tx: &mut sqlx::SqliteConnection,
        transfers: &[ObservedTransfer],
        now: &DateTime<Utc>,
        rules: &crate::config::PaymentsConfig,
    ) -> Result<Self, CoreError> {
        let mut view = Self {
            stored: HashMap::new(),
            owners: HashMap::new(),
            held: HashSet::new(),
        };
        // The lists differ in length from run to run: such statements are not kept in sqlx's
        // per-connection statement cache (`persistent(false)`), which they would only fill.
        let chains: HashSet<u64> = transfers.iter().map(|t| t.chain_id).collect();
        for chain_id in chains {
            let hashes: HashSet<String> = transfers
                .iter()
                .filter(|t| t.chain_id == chain_id)
                .map(|t| t.tx_hash.to_string())
                .collect();
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT tx_hash, log_index, block_hash, payment_id FROM transfers WHERE chain_id = ",
            );
            q.push_bind(chain_id as i64).push(" AND tx_hash IN (");
            let mut list = q.separated(", ");
            for h in &hashes {
                list.push_bind(h.as_str());
            }
            list.push_unseparated(")");
            for row in q.build().persistent(false).fetch_all(&mut *tx).await? {
                let hash: String = row.try_get("tx_hash")?;
                let index: i64 = row.try_get("log_index")?;
                if let Some(owner) = row.try_get::<Option<String>, _>("payment_id")? {
                    view.owners.insert(hash.clone(), owner);
                }
                view.stored
                    .insert((hash, index as u64), row.try_get("block_hash")?);
            }
        }
        // Which of the run's amounts some payment holds (only those: a shop may hold thousands).
        let places: HashSet<(&str, String)> = transfers
            .iter()
            .map(|t| (t.network.as_str(), t.to.checksummed()))
            .collect();
        let holds = query::Holds::at(*now, rules);
        for (network, pay_to) in places {
            let amounts: HashSet<String> = transfers
                .iter()
                .filter(|t| t.network.as_str() == network && t.to.checksummed() == pay_to)
                .map(|t| t.value.to_string())
                .collect();
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "SELECT DISTINCT token_contract, amount_base_units FROM payment_sessions WHERE network_id = ",
            );
            q.push_bind(network)
                .push(" AND pay_to = ")
                .push_bind(pay_to.as_str())
                .push(" AND amount_base_units IN (");
            let mut list = q.separated(", ");
            for amount in &amounts {
                list.push_bind(amount.as_str());
            }
            list.push_unseparated(") AND ");
            holds.push_condition(&mut q);
            for row in q.build().persistent(false).fetch_all(&mut *tx).await? {
                view.held.insert((
                    network.to_string(),
                    row.try_get("token_contract")?,
                    pay_to.clone(),
                    row.try_get("amount_base_units")?,
                ));
            }
        }
        Ok(view)
    }

    /// Whether some payment may hold `t`'s exact amount.
    fn holds(&self, t: &ObservedTransfer) -> bool {
        self.held.contains(&(
            t.network.as_str().to_string(),
            t.token_contract.checksummed(),
            t.to.checksummed(),
            t.value.to_string(),
        ))
    }
}

impl Payments {
    /// Stores `t` exactly once and credits the payment holding its exact amount, if any.
    /// `only` restricts crediting to one payment (the manual check).
    pub async fn ingest(
        &self,
        t: &ObservedTransfer,
        only: Option<&PaymentId>,
    ) -> Result<Ingested, CoreError> {
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let (ingested, event) = self.ingest_in(&mut tx, t, only, None).await?;
        tx.commit().await?;
        if let Some(event) = event {
            self.events.publish(event);
        }
        Ok(ingested)
    }

    /// [`Self::ingest`] for a run of logs in one transaction (a backfill stores thousands): all of
    /// them are stored or none is, and their events are published once the run is committed.
    pub async fn ingest_batch(
        &self,
        transfers: &[ObservedTransfer],
    ) -> Result<Vec<Ingested>, CoreError> {
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let mut view = RunView::read(&mut tx, transfers, &self.clock.now(), &self.rules).await?;
        let mut results = Vec::with_capacity(transfers.len());
        let mut events = Vec::new();
        for t in transfers {
            let (ingested, event) = self.ingest_in(&mut tx, t, None, Some(&mut view)).await?;
            results.push(ingested);
            events.extend(event);
        }
        tx.commit().await?;
        for event in events {
            self.events.publish(event);
        }
        Ok(results)
    }

    async fn ingest_in(
        &self,
        tx: &mut sqlx::SqliteConnection,
        t: &ObservedTransfer,
        only: Option<&PaymentId>,
        mut view: Option<&mut RunView>,
    ) -> Result<(Ingested, Option<PaymentEvent>), CoreError> {
        let now = self.clock.now();
        let tx_hash = t.tx_hash.to_string();
        // The block hash this log was stored with, when it was stored before.
        let before: Option<Option<String>> = match view.as_deref() {
            Some(v) => v.stored.get(&(tx_hash.clone(), t.log_index)).cloned(),
            None => sqlx::query_scalar(
                "SELECT block_hash FROM transfers WHERE chain_id = ? AND tx_hash = ? AND log_index = ?",
            )
            .bind(t.chain_id as i64)
            .bind(&tx_hash)
            .bind(t.log_index as i64)
            .fetch_optional(&mut *tx)
            .await?,
        };
        let seen_before = before.is_some();
        let row = sqlx::query(
            "INSERT INTO transfers (chain_id, network_id, token_contract, tx_hash, log_index, block_number, block_hash,
                from_address, to_address, value_base_units, seen_at, block_time, source)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE SET
                block_number = excluded.block_number, block_hash = excluded.block_hash, removed = 0,
                block_time = COALESCE(excluded.block_time, block_time), source = COALESCE(excluded.source, source)
             RETURNING seq, payment_id, seen_at",
        )
        .bind(t.chain_id as i64)
        .bind(t.network.as_str())
        .bind(t.token_contract.checksummed())
        .bind(t.tx_hash.to_string())
        .bind(t.log_index as i64)
        .bind(t.block_number as i64)
        .bind(t.block_hash.to_string())
        .bind(t.from.checksummed())
        .bind(t.to.checksummed())
        .bind(t.value.to_string())
        .bind(to_millis(now))
        .bind(t.block_time.map(to_millis))
        .bind(&t.source)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(v) = view.as_deref_mut() {
            v.stored.insert(
                (tx_hash.clone(), t.log_index),
                Some(t.block_hash.to_string()),
            );
        }
        let seq: i64 = row.try_get("seq")?;
        let first_seen = from_millis(row.try_get("seen_at")?);
        if let Some(owner) = row.get::<Option<String>, _>("payment_id") {
            // This log already credits a payment: exactly once, whatever path saw it again. Seen
            // in another block (re-included by a reorg at the same index), the credit moves with it.
            let moved = before
                .flatten()
                .is_some_and(|h| h != t.block_hash.to_string());
            let event = if moved {
                self.move_credit(tx, &PaymentId::from_store(owner), t)
                    .await?
            } else {
                None
            };
            return Ok((Ingested::AlreadyKnown, event));
        }
        // One transaction credits at most one payment, whatever its log index.
        let tx_owner: Option<String> = match view.as_deref() {
            Some(v) => v.owners.get(&tx_hash).cloned(),
            None => sqlx::query_scalar(
                "SELECT payment_id FROM transfers WHERE chain_id = ? AND tx_hash = ? AND payment_id IS NOT NULL LIMIT 1",
            )
            .bind(t.chain_id as i64)
            .bind(&tx_hash)
            .fetch_optional(&mut *tx)
            .await?,
        };
        if let Some(owner) = tx_owner {
            let note = InboxNote {
                reason: InboxReason::SameTransaction,
                payment: PaymentId::from_store(owner),
            };
            return self
                .keep_unmatched(tx, seq, t, Some(note), seen_before, now)
                .await;
        }
        let unheld = view.as_deref().is_some_and(|v| !v.holds(t));
        let holders = if unheld {
            vec![]
        } else {
            self.holders(tx, t, only).await?
        };
        let credit = holders
            .iter()
            .filter(|h| h.accepts(t, first_seen))
            .min_by_key(|h| h.status != PaymentStatus::Pending);
        let Some(holder) = credit else {
            let note = holders.first().map(|h| InboxNote {
                reason: h.inbox_reason(),
                payment: h.id.clone(),
            });
            return self
                .keep_unmatched(tx, seq, t, note, seen_before, now)
                .await;
        };
        let id = holder.id.clone();
        let late = match t.block_time {
            // Late only if mined after the expiry, however late the watcher saw it.
            Some(mined) => mined > holder.expires_at,
            None => holder.status == PaymentStatus::Expired,
        };
        let previous = holder.status;
        sqlx::query(
            "UPDATE payment_sessions SET status = 'confirming', transaction_hash = ?, block_number = ?, block_hash = ?,
                log_index = ?, confirmations = 0, late = ?, closed_at = NULL, amount_received = ?, credit_source = ?,
                updated_at = ?
             WHERE id = ?",
        )
        .bind(t.tx_hash.to_string())
        .bind(t.block_number as i64)
        .bind(t.block_hash.to_string())
        .bind(t.log_index as i64)
        .bind(late)
        .bind(t.value.to_string())
        .bind(&t.source)
        .bind(to_millis(now))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE transfers SET payment_id = ?, related_payment_id = NULL, note = NULL WHERE seq = ?",
        )
        .bind(id.as_str())
        .bind(seq)
        .execute(&mut *tx)
        .await?;
        if let Some(v) = view {
            v.owners.insert(tx_hash, id.to_string());
        }
        let after = query::by_id_in(tx, &id)
            .await?
            .ok_or(CoreError::PaymentNotFound)?;
        let event = PaymentEvent {
            kind: PaymentEventKind::StatusChanged { previous },
            payment: after,
        };
        events::record(
            tx,
            &event,
            Some(json!({
                "transaction_hash": t.tx_hash.to_string(),
                "block_number": t.block_number,
                "source": t.source,
            })),
        )
        .await?;
        let payment = event.payment.clone();
        Ok((Ingested::Credited(Box::new(payment)), Some(event)))
    }

    /// Payments holding `t`'s exact amount (open, or closed within their hold), oldest first.
    async fn holders(
        &self,
        tx: &mut sqlx::SqliteConnection,
        t: &ObservedTransfer,
        only: Option<&PaymentId>,
    ) -> Result<Vec<Holder>, CoreError> {
        let holds = query::Holds::at(self.clock.now(), &self.rules);
        let sql = format!(
            "SELECT id, status, transaction_hash, start_block, created_at, expires_at FROM payment_sessions
             WHERE network_id = ? AND token_contract = ? AND pay_to = ? AND amount_base_units = ? AND {}
               AND (? IS NULL OR id = ?)
             ORDER BY seq",
            query::Holds::SQL
        );
        let mut q = sqlx::query(&sql)
            .bind(t.network.as_str())
            .bind(t.token_contract.checksummed())
            .bind(t.to.checksummed())
            .bind(t.value.to_string());
        for millis in holds.millis() {
            q = q.bind(millis);
        }
        let rows = q
            .bind(only.map(|p| p.as_str()))
            .bind(only.map(|p| p.as_str()))
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Holder {
                    id: PaymentId::from_store(r.try_get("id")?),
                    status: PaymentStatus::parse(r.try_get("status")?)?,
                    credited: r.get::<Option<String>, _>("transaction_hash").is_some(),
                    start_block: r.get::<Option<i64>, _>("start_block").map(|b| b as u64),
                    created_at: from_millis(r.try_get("created_at")?),
                    expires_at: from_millis(r.try_get("expires_at")?),
                })
            })
            .collect()
    }

    async fn keep_unmatched(
        &self,
        tx: &mut sqlx::SqliteConnection,
        seq: i64,
        t: &ObservedTransfer,
        note: Option<InboxNote>,
        seen_before: bool,
        now: DateTime<Utc>,
    ) -> Result<(Ingested, Option<PaymentEvent>), CoreError> {
        if let Some(n) = &note {
            sqlx::query("UPDATE transfers SET related_payment_id = ?, note = ? WHERE seq = ?")
                .bind(n.payment.as_str())
                .bind(n.reason.as_str())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            tracing::warn!(tx = %t.tx_hash, payment = %n.payment, reason = n.reason.as_str(), "transfer matches a sale it cannot pay; kept in the inbox, linked to it");
        }
        if !seen_before {
            events::record_unmatched(tx, seq, t, note.as_ref(), now).await?;
        }
        Ok((Ingested::Unmatched(note), None))
    }

    /// The crediting log of `id` was seen again in another block: the credit follows it (counted
    /// from the new block), instead of flapping back to `pending` and forward again.
    async fn move_credit(
        &self,
        tx: &mut sqlx::SqliteConnection,
        id: &PaymentId,
        t: &ObservedTransfer,
    ) -> Result<Option<PaymentEvent>, CoreError> {
        let moved = sqlx::query(
            "UPDATE payment_sessions SET block_number = ?, block_hash = ?, confirmations = 0, updated_at = ?
             WHERE id = ? AND status = 'confirming'",
        )
        .bind(t.block_number as i64)
        .bind(t.block_hash.to_string())
        .bind(to_millis(self.clock.now()))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(None);
        }
        tracing::info!(payment = %id, block = t.block_number, "crediting transaction re-included in another block");
        Ok(query::by_id_in(tx, id).await?.map(|payment| PaymentEvent {
            kind: PaymentEventKind::Progress,
            payment,
        }))
    }

    /// Confirming payments on a network, with where their credit sits.
    pub async fn open_credits(&self, network: &NetworkId) -> Result<Vec<OpenCredit>, CoreError> {
        let rows = sqlx::query("SELECT id, block_hash, transaction_hash, credit_source FROM payment_sessions WHERE network_id = ? AND status = 'confirming'")
            .bind(network.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for row in rows {
            let id = PaymentId::from_store(row.try_get("id")?);
            let hash: String = row.try_get("block_hash")?;
            let tx_hash: String = row.try_get("transaction_hash")?;
            if let (Some(payment), Ok(block_hash), Ok(tx_hash)) = (
                query::by_id(&self.pool, &id).await?,
                hash.parse(),
                tx_hash.parse(),
            ) {
                out.push(OpenCredit {
                    payment,
                    block_hash,
                    tx_hash,
                    source: row.try_get("credit_source")?,
                });
            }
        }
        Ok(out)
    }

    /// Takes a credit back: the log is marked removed and the payment returns to `pending`, so the
    /// amount can be paid (or the log re-included) again. Publishes `payment.reverted`.
    pub async fn uncredit(
        &self,
        payment: &Payment,
        why: &Uncredit,
    ) -> Result<Option<Payment>, CoreError> {
        let now = self.clock.now();
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let Some(before) = query::by_id_in(&mut tx, &payment.id).await? else {
            return Ok(None);
        };
        if before.status != PaymentStatus::Confirming {
            return Ok(None);
        }
        let (reason, note) = match why {
            Uncredit::Reorg => ("reorg", None),
            Uncredit::NotConfirmed { .. } => ("not_confirmed", Some("not_confirmed")),
        };
        sqlx::query(
            "UPDATE transfers SET removed = 1, payment_id = NULL, note = COALESCE(?, note) WHERE payment_id = ?",
        )
        .bind(note)
        .bind(payment.id.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE payment_sessions SET status = 'pending', transaction_hash = NULL, block_number = NULL, block_hash = NULL,
                log_index = NULL, confirmations = 0, late = 0, amount_received = NULL, credit_source = NULL, updated_at = ?
             WHERE id = ?",
        )
        .bind(to_millis(now))
        .bind(payment.id.as_str())
        .execute(&mut *tx)
        .await?;
        let after = query::by_id_in(&mut tx, &payment.id)
            .await?
            .ok_or(CoreError::PaymentNotFound)?;
        let event = PaymentEvent {
            kind: PaymentEventKind::StatusChanged {
                previous: PaymentStatus::Confirming,
            },
            payment: after,
        };
        let contradicted_by = match why {
            Uncredit::NotConfirmed { by } => Some(by.as_str()),
            Uncredit::Reorg => None,
        };
        events::record(
            &mut tx,
            &event,
            Some(json!({
                "reason": reason,
                "orphaned_transaction": before.transaction_hash,
                "contradicted_by": contradicted_by,
            })),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(payment = %payment.id, reason, "credit taken back; payment back to pending");
        let payment = event.payment.clone();
        self.events.publish(event);
        Ok(Some(payment))
    }

    /// Marks stored logs in the given (number, hash) blocks, which left the chain, as removed.
    /// The logs of credited payments are handled by [`Payments::uncredit`].
    pub async fn remove_orphaned_logs(
        &self,
        network: &NetworkId,
        orphaned: &[(u64, B256)],
    ) -> Result<u64, CoreError> {
        let mut n = 0;
        for (number, hash) in orphaned {
            n += sqlx::query("UPDATE transfers SET removed = 1 WHERE network_id = ? AND block_number = ? AND block_hash = ? AND payment_id IS NULL")
                .bind(network.as_str())
                .bind(*number as i64)
                .bind(hash.to_string())
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(n)
    }

    /// Distinct (block number, block hash) of stored, non-removed logs at or above `from_block`.
    pub async fn recent_log_blocks(
        &self,
        network: &NetworkId,
        from_block: u64,
    ) -> Result<Vec<(u64, B256)>, CoreError> {
        let rows = sqlx::query("SELECT DISTINCT block_number, block_hash FROM transfers WHERE network_id = ? AND block_number >= ? AND removed = 0")
            .bind(network.as_str())
            .bind(from_block as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| crate::store::block(r, "block_number", "block_hash"))
            .collect()
    }

    /// Records `confirmations` for a confirming payment and, when `settled`, makes it `paid`.
    pub async fn confirm(
        &self,
        payment: &Payment,
        confirmations: u32,
        settled: Option<&Settlement>,
    ) -> Result<Option<Payment>, CoreError> {
        if let Some(settlement) = settled {
            sqlx::query("UPDATE payment_sessions SET confirmations = ? WHERE id = ? AND status = 'confirming'")
                .bind(confirmations as i64)
                .bind(payment.id.as_str())
                .execute(&self.pool)
                .await?;
            let mut current = payment.clone();
            current.confirmations = confirmations;
            let detail = json!({
                "confirmations": confirmations,
                "confirmed_by": settlement.confirmed_by,
                "single_source": settlement.single_source,
            });
            return self
                .transition_with(
                    &current,
                    PaymentStatus::Confirming,
                    PaymentStatus::Paid,
                    Some(detail),
                )
                .await;
        }
        if confirmations == payment.confirmations {
            return Ok(None);
        }
        let now = self.clock.now();
        let changed = sqlx::query("UPDATE payment_sessions SET confirmations = ?, updated_at = ? WHERE id = ? AND status = 'confirming'")
            .bind(confirmations as i64)
            .bind(to_millis(now))
            .bind(payment.id.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let mut updated = payment.clone();
        updated.confirmations = confirmations;
        updated.updated_at = now;
        self.events.publish(PaymentEvent {
            kind: PaymentEventKind::Progress,
            payment: updated.clone(),
        });
        Ok(Some(updated))
    }
}
