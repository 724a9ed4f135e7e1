//! A receipt as the API shows it (the printable page draws it).

use serde::Serialize;
use stablepay_core::receipts::Receipt;
use utoipa::ToSchema;

use super::rfc3339;

/// `GET /api/v1/payments/{id}/receipt`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptResponse {
    /// The shop's name.
    pub shop_name: String,
    /// Address lines.
    pub shop_address: Vec<String>,
    /// The payment.
    pub payment_id: String,
    /// What was sold.
    pub lines: Vec<ReceiptLineView>,
    /// In the shop's currency, e.g. `35.50 CNY`.
    pub fiat_total: Option<String>,
    /// What was paid, e.g. `5.00 USDT`.
    pub token_total: String,
    /// e.g. `1 USDT = 7.1 CNY (fixed)`.
    pub rate: Option<String>,
    /// The network's name.
    pub network: String,
    /// RFC 3339 UTC.
    pub paid_at: Option<String>,
    /// The crediting transaction.
    pub transaction_hash: Option<String>,
    /// The transaction on the network's explorer (the receipt's QR code).
    pub explorer_link: Option<String>,
    /// The closing line.
    pub footer: String,
    /// A receipt printer is set: `POST …/receipt/print` prints this.
    pub printer: bool,
    /// Confirmed refunds of the sale, oldest first (each also has its own slip on the page).
    pub refunds: Vec<ReceiptRefundView>,
}

/// A confirmed refund on the receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptRefundView {
    /// `rfd_…`.
    pub id: String,
    /// What went back, e.g. `1.00 USDT`.
    pub amount: String,
    /// Its worth in the shop's currency, e.g. `7.10 CNY`.
    pub fiat_amount: Option<String>,
    /// To whom (EIP-55).
    pub to: String,
    /// RFC 3339 UTC.
    pub confirmed_at: Option<String>,
    /// Its transaction.
    pub transaction_hash: Option<String>,
    /// The transaction on the network's explorer.
    pub explorer_link: Option<String>,
    /// Why, as staff wrote it.
    pub reason: Option<String>,
}

/// One line.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLineView {
    /// What (null: a sale without a description).
    pub label: Option<String>,
    /// How much.
    pub amount: String,
}

impl ReceiptResponse {
    /// `r`, saying whether a printer is set.
    pub fn new(r: Receipt, printer: bool) -> Self {
        Self {
            shop_name: r.shop_name,
            shop_address: r.shop_address,
            payment_id: r.payment_id,
            lines: r
                .lines
                .into_iter()
                .map(|l| ReceiptLineView {
                    label: l.label,
                    amount: l.amount,
                })
                .collect(),
            fiat_total: r.fiat_total,
            token_total: r.token_total,
            rate: r.rate,
            network: r.network,
            paid_at: r.paid_at.map(rfc3339),
            transaction_hash: r.transaction_hash,
            explorer_link: r.explorer_link,
            footer: r.footer,
            printer,
            refunds: r
                .refunds
                .into_iter()
                .map(|f| ReceiptRefundView {
                    id: f.id,
                    amount: f.amount,
                    fiat_amount: f.fiat_amount,
                    to: f.to,
                    confirmed_at: f.confirmed_at.map(rfc3339),
                    transaction_hash: f.transaction_hash,
                    explorer_link: f.explorer_link,
                    reason: f.reason,
                })
                .collect(),
        }
    }
}

/// `POST /api/v1/payments/{id}/receipt/print` answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Printed {
    /// The printer it went to.
    pub printer: String,
}
