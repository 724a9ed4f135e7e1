//! The core's one error type. Every variant has a stable `code` that the API and UI match on.

use thiserror::Error;

use crate::amount::AmountError;

/// Everything the core can refuse or fail at.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// An amount was not a valid positive decimal within bounds for the token.
    #[error("invalid amount: {0}")]
    InvalidAmount(#[from] AmountError),
    /// The sale is over the shop's largest amount (`payments.max_amount`): most likely a slip
    /// at the keypad.
    #[error("the amount is over this shop's largest sale, {0} (payments.max_amount)")]
    AmountTooLarge(String),
    /// An address was malformed or not in EIP-55 checksummed form.
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    /// A request field other than amount or address was out of range or malformed.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Name of the field as the API spells it.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No enabled token with that symbol on that network.
    #[error("unknown token {symbol} on network {network}")]
    UnknownToken {
        /// Token symbol as requested.
        symbol: String,
        /// Network slug as requested.
        network: String,
    },
    /// The token is configured, but its contract on chain disagrees with the configuration
    /// (decimals), so selling in it would ask the wrong amount.
    #[error("{symbol} on {network} is disabled: {reason}")]
    TokenDisabled {
        /// Token symbol.
        symbol: String,
        /// Network slug.
        network: String,
        /// What the chain said.
        reason: String,
    },
    /// Another open payment now holds this payment's exact amount.
    #[error("another open payment ({0}) now holds this payment's exact amount; attach the transfer to that payment, or wait until it closes")]
    AmountHeld(String),
    /// No enabled network with that slug.
    #[error("unknown network {0}")]
    UnknownNetwork(String),
    /// No payment with that id.
    #[error("payment not found")]
    PaymentNotFound,
    /// No product with that id.
    #[error("product not found")]
    ProductNotFound,
    /// No refund with that id.
    #[error("refund not found")]
    RefundNotFound,
    /// A refund over what the sale may still give back.
    #[error("that is more than this sale may still refund ({refundable})")]
    RefundTooLarge {
        /// What may still be refunded, with the token.
        refundable: String,
    },
    /// The refund is past being called off: its transfer was seen.
    #[error("the refund is {status}: only an awaited refund (its transfer not seen yet) can be cancelled")]
    RefundInvalidState {
        /// The refund's status.
        status: &'static str,
    },
    /// No stored transfer with that id.
    #[error("transfer not found")]
    TransferNotFound,
    /// The database cannot be opened, migrated or written at start.
    #[error("cannot use the database {path}: {reason} (is its disk full or read-only? may this user write there?)")]
    Storage {
        /// The database file.
        path: String,
        /// What SQLite said.
        reason: String,
    },
    /// Another server holds the database's lock.
    #[error("the database {path} is in use by {holder} (lock file {lock}); stop that server first, or give this one another database.path")]
    DatabaseInUse {
        /// The database file.
        path: String,
        /// The lock file.
        lock: String,
        /// Who holds it (`process <pid>`).
        holder: String,
    },
    /// The pairing code is wrong, expired or used.
    #[error("that pairing code is wrong or has expired; ask for a new one on the till")]
    PairingRefused,
    /// No paired display with that id (or it is already revoked).
    #[error("display not found")]
    DisplayNotFound,
    /// No paired counter with that id (or it is already revoked).
    #[error("counter not found")]
    CounterNotFound,
    /// No webhook endpoint with that id.
    #[error("webhook endpoint not found")]
    WebhookNotFound,
    /// No webhook delivery with that id.
    #[error("webhook delivery not found")]
    DeliveryNotFound,
    /// The shop has no logo.
    #[error("this shop has no logo")]
    LogoNotFound,
    /// An image that is not a PNG, JPEG or WebP (by its first bytes, whatever its claimed type).
    #[error("a logo must be a PNG, JPEG or WebP image (SVG is not accepted)")]
    UnsupportedImage,
    /// An image over the largest size taken.
    #[error("the image is too large: a logo may be at most {} KiB", limit / 1024)]
    ImageTooLarge {
        /// The largest size taken, in bytes.
        limit: usize,
    },
    /// The product exists but is archived.
    #[error("product {0} is not active")]
    ProductInactive(String),
    /// The payment is in a state that does not allow the operation.
    #[error("payment is {status}: {action} is not possible")]
    InvalidState {
        /// The payment's current status.
        status: &'static str,
        /// The refused operation.
        action: &'static str,
    },
    /// Every unique-amount slot for this amount is held by other payments.
    #[error("all {0} unique-amount slots for this amount are held by other payments; try again later or change the amount")]
    AmountSlotsExhausted(u32),
    /// The same idempotency key was used earlier with a different request.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    /// Another payment already carries this order reference.
    #[error("order_reference {0:?} is already used by another payment")]
    OrderReferenceTaken(String),
    /// Printing was asked for, but no receipt printer is set (`receipts.printer`).
    #[error("no receipt printer is set (Settings, or receipts.printer in the config file)")]
    PrinterNotConfigured,
    /// The receipt printer did not take the receipt.
    #[error("{0}")]
    PrinterUnreachable(String),
    /// No receive address is configured, so payments cannot be created.
    #[error("the merchant receive address is not configured")]
    MerchantNotConfigured,
    /// No rate for the token from the shop's rate source (yet): a shop-currency price cannot be
    /// converted.
    #[error("no {rate_source} rate for {token} yet{}; sales in the shop's currency wait for one (or price in {token})", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    RateUnavailable {
        /// The token.
        token: String,
        /// The rate source.
        rate_source: String,
        /// Why the last fetch failed, if it did.
        reason: Option<String>,
    },
    /// The rate is older than `pricing.max_age_seconds`: new shop-currency sales are refused
    /// until it is refreshed.
    #[error("the {rate_source} rate is {age_seconds} s old (the limit is {max_seconds} s): new sales in the shop's currency are refused until it is refreshed")]
    RateStale {
        /// The rate source.
        rate_source: String,
        /// The rate's age.
        age_seconds: u64,
        /// `pricing.max_age_seconds`.
        max_seconds: u64,
    },
    /// A counter's data was to be copied into a database that already holds sales: two shops' data
    /// are never merged.
    #[error("the database {database} already holds {payments} payment(s): a counter's data is copied only into a hub database without sales (two shops' sales are never merged); make a new database for it")]
    DatabaseNotEmpty {
        /// The target database (its password hidden).
        database: String,
        /// The payments it holds.
        payments: u64,
    },
    /// The configuration is invalid; the message names the key.
    #[error("configuration error: {0}")]
    Config(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value cannot be read back as what it must be (a corrupt row is an error, never a
    /// default: a money column read as 0 would be worse than a failure).
    #[error("corrupt data in the database: {0}")]
    Corrupt(String),
}

/// Why the store cannot write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageProblem {
    /// The disk holding the database is full.
    Full,
    /// The database or its disk is read-only.
    ReadOnly,
}

impl CoreError {
    /// Stable machine-readable code for API bodies and UI messages.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::InvalidAmount(_) => "invalid_amount",
            CoreError::AmountTooLarge(_) => "amount_too_large",
            CoreError::InvalidAddress(_) => "invalid_address",
            CoreError::InvalidField { .. } => "invalid_field",
            CoreError::UnknownToken { .. } => "unknown_token",
            CoreError::UnknownNetwork(_) => "unknown_network",
            CoreError::TokenDisabled { .. } => "token_disabled",
            CoreError::AmountHeld(_) => "amount_held",
            CoreError::PaymentNotFound => "payment_not_found",
            CoreError::ProductNotFound => "product_not_found",
            CoreError::TransferNotFound => "transfer_not_found",
            CoreError::RefundNotFound => "refund_not_found",
            CoreError::RefundTooLarge { .. } => "refund_too_large",
            CoreError::RefundInvalidState { .. } => "invalid_state",
            CoreError::WebhookNotFound => "webhook_not_found",
            CoreError::PairingRefused => "pairing_refused",
            CoreError::DisplayNotFound => "display_not_found",
            CoreError::CounterNotFound => "counter_not_found",
            CoreError::DeliveryNotFound => "delivery_not_found",
            CoreError::LogoNotFound => "logo_not_found",
            CoreError::UnsupportedImage => "unsupported_image",
            CoreError::ImageTooLarge { .. } => "image_too_large",
            CoreError::ProductInactive(_) => "product_inactive",
            CoreError::InvalidState { .. } => "invalid_state",
            CoreError::AmountSlotsExhausted(_) => "amount_slots_exhausted",
            CoreError::IdempotencyKeyReused => "idempotency_key_reused",
            CoreError::OrderReferenceTaken(_) => "order_reference_taken",
            CoreError::MerchantNotConfigured => "merchant_not_configured",
            CoreError::PrinterNotConfigured => "printer_not_configured",
            CoreError::PrinterUnreachable(_) => "printer_unreachable",
            CoreError::RateUnavailable { .. } => "rate_unavailable",
            CoreError::RateStale { .. } => "rate_stale",
            CoreError::Config(_) => "invalid_config",
            CoreError::Database(_) => match self.storage_problem() {
                Some(StorageProblem::Full) => "storage_full",
                Some(StorageProblem::ReadOnly) => "storage_read_only",
                None => "internal_error",
            },
            CoreError::Migration(_) | CoreError::Corrupt(_) => "internal_error",
            CoreError::Storage { .. } => "database_unavailable",
            CoreError::DatabaseInUse { .. } => "database_in_use",
            CoreError::DatabaseNotEmpty { .. } => "database_not_empty",
        }
    }

    /// Whether the database refused a write because its disk is full or read-only: the operator
    /// must act, and the call will succeed after.
    pub fn storage_problem(&self) -> Option<StorageProblem> {
        let CoreError::Database(sqlx::Error::Database(d)) = self else {
            return None;
        };
        let m = d.message();
        if m.contains("database or disk is full") {
            Some(StorageProblem::Full)
        } else if m.contains("readonly database") || m.contains("read-only") {
            Some(StorageProblem::ReadOnly)
        } else {
            None
        }
    }

    /// Whether the same call may succeed later without any change (busy database, held slots).
    pub fn is_retryable(&self) -> bool {
        match self {
            CoreError::Database(sqlx::Error::PoolTimedOut) | CoreError::AmountSlotsExhausted(_) => {
                true
            }
            CoreError::Database(sqlx::Error::Database(d)) => {
                d.message().contains("database is locked")
                    || d.message().contains("database is busy")
            }
            _ => false,
        }
    }

    /// Shorthand for [`CoreError::InvalidField`].
    pub fn field(field: &'static str, reason: impl Into<String>) -> Self {
        CoreError::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}
