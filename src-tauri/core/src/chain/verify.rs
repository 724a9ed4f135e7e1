//! The manual check (`POST /payments/{id}/process`): a cashier or customer offers a transaction
//! hash; its receipt must show a successful Transfer of the payment's token, to the receive address,
//! of the exact amount, from someone other than the shop itself, mined after the payment existed
//! (its lower bound), and not already used. A failing check changes nothing (a stranger must not be
//! able to fail someone's payment) and is recorded for stats; a passing one credits the payment as
//! the watcher would, through the same exactly-once path — and settles like any credit, through
//! confirmations, finality and a second endpoint.
//!
//! Anyone can call it, so it is the place a stranger would replay an old transfer of the right
//! amount read off an explorer: a transfer older than the payment is `transaction_too_old`, never a
//! credit. Only staff can attach such a transfer, with a reason ([`crate::transfers`]).

use alloy::{primitives::B256, rpc::types::TransactionReceipt, sol_types::SolEvent};
use chrono::DateTime;

use super::{observe, ChainError, EndpointKey, Need, Pinned, RpcChain, Transfer};
use crate::{
    catalog::Network,
    error::CoreError,
    payments::{InboxReason, Ingested, ObservedTransfer, Payment, PaymentStatus, Payments},
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
    /// No mined transaction with this hash.
    #[error("no mined transaction with this hash was found")]
    NotFound,
    /// Mined before the payment existed: it cannot be this payment's.
    #[error("this transaction was made before the payment existed, so it cannot pay it")]
    TooOld,
    /// The shop's receive address sent it to itself.
    #[error("this transaction is a transfer from the shop's own address to itself")]
    SelfTransfer,
    /// A refund's check: nothing in it goes from the shop's address to the refund's recipient.
    #[error("the transaction sends nothing from the shop's address to the refund's recipient")]
    RecipientMismatch,
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
            CheckFailure::TooOld => "transaction_too_old",
            CheckFailure::SelfTransfer => "self_transfer",
            CheckFailure::RecipientMismatch => "recipient_mismatch",
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

/// A transaction hash as a caller typed it: `0x` and 64 hex digits.
pub fn parse_tx_hash(s: &str) -> Result<B256, CoreError> {
    let bad = |reason: &str| CoreError::InvalidField {
        field: "transaction_hash",
        reason: reason.into(),
    };
    let ok = s.len() == 66 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(bad("must be 0x followed by 64 hex digits"));
    }
    s.parse().map_err(|_| bad("not a transaction hash"))
}

impl crate::Core {
    /// The manual check of payment `id` (`POST /payments/{id}/process`): finds the payment and its
    /// network's endpoints, checks `tx_hash` and credits the payment on success.
    pub async fn check_transaction(
        &self,
        id: &crate::payments::PaymentId,
        tx_hash: B256,
    ) -> Result<Payment, CheckError> {
        let payment = self.payments.get(id).await?;
        let network = self.catalog.network(&payment.network).await?;
        let rpc = self.chains.get(&payment.network).ok_or_else(|| {
            ChainError::Unavailable(format!("network {} has no rpc_urls", payment.network))
        })?;
        check_transaction(&self.payments, rpc, &network, &payment, tx_hash).await
    }
}

impl crate::Core {
    /// The manual check of refund `id` (`POST /refunds/{id}/check`), for networks whose endpoints
    /// serve no logs: the receipt of `tx_hash` must show a successful Transfer of the refund's
    /// token, from the receive address, to its recipient, of its exact amount, mined after the
    /// refund was asked; it is then matched as the watcher would and settles the same way. A
    /// failing check changes nothing.
    pub async fn check_refund(
        &self,
        id: &crate::payments::RefundId,
        tx_hash: B256,
    ) -> Result<crate::payments::Refund, CheckError> {
        let refund = self.payments.refund(id).await?;
        if refund.tx_hash.as_deref() == Some(tx_hash.to_string().as_str()) {
            return Ok(refund);
        }
        if refund.status != crate::payments::RefundStatus::Awaiting {
            return Err(CoreError::RefundInvalidState {
                status: refund.status.as_str(),
            }
            .into());
        }
        let network = self.catalog.network(&refund.network).await?;
        let rpc = self.chains.get(&refund.network).ok_or_else(|| {
            ChainError::Unavailable(format!("network {} has no rpc_urls", refund.network))
        })?;
        let fail = |f| Err(CheckError::Failed(f));
        let Some((pinned, receipt, timestamp)) = find_receipt(rpc, tx_hash).await? else {
            return fail(CheckFailure::NotFound);
        };
        if !receipt.status() {
            return fail(CheckFailure::TransactionFailed);
        }
        let transfers: Vec<ObservedTransfer> = receipt
            .inner
            .logs()
            .iter()
            .filter(|l| l.topic0() == Some(&Transfer::SIGNATURE_HASH))
            .filter_map(|l| observe(&network.id, network.chain_id, l))
            .collect();
        let candidates = narrow(
            transfers.iter().collect(),
            CheckFailure::RecipientMismatch,
            |t| t.from == refund.from && t.to == refund.to,
        )
        .map_err(CheckError::Failed)?;
        let candidates = narrow(candidates, CheckFailure::TokenMismatch, |t| {
            t.token_contract == refund.token_contract
        })
        .map_err(CheckError::Failed)?;
        let mut sent = narrow(candidates, CheckFailure::AmountMismatch, |t| {
            t.value == refund.amount.base_units()
        })
        .map_err(CheckError::Failed)?[0]
            .clone();
        sent.block_time = DateTime::from_timestamp(timestamp as i64, 0);
        sent.source = Some(pinned.key().to_string());
        let too_old = refund.start_block.is_some_and(|b| sent.block_number < b)
            || sent
                .block_time
                .is_some_and(|at| at + crate::payments::BLOCK_TIME_SKEW < refund.created_at);
        if too_old {
            return fail(CheckFailure::TooOld);
        }
        if self.payments.match_refunds(&[sent]).await?.is_empty() {
            // Already matched to an earlier refund of the same amount to the same address.
            return fail(CheckFailure::AlreadyUsed);
        }
        Ok(self.payments.refund(id).await?)
    }
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

/// The receipt from the first endpoint that has it (a lagging one may not yet), checked against
/// that endpoint's own block; `None` when no endpoint has it.
async fn find_receipt<'a>(
    rpc: &'a RpcChain,
    tx_hash: B256,
) -> Result<Option<(Pinned<'a>, TransactionReceipt, u64)>, ChainError> {
    let mut asked: Vec<EndpointKey> = Vec::new();
    let mut last_error = None;
    loop {
        let pinned = match rpc
            .pick(&Need {
                except: asked.clone(),
                ..Need::default()
            })
            .await
        {
            Ok(p) => p,
            Err(e) if asked.is_empty() => return Err(e),
            Err(_) => break,
        };
        asked.push(pinned.key().clone());
        let found = match pinned.receipt(tx_hash).await {
            Ok(found) => found,
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        let Some(receipt) = found else { continue };
        let (Some(number), Some(hash)) = (receipt.block_number, receipt.block_hash) else {
            continue;
        };
        match pinned.header(number).await {
            Ok(Some(block)) if block.hash == hash => {
                return Ok(Some((pinned, receipt, block.timestamp)))
            }
            Ok(_) => continue, // a receipt from a block that left this endpoint's chain
            Err(e) => last_error = Some(e),
        }
    }
    match last_error {
        // Some endpoint failed and none had it: cannot tell "not found" from "not asked".
        Some(e) if asked.len() <= 1 => Err(e),
        _ => Ok(None),
    }
}

async fn examine(
    payments: &Payments,
    rpc: &RpcChain,
    network: &Network,
    payment: &Payment,
    tx_hash: B256,
) -> Result<Payment, CheckError> {
    let fail = |f| Err(CheckError::Failed(f));
    let Some((pinned, receipt, timestamp)) = find_receipt(rpc, tx_hash).await? else {
        return fail(CheckFailure::NotFound);
    };
    if !receipt.status() {
        return fail(CheckFailure::TransactionFailed);
    }
    let mut exact =
        paying_transfer(network, payment, receipt.inner.logs()).map_err(CheckError::Failed)?;
    exact.block_time = DateTime::from_timestamp(timestamp as i64, 0);
    exact.source = Some(pinned.key().to_string());
    match payments
        .transaction_owner(network.chain_id, tx_hash)
        .await?
    {
        Some(owner) if owner == payment.id.as_str() => {
            return Ok(payments.get(&payment.id).await?)
        }
        Some(_) => return fail(CheckFailure::AlreadyUsed),
        None => {}
    }
    if payments.is_older_than(&exact, payment).await? {
        return fail(CheckFailure::TooOld);
    }
    let not_creditable = || {
        CheckError::from(CoreError::InvalidState {
            status: payment.status.as_str(),
            action: "credit a transaction to",
        })
    };
    if !matches!(
        payment.status,
        PaymentStatus::Pending | PaymentStatus::Expired
    ) {
        return Err(not_creditable());
    }
    match payments.ingest(&exact, Some(&payment.id)).await? {
        Ingested::Credited(p) => Ok(*p),
        // The watcher stored and credited it between our look-up and now: whose is it?
        Ingested::AlreadyKnown => match payments
            .transaction_owner(network.chain_id, tx_hash)
            .await?
        {
            Some(owner) if owner == payment.id.as_str() => Ok(payments.get(&payment.id).await?),
            _ => fail(CheckFailure::AlreadyUsed),
        },
        Ingested::Unmatched(Some(note)) => match note.reason {
            InboxReason::BeforeSale => fail(CheckFailure::TooOld),
            InboxReason::SameTransaction => fail(CheckFailure::AlreadyUsed),
            InboxReason::WrongAmount => fail(CheckFailure::AmountMismatch),
            InboxReason::PaidAfterCancel | InboxReason::SecondPayment => Err(not_creditable()),
        },
        // The amount is no longer held by this payment (expired past the grace window).
        Ingested::Unmatched(None) => Err(not_creditable()),
    }
}

/// The Transfer log among `logs` that pays `payment`: to its address, of its token, of its exact
/// amount, not from the shop itself. The first rule none passes is the failure.
fn paying_transfer(
    network: &Network,
    payment: &Payment,
    logs: &[alloy::rpc::types::Log],
) -> Result<ObservedTransfer, CheckFailure> {
    let transfers: Vec<ObservedTransfer> = logs
        .iter()
        .filter(|l| l.topic0() == Some(&Transfer::SIGNATURE_HASH))
        .filter_map(|l| observe(&network.id, network.chain_id, l))
        .collect();
    // Narrowed step by step, so the failure names the first thing that did not match.
    let candidates = transfers.iter().collect();
    let candidates = narrow(candidates, CheckFailure::AddressMismatch, |t| {
        t.to == payment.pay_to
    })?;
    let candidates = narrow(candidates, CheckFailure::TokenMismatch, |t| {
        t.token_contract == payment.token_contract
    })?;
    let candidates = narrow(candidates, CheckFailure::AmountMismatch, |t| {
        t.value == payment.amount.base_units()
    })?;
    let paying = narrow(candidates, CheckFailure::SelfTransfer, |t| {
        t.from != payment.pay_to
    })?;
    Ok(paying[0].clone())
}

/// The transfers that `keep`, or `otherwise` when none does.
fn narrow(
    transfers: Vec<&ObservedTransfer>,
    otherwise: CheckFailure,
    keep: impl Fn(&ObservedTransfer) -> bool,
) -> Result<Vec<&ObservedTransfer>, CheckFailure> {
    let kept: Vec<_> = transfers.into_iter().filter(|t| keep(t)).collect();
    if kept.is_empty() {
        Err(otherwise)
    } else {
        Ok(kept)
    }
}
