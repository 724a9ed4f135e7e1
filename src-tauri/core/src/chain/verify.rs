//! The manual check (`POST /payments/{id}/process`): a cashier or customer offers a transaction
//! hash; its receipt must show a successful Transfer of the payment's token, to the receive address,
//! of the exact amount, not already used. A failing check changes nothing (a stranger must not be
//! able to fail someone's payment) and is recorded for stats; a passing one credits the payment as
//! the watcher would, through the same exactly-once path.

use alloy::{primitives::B256, sol_types::SolEvent};
use serde_json::json;
use sqlx::Row;

use super::{watcher::observe, ChainError, RpcChain, Transfer};
use crate::{
    catalog::Network,
    clock::to_millis,
    error::CoreError,
    payments::{Ingested, Payment, PaymentStatus, Payments},
};

/// Why a transaction does not pay a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckFailure {
    /// The transaction reverted.
    #[error("the transaction failed (reverted) on chain")]
    TransactionFailed,
    /// No Transfer in it goes to the receive address.
    #[error("the transaction sends nothing to this shop's receive address")]
    AddressMismatch,
    /// Transfers to the receive address, but of another token contract.
    #[error("the transaction transfers another token than the payment asks for")]
    TokenMismatch,
    /// The right token to the right address, but not the exact amount.
    #[error("the transaction transfers a different amount than the exact amount due")]
    AmountMismatch,
    /// The transfer already credits another payment.
    #[error("this transfer was already used for another payment")]
    AlreadyUsed,
    /// No such mined transaction.
    #[error("no mined transaction with this hash was found")]
    NotFound,
}

impl CheckFailure {
    /// Stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            CheckFailure::TransactionFailed => "transaction_failed",
            CheckFailure::AddressMismatch => "address_mismatch",
            CheckFailure::TokenMismatch => "token_mismatch",
            CheckFailure::AmountMismatch => "amount_mismatch",
            CheckFailure::AlreadyUsed => "already_used",
            CheckFailure::NotFound => "not_found",
        }
    }
}

/// The outcome of a manual check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The transaction does not pay this payment.
    #[error("{0}")]
    Failed(CheckFailure),
    /// The node could not be asked.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The store, or the payment is not in a state that can be credited.
    #[error(transparent)]
    Core(#[from] CoreError),
}

/// Checks `tx_hash` against `payment` and credits it on success.
pub async fn check_transaction(
    payments: &Payments,
    rpc: &RpcChain,
    network: &Network,
    payment: &Payment,
    tx_hash: B256,
) -> Result<Payment, CheckError> {
    let outcome = examine(payments, rpc, network, payment, tx_hash).await;
    if let Err(CheckError::Failed(reason)) = &outcome {
        payments
            .record_check_failure(payment, tx_hash, reason.code())
            .await?;
    }
    outcome
}

async fn examine(
    payments: &Payments,
    rpc: &RpcChain,
    network: &Network,
    payment: &Payment,
    tx_hash: B256,
) -> Result<Payment, CheckError> {
    let fail = |f| Err(CheckError::Failed(f));
    let Some(receipt) = rpc.receipt(tx_hash).await? else {
        return fail(CheckFailure::NotFound);
    };
    if !receipt.status() {
        return fail(CheckFailure::TransactionFailed);
    }
    let transfers: Vec<_> = receipt
        .inner
        .logs()
        .iter()
        .filter(|l| l.topic0() == Some(&Transfer::SIGNATURE_HASH))
        .filter_map(|l| observe(network, l))
        .collect();
    let to_shop: Vec<_> = transfers
        .iter()
        .filter(|t| t.to == payment.pay_to)
        .collect();
    if to_shop.is_empty() {
        return fail(CheckFailure::AddressMismatch);
    }
    let right_token: Vec<_> = to_shop
        .into_iter()
        .filter(|t| t.token_contract == payment.token_contract)
        .collect();
    if right_token.is_empty() {
        return fail(CheckFailure::TokenMismatch);
    }
    let Some(exact) = right_token
        .into_iter()
        .find(|t| t.value == payment.amount.base_units())
    else {
        return fail(CheckFailure::AmountMismatch);
    };
    match payments
        .transfer_owner(network.chain_id, exact.tx_hash, exact.log_index)
        .await?
    {
        Some(owner) if owner == payment.id.as_str() => {
            return Ok(payments.get(&payment.id).await?)
        }
        Some(_) => return fail(CheckFailure::AlreadyUsed),
        None => {}
    }
    if !matches!(
        payment.status,
        PaymentStatus::Pending | PaymentStatus::Expired
    ) {
        return Err(CoreError::InvalidState {
            status: payment.status.as_str(),
            action: "credit a transaction to",
        }
        .into());
    }
    match payments.ingest(exact, Some(&payment.id)).await? {
        Ingested::Credited(p) => Ok(*p),
        // The watcher stored it between our look-up and now: whose is it?
        Ingested::AlreadyKnown => match payments
            .transfer_owner(network.chain_id, exact.tx_hash, exact.log_index)
            .await?
        {
            Some(owner) if owner == payment.id.as_str() => Ok(payments.get(&payment.id).await?),
            _ => fail(CheckFailure::AlreadyUsed),
        },
        // The amount is no longer held by this payment (expired past the grace window).
        Ingested::Unmatched => Err(CoreError::InvalidState {
            status: payment.status.as_str(),
            action: "credit a transaction to",
        }
        .into()),
    }
}

impl Payments {
    /// Which payment a stored log credits, if any.
    pub async fn transfer_owner(
        &self,
        chain_id: u64,
        tx_hash: B256,
        log_index: u64,
    ) -> Result<Option<String>, CoreError> {
        let row = sqlx::query(
            "SELECT payment_id FROM transfers WHERE chain_id = ? AND tx_hash = ? AND log_index = ?",
        )
        .bind(chain_id as i64)
        .bind(tx_hash.to_string())
        .bind(log_index as i64)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|r| r.get::<Option<String>, _>("payment_id")))
    }

    /// Writes a failed manual check to the audit trail (counted by stats).
    pub async fn record_check_failure(
        &self,
        payment: &Payment,
        tx_hash: B256,
        reason: &str,
    ) -> Result<(), CoreError> {
        sqlx::query("INSERT INTO events (payment_id, kind, from_status, to_status, detail, at) VALUES (?, 'payment.check_failed', ?, ?, ?, ?)")
            .bind(payment.id.as_str())
            .bind(payment.status.as_str())
            .bind(payment.status.as_str())
            .bind(json!({ "reason": reason, "transaction_hash": tx_hash.to_string() }).to_string())
            .bind(to_millis(self.now()))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
