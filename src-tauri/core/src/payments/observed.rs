//! What the chain says about payments: an observed Transfer log, and the outcomes of storing one,
//! of a credit checked again, and of settling.

use alloy_primitives::{B256, U256};
use chrono::{DateTime, Utc};

use super::{Payment, PaymentId};
use crate::{address::Address, catalog::NetworkId};

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
    /// Not the amount any open sale asks, but close to what this open sale asks (see
    /// `Payments::nearest_open_sale`): the customer sent too little or too much.
    WrongAmount,
}

impl InboxReason {
    /// The API and store spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            InboxReason::PaidAfterCancel => "paid_after_cancel",
            InboxReason::SecondPayment => "second_payment",
            InboxReason::BeforeSale => "before_sale",
            InboxReason::SameTransaction => "same_transaction",
            InboxReason::WrongAmount => "wrong_amount",
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
