//! From chain observations to payment states: every Transfer log to the receive address is stored
//! once (unique on chain, tx hash, log index); a log whose value equals a held exact amount credits
//! that payment (`confirming`); confirmations and finality settle it (`paid`); a log whose block left
//! the canonical chain un-credits it (`pending`). A paid payment is never un-paid.

use alloy_primitives::{B256, U256};
use chrono::Duration;
use serde_json::json;
use sqlx::Row;

use super::{query, Payment, PaymentId, PaymentStatus, Payments};
use crate::{
    address::Address,
    catalog::NetworkId,
    clock::to_millis,
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
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Amount in base units.
    pub value: U256,
}

/// What storing a log did.
#[derive(Debug, Clone, PartialEq)]
pub enum Ingested {
    /// It credited this payment.
    Credited(Box<Payment>),
    /// It was seen before and still credits (or never credited) the same payment: nothing changed.
    AlreadyKnown,
    /// It matches no held payment; kept for staff review.
    Unmatched,
}

/// A confirming payment and where its credit sits.
#[derive(Debug, Clone)]
pub struct OpenCredit {
    /// The payment.
    pub payment: Payment,
    /// Block hash of the crediting log.
    pub block_hash: B256,
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
        let (ingested, event) = self.ingest_in(&mut tx, t, only).await?;
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
        let mut results = Vec::with_capacity(transfers.len());
        let mut events = Vec::new();
        for t in transfers {
            let (ingested, event) = self.ingest_in(&mut tx, t, None).await?;
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
    ) -> Result<(Ingested, Option<PaymentEvent>), CoreError> {
        let now = self.clock.now();
        let grace_start = now - Duration::seconds(self.rules.late_grace_seconds as i64);
        let seen_before = sqlx::query(
            "SELECT 1 FROM transfers WHERE chain_id = ? AND tx_hash = ? AND log_index = ?",
        )
        .bind(t.chain_id as i64)
        .bind(t.tx_hash.to_string())
        .bind(t.log_index as i64)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        let row = sqlx::query(
            "INSERT INTO transfers (chain_id, network_id, token_contract, tx_hash, log_index, block_number, block_hash,
                from_address, to_address, value_base_units, seen_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE SET
                block_number = excluded.block_number, block_hash = excluded.block_hash, removed = 0
             RETURNING seq, payment_id",
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
        .fetch_one(&mut *tx)
        .await?;
        let seq: i64 = row.get("seq");
        if row.get::<Option<String>, _>("payment_id").is_some() {
            // This log already credits a payment: exactly once, whatever path saw it again.
            return Ok((Ingested::AlreadyKnown, None));
        }
        let candidate = sqlx::query(
            "SELECT id FROM payment_sessions
             WHERE network_id = ? AND token_contract = ? AND pay_to = ? AND amount_base_units = ?
               AND transaction_hash IS NULL
               AND (status = 'pending' OR (status = 'expired' AND expires_at > ?))
               AND (? IS NULL OR id = ?)
             ORDER BY status = 'pending' DESC, seq LIMIT 1",
        )
        .bind(t.network.as_str())
        .bind(t.token_contract.checksummed())
        .bind(t.to.checksummed())
        .bind(t.value.to_string())
        .bind(to_millis(grace_start))
        .bind(only.map(|p| p.as_str()))
        .bind(only.map(|p| p.as_str()))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(candidate) = candidate else {
            if !seen_before {
                events::record_unmatched(tx, seq, t, now).await?;
            }
            return Ok((Ingested::Unmatched, None));
        };
        let id = PaymentId::from_store(candidate.get("id"));
        let before = query::by_id_in(tx, &id)
            .await?
            .ok_or(CoreError::PaymentNotFound)?;
        sqlx::query(
            "UPDATE payment_sessions SET status = 'confirming', transaction_hash = ?, block_number = ?, block_hash = ?,
                log_index = ?, confirmations = 0, late = (status = 'expired'), closed_at = NULL, updated_at = ?
             WHERE id = ?",
        )
        .bind(t.tx_hash.to_string())
        .bind(t.block_number as i64)
        .bind(t.block_hash.to_string())
        .bind(t.log_index as i64)
        .bind(to_millis(now))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE transfers SET payment_id = ? WHERE seq = ?")
            .bind(id.as_str())
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        let after = query::by_id_in(tx, &id)
            .await?
            .ok_or(CoreError::PaymentNotFound)?;
        let event = PaymentEvent {
            kind: PaymentEventKind::StatusChanged {
                previous: before.status,
            },
            payment: after,
        };
        events::record(tx, &event, Some(json!({ "transaction_hash": t.tx_hash.to_string(), "block_number": t.block_number }))).await?;
        let payment = event.payment.clone();
        Ok((Ingested::Credited(Box::new(payment)), Some(event)))
    }

    /// Confirming payments on a network, with the block hash of their credit.
    pub async fn open_credits(&self, network: &NetworkId) -> Result<Vec<OpenCredit>, CoreError> {
        let rows = sqlx::query("SELECT id, block_hash FROM payment_sessions WHERE network_id = ? AND status = 'confirming'")
            .bind(network.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for row in rows {
            let id = PaymentId::from_store(row.get("id"));
            let hash: String = row.get("block_hash");
            if let (Some(payment), Ok(block_hash)) =
                (query::by_id(&self.pool, &id).await?, hash.parse())
            {
                out.push(OpenCredit {
                    payment,
                    block_hash,
                });
            }
        }
        Ok(out)
    }

    /// The crediting block of `payment` left the canonical chain: mark its log removed and put the
    /// payment back to `pending`, so the amount can be paid (or the log re-included) again.
    pub async fn orphan_credit(&self, payment: &Payment) -> Result<Option<Payment>, CoreError> {
        let now = self.clock.now();
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let Some(before) = query::by_id_in(&mut tx, &payment.id).await? else {
            return Ok(None);
        };
        if before.status != PaymentStatus::Confirming {
            return Ok(None);
        }
        sqlx::query("UPDATE transfers SET removed = 1, payment_id = NULL WHERE payment_id = ?")
            .bind(payment.id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE payment_sessions SET status = 'pending', transaction_hash = NULL, block_number = NULL, block_hash = NULL,
                log_index = NULL, confirmations = 0, late = 0, updated_at = ? WHERE id = ?",
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
        events::record(
            &mut tx,
            &event,
            Some(json!({ "reason": "reorg", "orphaned_transaction": before.transaction_hash })),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(payment = %payment.id, "crediting block left the canonical chain; payment back to pending");
        let payment = event.payment.clone();
        self.events.publish(event);
        Ok(Some(payment))
    }

    /// Marks stored logs in blocks above `from_block` whose hash is not `canonical(number)` as removed.
    /// Returns the seqs touched (the logs of credited payments are handled by [`Payments::orphan_credit`]).
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
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some((
                    r.get::<i64, _>("block_number") as u64,
                    r.get::<String, _>("block_hash").parse().ok()?,
                ))
            })
            .collect())
    }

    /// Records `confirmations` for a confirming payment and, when `settled`, makes it `paid`.
    pub async fn confirm(
        &self,
        payment: &Payment,
        confirmations: u32,
        settled: bool,
    ) -> Result<Option<Payment>, CoreError> {
        if settled {
            sqlx::query("UPDATE payment_sessions SET confirmations = ? WHERE id = ? AND status = 'confirming'")
                .bind(confirmations as i64)
                .bind(payment.id.as_str())
                .execute(&self.pool)
                .await?;
            let mut current = payment.clone();
            current.confirmations = confirmations;
            return self
                .transition(&current, PaymentStatus::Confirming, PaymentStatus::Paid)
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
