//! Payment statistics (seed §11.2 `GET /stats/payments`), computed from the store on request.
//!
//! Definitions: a payment is *open* while `pending` or `confirming`, *ended* otherwise; ended ones
//! are *successful* when `paid` and *failed* when `expired`, `cancelled` or `failed`. The success rate
//! is successful ÷ ended (seed example: 1180 ÷ 1250 = 94.4 %), so a sale still waiting for its
//! customer never lowers it; open payments are reported apart. The processing time is creation →
//! `paid`, in seconds.
//!
//! `failure_reasons` counts each failed payment once, by why it failed ([`ended_reason`]): a
//! transfer of the wrong amount was seen for it (`amount_mismatch`), else its last failed manual
//! check (`address_mismatch`, `transaction_failed`, …), else how it ended (`expired`, `cancelled`,
//! or the reason a `failed` payment was given). Failed manual checks are counted apart, in
//! `check_failures`, once per payment and reason: whoever holds a payment id can repeat a check,
//! but not inflate a figure. Every reason is listed, with 0 when it never happened.
//!
//! On a hub the statistics can be narrowed to one counter's sales ([`crate::counters`]): every
//! figure is then computed over the sales that counter made.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sqlx::Row;

use crate::{
    clock::to_millis,
    counters::CounterId,
    error::CoreError,
    store::{Backend, Db, Sql},
};

/// Every reason `failure_reasons` and `check_failures` list.
pub const FAILURE_REASONS: [&str; 10] = [
    "amount_mismatch",
    "address_mismatch",
    "transaction_failed",
    "token_mismatch",
    "already_used",
    "not_found",
    "transaction_too_old",
    "self_transfer",
    "expired",
    "cancelled",
];

/// The seed's payment statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentStats {
    /// All payments.
    pub total_payments: u64,
    /// `pending` or `confirming`: not counted in the success rate.
    pub open_payments: u64,
    /// `paid`.
    pub successful_payments: u64,
    /// `expired`, `cancelled`, `failed`.
    pub failed_payments: u64,
    /// Successful ÷ ended, in percent with one decimal (0 when none has ended).
    pub success_rate: f64,
    /// Payments per token symbol (every configured token listed).
    pub payments_by_token: BTreeMap<String, u64>,
    /// Payments created in the last 24 h, 7 d, 30 d.
    pub payments_by_period: BTreeMap<String, u64>,
    /// Mean seconds from creation to `paid`, one decimal.
    pub average_processing_time: f64,
    /// Failed payments by why they failed (see the module documentation).
    pub failure_reasons: BTreeMap<String, u64>,
    /// Failed manual checks by reason, once per payment and reason.
    pub check_failures: BTreeMap<String, u64>,
    /// The success rate of each token's ended payments (every configured token listed).
    pub success_rate_by_token: BTreeMap<String, f64>,
    /// The success rate of the ended payments created in the last 24 h, 7 d, 30 d.
    pub success_rate_by_period: BTreeMap<String, f64>,
}

/// Paid ÷ ended of a row with `paid` and `ended` sums, percent with one decimal (0 when none ended).
fn rate(row: &crate::store::DbRow) -> Result<f64, sqlx::Error> {
    let paid = row.try_get::<Option<i64>, _>("paid")?.unwrap_or(0);
    let ended = row.try_get::<Option<i64>, _>("ended")?.unwrap_or(0);
    Ok(if ended == 0 {
        0.0
    } else {
        one_decimal(paid as f64 * 100.0 / ended as f64)
    })
}

/// Why a failed payment failed, for `failure_reasons`: what the store knows about it, most telling
/// first.
pub fn ended_reason(
    status: &str,
    failed_reason: Option<&str>,
    wrong_amount_seen: bool,
    last_check_failure: Option<&str>,
) -> String {
    if wrong_amount_seen {
        return "amount_mismatch".into();
    }
    if let Some(check) = last_check_failure {
        return check.into();
    }
    match (status, failed_reason) {
        ("failed", Some(reason)) => reason.into(),
        (status, _) => status.into(),
    }
}

/// Narrows `q` (whose `WHERE` clause is open) to one counter's sales, by its `column` holding the
/// counter's id; nothing for all payments.
fn only_counter<'q>(q: &mut Sql<'q>, column: &str, counter: Option<&'q CounterId>) {
    if let Some(c) = counter {
        q.push(" AND ").push(column).push(" = ").bind(c.as_str());
    }
}

/// The reasons listed with 0, so a chart always has every bar.
fn every_reason() -> BTreeMap<String, u64> {
    FAILURE_REASONS.iter().map(|r| (r.to_string(), 0)).collect()
}

fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A length of the volume trend's periods, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// A calendar day.
    Day,
    /// Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
}

impl Period {
    /// The first day of the period holding `day`.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => day,
            Period::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Period::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day of the period before the one starting on `start`.
    fn before(self, start: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => start - Duration::days(1),
            Period::Week => start - Duration::days(7),
            Period::Month => self.start_of(start - Duration::days(1)),
        }
    }

    /// The store's expression for the first day (`YYYY-MM-DD`, UTC) of a stored time's period.
    fn sql_start(self, backend: Backend) -> &'static str {
        match (backend, self) {
            (Backend::Sqlite, Period::Day) => "date(created_at / 1000, 'unixepoch')",
            // 'weekday 0' moves to the next Sunday unless it is one; six days back is its Monday.
            (Backend::Sqlite, Period::Week) => {
                "date(created_at / 1000, 'unixepoch', 'weekday 0', '-6 days')"
            }
            (Backend::Sqlite, Period::Month) => {
                "date(created_at / 1000, 'unixepoch', 'start of month')"
            }
            (Backend::Postgres, Period::Day) => {
                "to_char(to_timestamp(created_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
            }
            // ISO weeks start on Monday, as above.
            (Backend::Postgres, Period::Week) => {
                "to_char(date_trunc('week', to_timestamp(created_at / 1000) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
            }
            (Backend::Postgres, Period::Month) => {
                "to_char(date_trunc('month', to_timestamp(created_at / 1000) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
            }
        }
    }
}

/// Payments created (and of those, paid) in one [`Period`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// The period's first day, `YYYY-MM-DD`.
    pub date: String,
    /// Created in it.
    pub created: u64,
    /// Of those, paid.
    pub paid: u64,
}

/// Statistics read from the store.
#[derive(Debug, Clone)]
pub struct Stats {
    pool: Db,
}

impl Stats {
    /// Over `pool`.
    pub fn new(pool: Db) -> Self {
        Self { pool }
    }

    /// Payments stored, by status (only statuses that occur).
    pub async fn status_counts(&self) -> Result<BTreeMap<String, u64>, CoreError> {
        self.status_counts_of(None).await
    }

    async fn status_counts_of(
        &self,
        counter: Option<&CounterId>,
    ) -> Result<BTreeMap<String, u64>, CoreError> {
        let mut by_status = BTreeMap::new();
        let mut q = Sql::new("SELECT status, COUNT(*) AS n FROM payment_sessions WHERE 1 = 1");
        only_counter(&mut q, "counter_id", counter);
        q.push(" GROUP BY status");
        for row in q.query().fetch_all(&self.pool).await? {
            by_status.insert(row.try_get("status")?, row.try_get::<i64, _>("n")? as u64);
        }
        Ok(by_status)
    }

    /// Transfer logs to the receive address stored (all time).
    pub async fn transfers_stored(&self) -> Result<u64, CoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM transfers")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// The last `count` periods up to the one holding `now`, oldest first, every period listed (0
    /// when quiet); `counter`: that counter's sales only.
    pub async fn volume(
        &self,
        period: Period,
        count: u32,
        now: DateTime<Utc>,
        counter: Option<&CounterId>,
    ) -> Result<Vec<Volume>, CoreError> {
        let mut starts = vec![period.start_of(now.date_naive())];
        for _ in 1..count {
            starts.push(period.before(starts[starts.len() - 1]));
        }
        starts.reverse();
        let since = starts[0].and_hms_opt(0, 0, 0).map_or(now, |d| d.and_utc());
        let mut q = Sql::new(format!(
            "SELECT {} AS day, COUNT(*) AS created, COUNT(*) FILTER (WHERE status IN ('paid', 'partially_refunded', 'refunded')) AS paid
             FROM payment_sessions WHERE created_at >= ",
            period.sql_start(self.pool.backend()),
        ));
        q.bind(to_millis(since));
        only_counter(&mut q, "counter_id", counter);
        q.push(" GROUP BY day");
        let rows = q.query().fetch_all(&self.pool).await?;
        let found: BTreeMap<String, (u64, u64)> = rows
            .iter()
            .map(|r| -> Result<_, sqlx::Error> {
                Ok((
                    r.try_get::<String, _>("day")?,
                    (
                        r.try_get::<i64, _>("created")? as u64,
                        r.try_get::<Option<i64>, _>("paid")?.unwrap_or(0) as u64,
                    ),
                ))
            })
            .collect::<Result<_, _>>()?;
        Ok(starts
            .into_iter()
            .map(|start| {
                let date = start.format("%Y-%m-%d").to_string();
                let (created, paid) = found.get(&date).copied().unwrap_or((0, 0));
                Volume {
                    date,
                    created,
                    paid,
                }
            })
            .collect())
    }

    /// Webhook deliveries waiting to be delivered.
    pub async fn webhook_backlog(&self) -> Result<u64, CoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(n as u64)
    }

    /// Computes [`PaymentStats`] as of `now`, listing every symbol in `tokens`; `counter`: over
    /// that counter's sales only.
    pub async fn payment_stats(
        &self,
        tokens: &[String],
        now: DateTime<Utc>,
        counter: Option<&CounterId>,
    ) -> Result<PaymentStats, CoreError> {
        let by_status = self.status_counts_of(counter).await?;
        let count = |s: &str| by_status.get(s).copied().unwrap_or(0);
        let total: u64 = by_status.values().sum();
        // A sale refunded since was still paid: it counts as a success.
        let successful = count("paid") + count("partially_refunded") + count("refunded");
        let failed = count("expired") + count("cancelled") + count("failed");

        let mut payments_by_token: BTreeMap<String, u64> =
            tokens.iter().map(|t| (t.clone(), 0)).collect();
        let mut q =
            Sql::new("SELECT token_symbol, COUNT(*) AS n FROM payment_sessions WHERE 1 = 1");
        only_counter(&mut q, "counter_id", counter);
        q.push(" GROUP BY token_symbol");
        for row in q.query().fetch_all(&self.pool).await? {
            payments_by_token.insert(
                row.try_get("token_symbol")?,
                row.try_get::<i64, _>("n")? as u64,
            );
        }

        let mut payments_by_period = BTreeMap::new();
        let mut success_rate_by_period = BTreeMap::new();
        for (label, days) in [("24h", 1), ("7d", 7), ("30d", 30)] {
            let since = to_millis(now - Duration::days(days));
            let mut q = Sql::new(
                "SELECT COUNT(*) AS n, COUNT(*) FILTER (WHERE status IN ('paid', 'partially_refunded', 'refunded')) AS paid,
                   COUNT(*) FILTER (WHERE status IN ('paid', 'partially_refunded', 'refunded', 'expired', 'cancelled', 'failed')) AS ended
                 FROM payment_sessions WHERE created_at >= ",
            );
            q.bind(since);
            only_counter(&mut q, "counter_id", counter);
            let row = q.query().fetch_one(&self.pool).await?;
            payments_by_period.insert(label.to_string(), row.try_get::<i64, _>("n")? as u64);
            success_rate_by_period.insert(label.to_string(), rate(&row)?);
        }
        let mut success_rate_by_token: BTreeMap<String, f64> =
            tokens.iter().map(|t| (t.clone(), 0.0)).collect();
        let mut q = Sql::new(
            "SELECT token_symbol, COUNT(*) FILTER (WHERE status IN ('paid', 'partially_refunded', 'refunded')) AS paid,
               COUNT(*) FILTER (WHERE status IN ('paid', 'partially_refunded', 'refunded', 'expired', 'cancelled', 'failed')) AS ended
             FROM payment_sessions WHERE 1 = 1",
        );
        only_counter(&mut q, "counter_id", counter);
        q.push(" GROUP BY token_symbol");
        for row in q.query().fetch_all(&self.pool).await? {
            success_rate_by_token.insert(row.try_get("token_symbol")?, rate(&row)?);
        }

        let mut q = Sql::new(
            "SELECT CAST(AVG(paid_at - created_at) AS DOUBLE PRECISION) AS average_ms FROM payment_sessions
             WHERE status IN ('paid', 'partially_refunded', 'refunded') AND paid_at IS NOT NULL",
        );
        only_counter(&mut q, "counter_id", counter);
        let average_ms: Option<f64> = q
            .query()
            .fetch_one(&self.pool)
            .await?
            .try_get("average_ms")?;

        let failure_reasons = self.failure_reasons(counter).await?;
        let check_failures = self.check_failures(counter).await?;

        let ended = successful + failed;
        Ok(PaymentStats {
            total_payments: total,
            open_payments: count("pending") + count("confirming"),
            successful_payments: successful,
            failed_payments: failed,
            success_rate: if ended == 0 {
                0.0
            } else {
                one_decimal(successful as f64 * 100.0 / ended as f64)
            },
            payments_by_token,
            payments_by_period,
            average_processing_time: one_decimal(average_ms.unwrap_or(0.0) / 1000.0),
            failure_reasons,
            check_failures,
            success_rate_by_token,
            success_rate_by_period,
        })
    }

    /// Each failed payment once, by [`ended_reason`].
    async fn failure_reasons(
        &self,
        counter: Option<&CounterId>,
    ) -> Result<BTreeMap<String, u64>, CoreError> {
        let reason = self.pool.pick(
            "json_extract(e.detail, '$.reason')",
            "(e.detail::json ->> 'reason')",
        );
        let sql = format!(
            "SELECT p.status,
                (SELECT {reason} FROM events e
                  WHERE e.payment_id = p.id AND e.to_status = 'failed' ORDER BY e.seq DESC LIMIT 1)
                  AS failed_reason,
                CASE WHEN EXISTS (SELECT 1 FROM transfers t WHERE t.related_payment_id = p.id
                  AND t.note = 'wrong_amount' AND t.removed = 0) THEN 1 ELSE 0 END AS wrong_amount,
                (SELECT {reason} FROM events e
                  WHERE e.payment_id = p.id AND e.kind = 'payment.check_failed'
                  ORDER BY e.seq DESC LIMIT 1) AS last_check
             FROM payment_sessions p WHERE p.status IN ('expired', 'cancelled', 'failed')"
        );
        let mut q = Sql::new(sql);
        only_counter(&mut q, "p.counter_id", counter);
        let rows = q.query().fetch_all(&self.pool).await?;
        let mut reasons = every_reason();
        for r in rows {
            let reason = ended_reason(
                r.try_get("status")?,
                r.try_get::<Option<String>, _>("failed_reason")?.as_deref(),
                r.try_get::<i64, _>("wrong_amount")? != 0,
                r.try_get::<Option<String>, _>("last_check")?.as_deref(),
            );
            *reasons.entry(reason).or_default() += 1;
        }
        Ok(reasons)
    }

    /// Failed manual checks by reason, each (payment, reason) once.
    async fn check_failures(
        &self,
        counter: Option<&CounterId>,
    ) -> Result<BTreeMap<String, u64>, CoreError> {
        let reason = self.pool.pick(
            "json_extract(detail, '$.reason') AS reason FROM events
                 WHERE kind = 'payment.check_failed' AND json_valid(detail)",
            // The core writes every event's detail as JSON.
            "(detail::json ->> 'reason') AS reason FROM events
                 WHERE kind = 'payment.check_failed' AND detail IS NOT NULL",
        );
        let sql = format!(
            "SELECT reason, COUNT(*) AS n FROM (SELECT DISTINCT payment_id, {reason}) AS checks
             WHERE reason IS NOT NULL"
        );
        let mut q = Sql::new(sql);
        if let Some(c) = counter {
            q.push(" AND payment_id IN (SELECT id FROM payment_sessions WHERE counter_id = ")
                .bind(c.as_str())
                .push(")");
        }
        q.push(" GROUP BY reason");
        let rows = q.query().fetch_all(&self.pool).await?;
        let mut reasons = every_reason();
        for r in rows {
            reasons.insert(r.try_get("reason")?, r.try_get::<i64, _>("n")? as u64);
        }
        Ok(reasons)
    }

    /// The success rate over payments created since `since` that are closed (paid or failed), with
    /// how many there were — the alert's input.
    pub async fn recent_success_rate(&self, since: DateTime<Utc>) -> Result<(f64, u64), CoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE status IN ('paid', 'partially_refunded', 'refunded')) AS paid, COUNT(*) AS closed FROM payment_sessions
         WHERE created_at >= $1 AND status IN ('paid', 'partially_refunded', 'refunded', 'expired', 'cancelled', 'failed')",
        )
        .bind(to_millis(since))
        .fetch_one(&self.pool)
        .await?;
        let paid = row.get::<Option<i64>, _>("paid").unwrap_or(0) as f64;
        let closed = row.try_get::<i64, _>("closed")? as u64;
        Ok((
            if closed == 0 {
                100.0
            } else {
                paid * 100.0 / closed as f64
            },
            closed,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::verify::CheckFailure;

    #[test]
    fn a_failed_payment_counts_by_the_most_telling_thing_known_about_it() {
        assert_eq!(ended_reason("expired", None, false, None), "expired");
        assert_eq!(ended_reason("cancelled", None, false, None), "cancelled");
        assert_eq!(
            ended_reason("failed", Some("token_misconfigured"), false, None),
            "token_misconfigured"
        );
        assert_eq!(
            ended_reason("expired", None, false, Some("address_mismatch")),
            "address_mismatch"
        );
        assert_eq!(
            ended_reason("expired", None, true, Some("address_mismatch")),
            "amount_mismatch",
            "a wrong amount seen on chain says more than a failed check"
        );
    }

    #[test]
    fn every_manual_check_reason_is_a_listed_failure_reason() {
        for failure in [
            CheckFailure::TransactionFailed,
            CheckFailure::AddressMismatch,
            CheckFailure::TokenMismatch,
            CheckFailure::AmountMismatch,
            CheckFailure::AlreadyUsed,
            CheckFailure::NotFound,
        ] {
            assert!(
                FAILURE_REASONS.contains(&failure.code()),
                "{}",
                failure.code()
            );
        }
    }
}
