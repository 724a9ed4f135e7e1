//! From a Transfer log to a credit: each log stored once (unique on chain, tx hash, log index); a log
//! whose value equals a held exact amount credits that payment (`confirming`) when it passes the
//! payment's lower bound; anything else waits in the inbox, linked to the sale it was meant for when
//! it matched one it could not pay. One transaction hash credits at most one payment, whatever its
//! log index.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;

use super::{
    holders::{self, Holder, Holds, RunView},
    query, InboxNote, InboxReason, Ingested, ObservedTransfer, PaymentId, PaymentStatus, Payments,
};
use crate::{
    clock::{from_millis, to_millis},
    error::CoreError,
    events::{self, PaymentEvent, PaymentEventKind},
    store::Sql,
    transfers,
};

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
        tx: &mut crate::store::Conn,
        t: &ObservedTransfer,
        only: Option<&PaymentId>,
        mut view: Option<&mut RunView>,
    ) -> Result<(Ingested, Option<PaymentEvent>), CoreError> {
        let now = self.clock.now();
        let tx_hash = t.tx_hash.to_string();
        // The block hash this log was stored with, when it was stored before.
        let before: Option<Option<String>> = match view.as_deref() {
            Some(v) => v.stored.get(&(tx_hash.clone(), t.log_index)).cloned(),
            None => transfers::stored_block_hash(tx, t).await?,
        };
        let seen_before = before.is_some();
        let stored = transfers::upsert(tx, t, now).await?;
        if let Some(v) = view.as_deref_mut() {
            v.stored.insert(
                (tx_hash.clone(), t.log_index),
                Some(t.block_hash.to_string()),
            );
        }
        if let Some(owner) = stored.payment_id {
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
            None => transfers::transaction_owner(&mut *tx, t.chain_id, &tx_hash).await?,
        };
        if let Some(owner) = tx_owner {
            let note = InboxNote {
                reason: InboxReason::SameTransaction,
                payment: PaymentId::from_store(owner),
            };
            return self
                .keep_unmatched(tx, stored.seq, t, Some(note), seen_before, now)
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
            .filter(|h| h.accepts(t, stored.seen_at))
            .min_by_key(|h| h.status != PaymentStatus::Pending);
        let Some(holder) = credit else {
            let note = match holders.first() {
                Some(h) => Some(InboxNote {
                    reason: h.inbox_reason(),
                    payment: h.id.clone(),
                }),
                None => holders::nearest_open_sale(tx, t, stored.seen_at)
                    .await?
                    .map(|payment| InboxNote {
                        reason: InboxReason::WrongAmount,
                        payment,
                    }),
            };
            return self
                .keep_unmatched(tx, stored.seq, t, note, seen_before, now)
                .await;
        };
        let event = self.credit(tx, t, holder, stored.seq, now).await?;
        if let Some(v) = view {
            v.owners.insert(tx_hash, holder.id.to_string());
        }
        let payment = event.payment.clone();
        Ok((Ingested::Credited(Box::new(payment)), Some(event)))
    }

    /// Credits `holder` with log `t` (stored as transfer `seq`): `confirming`, its event recorded.
    async fn credit(
        &self,
        tx: &mut crate::store::Conn,
        t: &ObservedTransfer,
        holder: &Holder,
        seq: i64,
        now: DateTime<Utc>,
    ) -> Result<PaymentEvent, CoreError> {
        let late = match t.block_time {
            // Late only if mined after the expiry, however late the watcher saw it.
            Some(mined) => mined > holder.expires_at,
            None => holder.status == PaymentStatus::Expired,
        };
        query::credit(tx, &holder.id, t, late, now).await?;
        transfers::mark_credited(tx, seq, &holder.id).await?;
        let after = query::by_id_in(tx, &holder.id)
            .await?
            .ok_or(CoreError::PaymentNotFound)?;
        let event = PaymentEvent {
            kind: PaymentEventKind::StatusChanged {
                previous: holder.status,
            },
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
        Ok(event)
    }

    /// Payments holding `t`'s exact amount (open, or closed within their hold), oldest first.
    async fn holders(
        &self,
        tx: &mut crate::store::Conn,
        t: &ObservedTransfer,
        only: Option<&PaymentId>,
    ) -> Result<Vec<Holder>, CoreError> {
        let holds = Holds::at(self.clock.now(), &self.rules);
        let only = only.map(|p| p.as_str());
        let mut q = Sql::new(
            "SELECT id, status, transaction_hash, start_block, created_at, expires_at FROM payment_sessions
             WHERE network_id = ",
        );
        q.bind(t.network.as_str())
            .push(" AND token_contract = ")
            .bind(t.token_contract.checksummed())
            .push(" AND pay_to = ")
            .bind(t.to.checksummed())
            .push(" AND amount_base_units = ")
            .bind(t.value.to_string())
            .push(" AND ");
        holds.push_condition(&mut q);
        q.push(" AND (")
            .bind(only)
            .push(" IS NULL OR id = ")
            .bind(only)
            .push(") ORDER BY seq");
        let rows = q.query().fetch_all(&mut *tx).await?;
        rows.iter()
            .map(|r| {
                Ok(Holder {
                    id: PaymentId::from_store(r.try_get("id")?),
                    status: PaymentStatus::parse(r.try_get("status")?)?,
                    credited: r
                        .try_get::<Option<String>, _>("transaction_hash")?
                        .is_some(),
                    start_block: r
                        .try_get::<Option<i64>, _>("start_block")?
                        .map(|b| b as u64),
                    created_at: from_millis(r.try_get("created_at")?),
                    expires_at: from_millis(r.try_get("expires_at")?),
                })
            })
            .collect()
    }

    async fn keep_unmatched(
        &self,
        tx: &mut crate::store::Conn,
        seq: i64,
        t: &ObservedTransfer,
        note: Option<InboxNote>,
        seen_before: bool,
        now: DateTime<Utc>,
    ) -> Result<(Ingested, Option<PaymentEvent>), CoreError> {
        let mut event = None;
        if let Some(n) = &note {
            transfers::note_related(tx, seq, n).await?;
            tracing::warn!(tx = %t.tx_hash, payment = %n.payment, reason = n.reason.as_str(), "transfer matches a sale it cannot pay; kept in the inbox, linked to it");
            if n.reason == InboxReason::WrongAmount {
                event = self.show_wrong_amount(tx, &n.payment, seq, t, now).await?;
            }
        }
        if !seen_before {
            events::record_unmatched(tx, seq, t, note.as_ref(), now).await?;
        }
        Ok((Ingested::Unmatched(note), event))
    }

    /// Puts transfer `seq` (of the wrong amount) on open sale `id`, so both screens show what
    /// arrived beside what is asked: a progress event, the status unchanged.
    async fn show_wrong_amount(
        &self,
        tx: &mut crate::store::Conn,
        id: &PaymentId,
        seq: i64,
        t: &ObservedTransfer,
        now: DateTime<Utc>,
    ) -> Result<Option<PaymentEvent>, CoreError> {
        if !query::show_wrong_amount(tx, id, seq, &t.value.to_string(), now).await? {
            return Ok(None);
        }
        Ok(query::by_id_in(tx, id).await?.map(|payment| PaymentEvent {
            kind: PaymentEventKind::Progress,
            payment,
        }))
    }

    /// The crediting log of `id` was seen again in another block: the credit follows it (counted
    /// from the new block), instead of flapping back to `pending` and forward again.
    async fn move_credit(
        &self,
        tx: &mut crate::store::Conn,
        id: &PaymentId,
        t: &ObservedTransfer,
    ) -> Result<Option<PaymentEvent>, CoreError> {
        let moved = sqlx::query(
            "UPDATE payment_sessions SET block_number = $1, block_hash = $2, confirmations = 0, updated_at = $3
             WHERE id = $4 AND status = 'confirming'",
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
}
