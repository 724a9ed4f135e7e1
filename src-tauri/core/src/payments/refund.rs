//! Refunds without holding keys (issue 19). Staff ask for a refund of a paid sale — all of what
//! it received or a part, to the payer's address (the crediting transfer's sender) or another;
//! the app shows an EIP-681 request for the shop's own wallet to scan and send. The watcher then
//! follows outgoing Transfer logs from the receive address while a refund is awaited, and a log
//! of the refund's token, to its recipient, of its exact amount, in a block at or above the
//! refund's lower bound (the head when it was asked, less [`super::HEAD_LAG_MARGIN`]), matches the
//! oldest such refund (`confirming`). Once it has the network's confirmations (and is final where
//! the network asks) the refund is `confirmed` and the sale becomes `partially_refunded` or
//! `refunded` (`payment.refunded`, with the refund as the event's detail). A block that leaves the
//! chain before then puts the refund back to `awaiting`.
//!
//! A transfer to another address, of another amount or in another token matches nothing: the
//! refund stays awaited. Two refunds of the same amount to the same address are matched oldest
//! first. The outgoing logs are the shop's own wallet speaking, so no second endpoint is asked
//! (unlike a credit): a lying endpoint could at worst show a refund as sent that the owner's own
//! wallet shows was not.

use std::fmt;

use alloy_primitives::{B256, U256};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;

use super::{Payment, PaymentId, PaymentStatus, Payments, BLOCK_TIME_SKEW};
use crate::{
    address::Address,
    amount::{DecimalAmount, TokenAmount},
    catalog::{NetworkId, TokenSymbol},
    clock::{from_millis, to_millis},
    eip681,
    error::CoreError,
    events::{self, PaymentEvent, PaymentEventKind},
};

use super::ObservedTransfer;

/// `rfd_` + 32 lowercase hex digits (128 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RefundId(String);

impl RefundId {
    fn random(entropy: &dyn crate::entropy::Entropy) -> Self {
        Self(crate::entropy::hex_id::<16>("rfd_", entropy))
    }

    /// Parses an id; anything not of the id's shape cannot exist, so it is "not found".
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        if crate::entropy::is_hex_id(s, "rfd_", 16) {
            Ok(Self(s.to_string()))
        } else {
            Err(CoreError::RefundNotFound)
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RefundId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a refund is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefundStatus {
    /// Asked; waiting for the shop's wallet to send it.
    Awaiting,
    /// Its transfer was seen; waiting for confirmations.
    Confirming,
    /// Settled on chain: the sale counts it as given back.
    Confirmed,
    /// Called off by staff before it was seen.
    Cancelled,
}

impl RefundStatus {
    const ALL: [RefundStatus; 4] = [
        RefundStatus::Awaiting,
        RefundStatus::Confirming,
        RefundStatus::Confirmed,
        RefundStatus::Cancelled,
    ];

    /// The API and store spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            RefundStatus::Awaiting => "awaiting",
            RefundStatus::Confirming => "confirming",
            RefundStatus::Confirmed => "confirmed",
            RefundStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self, CoreError> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| CoreError::Corrupt(format!("refund status {s:?}")))
    }

    /// Counts against what may still be refunded (not cancelled).
    fn counts(&self) -> bool {
        *self != RefundStatus::Cancelled
    }
}

/// A refund of (part of) a paid sale.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Refund {
    /// Its id.
    pub id: RefundId,
    /// The sale it gives money back for.
    pub payment_id: PaymentId,
    /// Where it is.
    pub status: RefundStatus,
    /// The sale's network.
    pub network: NetworkId,
    /// Its chain id.
    pub chain_id: u64,
    /// The sale's token.
    pub token: TokenSymbol,
    /// Its contract.
    pub token_contract: Address,
    /// The shop's receive address, which sends it.
    pub from: Address,
    /// Who gets it.
    pub to: Address,
    /// How much, exactly.
    pub amount: TokenAmount,
    /// Its worth in the shop's currency, in proportion to what the sale was priced at.
    pub fiat_amount: Option<DecimalAmount>,
    /// The shop's currency it is in.
    pub fiat_currency: Option<String>,
    /// Why, as staff wrote it.
    pub reason: Option<String>,
    /// Who asked for it (a key's name, `desktop`, …).
    pub created_by: Option<String>,
    /// No earlier block matches it.
    pub start_block: Option<u64>,
    /// The matched transfer's transaction.
    pub tx_hash: Option<String>,
    /// Its log index.
    pub log_index: Option<u64>,
    /// Its block.
    pub block_number: Option<u64>,
    /// Its block's hash.
    pub block_hash: Option<String>,
    /// Confirmations seen.
    pub confirmations: u32,
    /// When it was asked.
    pub created_at: DateTime<Utc>,
    /// When its transfer was seen.
    pub matched_at: Option<DateTime<Utc>>,
    /// When it was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl Refund {
    /// The EIP-681 request the shop's wallet scans: this token, to the recipient, this amount.
    pub fn payment_uri(&self) -> String {
        eip681::TransferRequest {
            token: self.token_contract,
            chain_id: self.chain_id,
            to: self.to,
            amount: self.amount.base_units(),
        }
        .to_string()
    }

    /// Its matched transfer's block hash.
    pub fn block_hash(&self) -> Option<B256> {
        self.block_hash.as_deref().and_then(|h| h.parse().ok())
    }

    /// The refund as the audit trail and `payment.refunded` webhooks carry it.
    pub fn detail(&self) -> serde_json::Value {
        json!({ "refund": {
            "id": self.id,
            "amount": self.amount.to_decimal_string(2),
            "fiat_amount": self.fiat_amount.as_ref().map(|f| f.to_string_scaled(2)),
            "fiat_currency": self.fiat_currency,
            "to": self.to.checksummed(),
            "transaction_hash": self.tx_hash,
            "block_number": self.block_number,
            "reason": self.reason,
        }})
    }
}

/// A request to refund a sale.
#[derive(Debug, Clone, Default)]
pub struct NewRefund {
    /// How much, token units; all that may still be refunded when `None`.
    pub amount: Option<DecimalAmount>,
    /// To whom; the payer (the crediting transfer's sender) when `None`.
    pub to: Option<Address>,
    /// Why (at most 200 characters).
    pub reason: Option<String>,
    /// Who asks.
    pub by: String,
}

/// A sale's refunds and what may still be refunded.
#[derive(Debug, Clone)]
pub struct Refunds {
    /// Who paid (the crediting transfer's sender), when known.
    pub payer: Option<Address>,
    /// What the sale received.
    pub received: TokenAmount,
    /// Given back by confirmed refunds.
    pub refunded: TokenAmount,
    /// What a new refund may still ask: received less every refund not cancelled.
    pub refundable: TokenAmount,
    /// Its refunds, oldest first.
    pub refunds: Vec<Refund>,
}

/// Longest reason kept.
const MAX_REASON_CHARS: usize = 200;

const COLUMNS: &str = "r.id, r.payment_id, r.status, r.network_id, r.chain_id, r.token_contract,
    r.from_address, r.to_address, r.amount_base_units, r.reason, r.created_by, r.start_block, r.tx_hash,
    r.log_index, r.block_number, r.block_hash, r.confirmations, r.created_at, r.matched_at,
    r.confirmed_at, r.cancelled_at, p.token_symbol, p.decimals, p.fiat_amount, p.fiat_currency, p.amount_received,
    p.amount_base_units AS sale_amount";

fn map(row: &crate::store::DbRow) -> Result<Refund, CoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |what: &str| CoreError::Corrupt(format!("refund {id}: {what}"));
    let decimals =
        u8::try_from(row.try_get::<i64, _>("decimals")?).map_err(|_| corrupt("decimals"))?;
    let units = |col: &str| -> Result<TokenAmount, CoreError> {
        let s: String = row.try_get(col)?;
        TokenAmount::from_base_units_str(&s, decimals).map_err(|_| corrupt(col))
    };
    let count = |col: &str| -> Result<Option<u64>, CoreError> {
        row.try_get::<Option<i64>, _>(col)?
            .map(|n| u64::try_from(n).map_err(|_| corrupt(col)))
            .transpose()
    };
    let amount = units("amount_base_units")?;
    let received = match row.try_get::<Option<String>, _>("amount_received")? {
        Some(s) => {
            TokenAmount::from_base_units_str(&s, decimals).map_err(|_| corrupt("received"))?
        }
        None => units("sale_amount")?,
    };
    let fiat_amount = row
        .try_get::<Option<String>, _>("fiat_amount")?
        .map(|f| DecimalAmount::parse(&f).map_err(|_| corrupt("fiat amount")))
        .transpose()?
        .and_then(|f| share_of(&f, amount.base_units(), received.base_units()));
    Ok(Refund {
        payment_id: PaymentId::from_store(row.try_get("payment_id")?),
        status: RefundStatus::parse(row.try_get("status")?)?,
        network: NetworkId::parse(row.try_get("network_id")?)?,
        chain_id: count("chain_id")?.ok_or_else(|| corrupt("chain id"))?,
        token: TokenSymbol::parse(row.try_get("token_symbol")?)?,
        token_contract: Address::parse(row.try_get("token_contract")?)?,
        from: Address::parse(row.try_get("from_address")?)?,
        to: Address::parse(row.try_get("to_address")?)?,
        amount,
        fiat_currency: row
            .try_get::<Option<String>, _>("fiat_currency")?
            .filter(|_| fiat_amount.is_some()),
        fiat_amount,
        reason: row.try_get("reason")?,
        created_by: row.try_get("created_by")?,
        start_block: count("start_block")?,
        tx_hash: row.try_get("tx_hash")?,
        log_index: count("log_index")?,
        block_number: count("block_number")?,
        block_hash: row.try_get("block_hash")?,
        confirmations: u32::try_from(row.try_get::<i64, _>("confirmations")?)
            .map_err(|_| corrupt("confirmations"))?,
        created_at: from_millis(row.try_get("created_at")?),
        matched_at: row
            .try_get::<Option<i64>, _>("matched_at")?
            .map(from_millis),
        confirmed_at: row
            .try_get::<Option<i64>, _>("confirmed_at")?
            .map(from_millis),
        cancelled_at: row
            .try_get::<Option<i64>, _>("cancelled_at")?
            .map(from_millis),
        id: RefundId(id),
    })
}

/// `price × part / whole` at the price's scale (at least cents), half up; `None` for nothing.
fn share_of(price: &DecimalAmount, part: U256, whole: U256) -> Option<DecimalAmount> {
    if whole.is_zero() {
        return None;
    }
    let scale = price.parts().1.max(2);
    let digits = price.at_scale(scale)?;
    let (q, r) = (digits.checked_mul(part)?).div_rem(whole);
    let q = if r * U256::from(2u8) >= whole {
        q + U256::from(1u8)
    } else {
        q
    };
    DecimalAmount::from_parts(q, scale)
}

/// Refunds confirmed in `[from, to)` (milliseconds), for the close.
pub(crate) async fn confirmed_between(
    pool: &crate::store::Db,
    from: i64,
    to: i64,
) -> Result<Vec<Refund>, CoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM refunds r JOIN payment_sessions p ON p.id = r.payment_id
         WHERE r.status = 'confirmed' AND r.confirmed_at >= $1 AND r.confirmed_at < $2
         ORDER BY r.network_id, p.token_symbol, r.seq"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    rows.iter().map(map).collect()
}

/// The sale's crediting transfer's sender.
async fn payer_of(
    conn: &mut crate::store::Conn,
    payment: &PaymentId,
) -> Result<Option<Address>, CoreError> {
    let from: Option<String> = sqlx::query_scalar(
        "SELECT from_address FROM transfers WHERE payment_id = $1 AND removed = 0 ORDER BY seq LIMIT 1",
    )
    .bind(payment.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    from.map(|f| Address::parse(&f)).transpose()
}

async fn of_payment(
    conn: &mut crate::store::Conn,
    payment: &PaymentId,
) -> Result<Vec<Refund>, CoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM refunds r JOIN payment_sessions p ON p.id = r.payment_id
         WHERE r.payment_id = $1 ORDER BY r.seq"
    ))
    .bind(payment.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(map).collect()
}

/// What `sale` received, what its `refunds` gave back, and what may still be asked.
fn sums(sale: &Payment, refunds: &[Refund]) -> (TokenAmount, TokenAmount, TokenAmount) {
    let received = sale.amount_received.unwrap_or(sale.amount);
    let decimals = received.decimals();
    let total = |keep: fn(&RefundStatus) -> bool| {
        refunds
            .iter()
            .filter(|r| keep(&r.status))
            .fold(U256::ZERO, |sum, r| sum + r.amount.base_units())
    };
    let refunded = total(|s| *s == RefundStatus::Confirmed);
    let asked = total(RefundStatus::counts);
    (
        received,
        TokenAmount::from_base_units(refunded, decimals),
        TokenAmount::from_base_units(received.base_units().saturating_sub(asked), decimals),
    )
}

impl Payments {
    /// Sale `id`'s refunds, its payer and what may still be refunded.
    pub async fn refunds_of(&self, id: &PaymentId) -> Result<Refunds, CoreError> {
        let sale = self.get(id).await?;
        let mut conn = self.pool.acquire().await?;
        let refunds = of_payment(&mut conn, id).await?;
        let payer = payer_of(&mut conn, id).await?;
        let (received, refunded, refundable) = sums(&sale, &refunds);
        Ok(Refunds {
            payer,
            received,
            refunded,
            refundable: if sale.status.was_paid() {
                refundable
            } else {
                TokenAmount::from_base_units(U256::ZERO, received.decimals())
            },
            refunds,
        })
    }

    /// One refund.
    pub async fn refund(&self, id: &RefundId) -> Result<Refund, CoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM refunds r JOIN payment_sessions p ON p.id = r.payment_id WHERE r.id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(CoreError::RefundNotFound)?;
        map(&row)
    }

    /// Asks for a refund of paid sale `id`: all that may still be refunded, or `req.amount`, to the
    /// payer or `req.to`. Refused for a sale not paid, fully refunded or asked for in full already,
    /// an amount over what may still be refunded, or the shop's own address.
    pub async fn start_refund(&self, id: &PaymentId, req: NewRefund) -> Result<Refund, CoreError> {
        let sale = self.get(id).await?;
        if !matches!(
            sale.status,
            PaymentStatus::Paid | PaymentStatus::PartiallyRefunded
        ) {
            return Err(CoreError::InvalidState {
                status: sale.status.as_str(),
                action: "refund (only a paid sale can be refunded)",
            });
        }
        let reason = req
            .reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
        {
            return Err(CoreError::field(
                "reason",
                format!("at most {MAX_REASON_CHARS} characters"),
            ));
        }
        let decimals = sale.amount.decimals();
        let asked = req.amount.map(|a| a.to_token(decimals)).transpose()?;
        let start_block = self.start_block(&sale.network).await?;
        let now = self.clock.now();
        let refund_id = RefundId::random(self.entropy.as_ref());
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let refunds = of_payment(&mut tx, id).await?;
        let (_, _, refundable) = sums(&sale, &refunds);
        let to = match req.to {
            Some(to) => to,
            None => payer_of(&mut tx, id).await?.ok_or_else(|| {
                CoreError::field(
                    "to",
                    "the payer is not known for this sale: give the address to refund",
                )
            })?,
        };
        if to == sale.pay_to {
            return Err(CoreError::field(
                "to",
                "that is the shop's own receive address; give the customer's address",
            ));
        }
        if refundable.base_units().is_zero() {
            return Err(CoreError::InvalidState {
                status: sale.status.as_str(),
                action: "refund (everything it received is refunded or being refunded)",
            });
        }
        let amount = asked.unwrap_or(refundable);
        if amount.base_units() > refundable.base_units() {
            return Err(CoreError::RefundTooLarge {
                refundable: format!("{} {}", refundable.to_decimal_string(2), sale.token),
            });
        }
        sqlx::query(
            "INSERT INTO refunds (id, payment_id, status, network_id, chain_id, token_contract,
                from_address, to_address, amount_base_units, reason, created_by, start_block,
                created_at, updated_at)
             VALUES ($1, $2, 'awaiting', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(refund_id.as_str())
        .bind(id.as_str())
        .bind(sale.network.as_str())
        .bind(sale.chain_id as i64)
        .bind(sale.token_contract.checksummed())
        .bind(sale.pay_to.checksummed())
        .bind(to.checksummed())
        .bind(amount.base_units().to_string())
        .bind(&reason)
        .bind(Some(req.by).filter(|b| !b.is_empty()))
        .bind(start_block.map(|b| b as i64))
        .bind(to_millis(now))
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(payment = %id, refund = %refund_id, amount = %amount.to_decimal_string(2), to = %to, "refund asked");
        self.refund(&refund_id).await
    }

    /// Calls off an awaited refund (its transfer not seen yet).
    pub async fn cancel_refund(&self, id: &RefundId) -> Result<Refund, CoreError> {
        let refund = self.refund(id).await?;
        let now = to_millis(self.clock.now());
        let changed = sqlx::query(
            "UPDATE refunds SET status = 'cancelled', cancelled_at = $1, updated_at = $2
             WHERE id = $3 AND status = 'awaiting'",
        )
        .bind(now)
        .bind(now)
        .bind(id.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(CoreError::RefundInvalidState {
                status: refund.status.as_str(),
            });
        }
        self.refund(id).await
    }

    /// The lowest block an awaited refund on `network` may be matched in (0 when one has no
    /// bound); `None` when no refund is awaited there, so outgoing transfers need not be read.
    pub async fn awaited_refunds_from(
        &self,
        network: &NetworkId,
    ) -> Result<Option<u64>, CoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(COALESCE(start_block, 0)) AS low FROM refunds
             WHERE network_id = $1 AND status = 'awaiting'",
        )
        .bind(network.as_str())
        .fetch_one(&self.pool)
        .await?;
        if row.try_get::<i64, _>("n")? == 0 {
            return Ok(None);
        }
        Ok(Some(
            row.try_get::<Option<i64>, _>("low")?.unwrap_or(0).max(0) as u64,
        ))
    }

    /// Matches outgoing transfers from the receive address against awaited refunds (module doc);
    /// returns the refunds matched. A log matched before matches nothing again.
    pub async fn match_refunds(
        &self,
        transfers: &[ObservedTransfer],
    ) -> Result<Vec<Refund>, CoreError> {
        if transfers.is_empty() {
            return Ok(vec![]);
        }
        let now = to_millis(self.clock.now());
        let mut matched = Vec::new();
        let mut tx = crate::store::begin_write(&self.pool).await?;
        for t in transfers {
            let tx_hash = t.tx_hash.to_string();
            let known: Option<i64> = sqlx::query_scalar(
                "SELECT seq FROM refunds WHERE chain_id = $1 AND tx_hash = $2 AND log_index = $3",
            )
            .bind(t.chain_id as i64)
            .bind(&tx_hash)
            .bind(t.log_index as i64)
            .fetch_optional(&mut *tx)
            .await?;
            if known.is_some() {
                continue;
            }
            let mined_after = t
                .block_time
                .map(|at| to_millis(at + BLOCK_TIME_SKEW))
                .unwrap_or(i64::MAX);
            let id: Option<String> = sqlx::query_scalar(
                "SELECT id FROM refunds
                 WHERE network_id = $1 AND status = 'awaiting' AND token_contract = $2
                   AND from_address = $3 AND to_address = $4 AND amount_base_units = $5
                   AND COALESCE(start_block, 0) <= $6 AND created_at <= $7
                 ORDER BY seq LIMIT 1",
            )
            .bind(t.network.as_str())
            .bind(t.token_contract.checksummed())
            .bind(t.from.checksummed())
            .bind(t.to.checksummed())
            .bind(t.value.to_string())
            .bind(t.block_number as i64)
            .bind(mined_after)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = id else {
                tracing::info!(tx = %tx_hash, to = %t.to, value = %t.value, "outgoing transfer matches no awaited refund");
                continue;
            };
            sqlx::query(
                "UPDATE refunds SET status = 'confirming', tx_hash = $1, log_index = $2, block_number = $3,
                    block_hash = $4, confirmations = 0, matched_at = $5, updated_at = $6
                 WHERE id = $7",
            )
            .bind(&tx_hash)
            .bind(t.log_index as i64)
            .bind(t.block_number as i64)
            .bind(t.block_hash.to_string())
            .bind(now)
            .bind(now)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            matched.push(RefundId(id));
        }
        tx.commit().await?;
        let mut out = Vec::with_capacity(matched.len());
        for id in matched {
            let r = self.refund(&id).await?;
            tracing::info!(refund = %r.id, payment = %r.payment_id, tx = ?r.tx_hash, "refund transfer seen");
            out.push(r);
        }
        Ok(out)
    }

    /// Refunds on `network` whose transfer was seen and is not confirmed yet.
    pub async fn confirming_refunds(&self, network: &NetworkId) -> Result<Vec<Refund>, CoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM refunds r JOIN payment_sessions p ON p.id = r.payment_id
             WHERE r.network_id = $1 AND r.status = 'confirming' ORDER BY r.seq"
        ))
        .bind(network.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(map).collect()
    }

    /// Its block left the chain: the refund is awaited again (found again if re-included).
    pub async fn unmatch_refund(&self, refund: &Refund) -> Result<(), CoreError> {
        let now = to_millis(self.clock.now());
        sqlx::query(
            "UPDATE refunds SET status = 'awaiting', tx_hash = NULL, log_index = NULL, block_number = NULL,
                block_hash = NULL, confirmations = 0, matched_at = NULL, updated_at = $1
             WHERE id = $2 AND status = 'confirming'",
        )
        .bind(now)
        .bind(refund.id.as_str())
        .execute(&self.pool)
        .await?;
        tracing::warn!(refund = %refund.id, block = ?refund.block_number, "refund's block left the chain; awaiting it again");
        Ok(())
    }

    /// Counts `confirmations` on a confirming refund; when `settled`, confirms it and moves its
    /// sale to `partially_refunded` or `refunded` (`payment.refunded`), in one transaction.
    pub async fn confirm_refund(
        &self,
        refund: &Refund,
        confirmations: u32,
        settled: bool,
    ) -> Result<Option<Payment>, CoreError> {
        let now = self.clock.now();
        if !settled {
            sqlx::query(
                "UPDATE refunds SET confirmations = CASE WHEN confirmations > $1 THEN confirmations ELSE $1 END, updated_at = $2
                 WHERE id = $3 AND status = 'confirming'",
            )
            .bind(confirmations as i64)
            .bind(to_millis(now))
            .bind(refund.id.as_str())
            .execute(&self.pool)
            .await?;
            return Ok(None);
        }
        let sale = self.get(&refund.payment_id).await?;
        let mut tx = crate::store::begin_write(&self.pool).await?;
        let changed = sqlx::query(
            "UPDATE refunds SET status = 'confirmed', confirmations = $1, confirmed_at = $2, updated_at = $3
             WHERE id = $4 AND status = 'confirming'",
        )
        .bind(confirmations as i64)
        .bind(to_millis(now))
        .bind(to_millis(now))
        .bind(refund.id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let refunds = of_payment(&mut tx, &sale.id).await?;
        let (received, refunded, _) = sums(&sale, &refunds);
        let status = if refunded.base_units() >= received.base_units() {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::PartiallyRefunded
        };
        sqlx::query(
            "UPDATE payment_sessions SET status = $1, refunded_base_units = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(status.as_str())
        .bind(refunded.base_units().to_string())
        .bind(to_millis(now))
        .bind(sale.id.as_str())
        .execute(&mut *tx)
        .await?;
        let mut updated = sale.clone();
        updated.status = status;
        updated.refunded = Some(refunded);
        updated.updated_at = now;
        let event = PaymentEvent {
            kind: PaymentEventKind::StatusChanged {
                previous: sale.status,
            },
            payment: updated,
        };
        let confirmed = refunds
            .into_iter()
            .find(|r| r.id == refund.id)
            .unwrap_or_else(|| refund.clone());
        events::record(&mut tx, &event, Some(confirmed.detail())).await?;
        tx.commit().await?;
        tracing::info!(refund = %refund.id, payment = %sale.id, status = %status, "refund confirmed");
        let updated = event.payment.clone();
        self.events.publish(event);
        Ok(Some(updated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refunds_worth_is_its_share_of_the_price_half_up() {
        let price = DecimalAmount::parse("71.00").unwrap();
        let whole = U256::from(10_000_000u64);
        let all = share_of(&price, whole, whole).unwrap();
        assert_eq!(all.to_string_scaled(2), "71.00");
        let third = share_of(&price, U256::from(3_333_333u64), whole).unwrap();
        assert_eq!(third.to_string_scaled(2), "23.67");
        assert!(share_of(&price, U256::ZERO, whole).is_none());
    }

    #[test]
    fn refund_ids_of_the_wrong_shape_are_not_found() {
        for bad in [
            "",
            "rfd_",
            "pay_0123456789abcdef0123456789abcdef",
            "rfd_XYZ",
        ] {
            assert!(
                matches!(RefundId::parse(bad), Err(CoreError::RefundNotFound)),
                "{bad}"
            );
        }
        let id = RefundId::random(&crate::entropy::SystemEntropy);
        assert_eq!(RefundId::parse(id.as_str()).unwrap(), id);
    }
}
