//! Who may take a transfer: the payments holding its exact amount ([`Holder`], with the lower-bound
//! rule [`predates`]), and what a run of logs reads of the store once ([`RunView`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::store::Sql;

use super::{InboxReason, ObservedTransfer, PaymentId, PaymentStatus, BLOCK_TIME_SKEW};
use crate::{clock::to_millis, config::PaymentsConfig, error::CoreError};

/// Since when each kind of closed payment still holds its exact amount (SPEC §6).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Holds {
    /// Expired after this: still in the late-grace window.
    pub expired_after: DateTime<Utc>,
    /// Cancelled after this.
    pub cancelled_after: DateTime<Utc>,
    /// Paid after this.
    pub paid_after: DateTime<Utc>,
}

impl Holds {
    pub(crate) fn at(now: DateTime<Utc>, rules: &PaymentsConfig) -> Self {
        let ago = |secs: u64| now - chrono::Duration::seconds(secs as i64);
        Self {
            expired_after: ago(rules.late_grace_seconds),
            cancelled_after: ago(rules.cancelled_hold_seconds),
            paid_after: ago(rules.paid_hold_seconds),
        }
    }

    /// The SQL condition true for a holding payment, with its values bound, onto a query being built.
    pub(crate) fn push_condition(&self, q: &mut Sql<'_>) {
        q.push("(status IN ('pending', 'confirming') OR (status = 'expired' AND expires_at > ")
            .bind(to_millis(self.expired_after))
            .push(") OR (status = 'cancelled' AND closed_at > ")
            .bind(to_millis(self.cancelled_after))
            .push(") OR (status IN ('paid', 'partially_refunded', 'refunded') AND closed_at > ")
            .bind(to_millis(self.paid_after))
            .push("))");
    }
}

/// A holder of an exact amount, as matching sees it.
pub(super) struct Holder {
    pub(super) id: PaymentId,
    pub(super) status: PaymentStatus,
    pub(super) credited: bool,
    pub(super) start_block: Option<u64>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) expires_at: DateTime<Utc>,
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
    pub(super) fn accepts(&self, t: &ObservedTransfer, first_seen: DateTime<Utc>) -> bool {
        matches!(self.status, PaymentStatus::Pending | PaymentStatus::Expired)
            && !self.credited
            && !predates(t, Some(first_seen), self.start_block, self.created_at)
    }

    pub(super) fn inbox_reason(&self) -> InboxReason {
        match self.status {
            PaymentStatus::Cancelled => InboxReason::PaidAfterCancel,
            PaymentStatus::Confirming
            | PaymentStatus::Paid
            | PaymentStatus::PartiallyRefunded
            | PaymentStatus::Refunded => InboxReason::SecondPayment,
            _ if self.credited => InboxReason::SecondPayment,
            _ => InboxReason::BeforeSale,
        }
    }
}

/// What a run of logs needs to know of the store, read once for the whole run instead of per log
/// (a backfill stores thousands of logs, and each statement is a round trip to SQLite's thread).
/// Exact for the run: it is read inside the run's write transaction, so nothing else changes the
/// store meanwhile, and the run's own changes are written into it as they are made.
pub(super) struct RunView {
    /// (tx hash, log index) → the block hash stored, for the run's transactions' stored logs.
    pub(super) stored: HashMap<(String, u64), Option<String>>,
    /// tx hash → the payment one of its logs credits.
    pub(super) owners: HashMap<String, String>,
    /// (network, token contract, pay-to, amount in base units) some payment holds: a log of any
    /// other has no holder to look for.
    pub(super) held: HashSet<(String, String, String, String)>,
}

impl RunView {
    pub(super) async fn read(
        tx: &mut crate::store::Conn,
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
            let mut q = Sql::new(
                "SELECT tx_hash, log_index, block_hash, payment_id FROM transfers WHERE chain_id = ",
            );
            q.bind(chain_id as i64)
                .push(" AND tx_hash IN ")
                .list(hashes.iter().map(|h| h.as_str()));
            for row in q.query().persistent(false).fetch_all(&mut *tx).await? {
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
        let holds = Holds::at(*now, rules);
        for (network, pay_to) in places {
            let amounts: HashSet<String> = transfers
                .iter()
                .filter(|t| t.network.as_str() == network && t.to.checksummed() == pay_to)
                .map(|t| t.value.to_string())
                .collect();
            let mut q = Sql::new(
                "SELECT DISTINCT token_contract, amount_base_units FROM payment_sessions WHERE network_id = ",
            );
            q.bind(network)
                .push(" AND pay_to = ")
                .bind(pay_to.as_str())
                .push(" AND amount_base_units IN ")
                .list(amounts.iter().map(|a| a.as_str()))
                .push(" AND ");
            holds.push_condition(&mut q);
            for row in q.query().persistent(false).fetch_all(&mut *tx).await? {
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
    pub(super) fn holds(&self, t: &ObservedTransfer) -> bool {
        self.held.contains(&(
            t.network.as_str().to_string(),
            t.token_contract.checksummed(),
            t.to.checksummed(),
            t.value.to_string(),
        ))
    }
}

/// How far a transfer's amount may be from what an open sale asks and still be taken for that
/// sale's payment gone wrong: half the asked amount either way (an exchange's fee, a typo like 4.99
/// for 5.00, a part paid). Farther off, it is some other transfer and stays in the inbox unrelated.
pub(crate) const WRONG_AMOUNT_TOLERANCE_PERCENT: u64 = 50;

/// The open (`pending`) sale that transfer `t` — which holds no sale's exact amount — was most
/// likely meant for: same network, token and receive address, created before `t` was seen, `t`
/// not before its lower bound, and the asked amount closest to what `t` carried, within
/// [`WRONG_AMOUNT_TOLERANCE_PERCENT`]. Ties go to the older sale.
pub(crate) async fn nearest_open_sale(
    tx: &mut crate::store::Conn,
    t: &ObservedTransfer,
    seen_at: DateTime<Utc>,
) -> Result<Option<PaymentId>, CoreError> {
    let rows = sqlx::query(
        "SELECT id, amount_base_units FROM payment_sessions
         WHERE status = 'pending' AND network_id = $1 AND token_contract = $2 AND pay_to = $3
           AND created_at <= $4 AND (start_block IS NULL OR start_block <= $5)
         ORDER BY seq",
    )
    .bind(t.network.as_str())
    .bind(t.token_contract.checksummed())
    .bind(t.to.checksummed())
    .bind(to_millis(seen_at))
    .bind(t.block_number as i64)
    .fetch_all(&mut *tx)
    .await?;
    let mut best: Option<(alloy_primitives::U256, PaymentId)> = None;
    for row in rows {
        let units: String = row.try_get("amount_base_units")?;
        let asked: alloy_primitives::U256 = units
            .parse()
            .map_err(|_| CoreError::Corrupt(format!("payment amount {units:?}")))?;
        let distance = asked.abs_diff(t.value);
        let within = distance * alloy_primitives::U256::from(100u64)
            <= asked * alloy_primitives::U256::from(WRONG_AMOUNT_TOLERANCE_PERCENT);
        if within && best.as_ref().is_none_or(|(d, _)| distance < *d) {
            best = Some((distance, PaymentId::from_store(row.try_get("id")?)));
        }
    }
    Ok(best.map(|(_, id)| id))
}
