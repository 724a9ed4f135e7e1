//! Receipts (issue 19): what a paid sale's receipt says — the shop, the sale, both amounts, the rate,
//! the time, the transaction and a link to it on the network's explorer — built once here and
//! rendered twice: as the printable page (the host's JSON for the UI) and as ESC/POS bytes for a
//! receipt printer ([`escpos`]), sent over raw TCP (port 9100) or written to a device file
//! ([`print`]).

pub mod escpos;
mod print;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast::error::RecvError;

pub use self::print::{print, Printer, PrinterError};
use crate::{
    catalog::Catalog,
    config::ReceiptsConfig,
    error::CoreError,
    events::EventBus,
    payments::{Payment, PaymentId, PaymentStatus, Payments, Refund, RefundStatus},
};

/// A receipt's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The shop's name.
    pub shop_name: String,
    /// Its address lines (`receipts.address`), may be empty.
    pub shop_address: Vec<String>,
    /// The payment id.
    pub payment_id: String,
    /// What was sold.
    pub lines: Vec<ReceiptLine>,
    /// In the shop's currency, with its currency code (`"35.50 CNY"`), when recorded.
    pub fiat_total: Option<String>,
    /// What was paid, in token units with the symbol (`"5.00 USDT"`).
    pub token_total: String,
    /// `1 USDT = 7.1 CNY (fixed)`, when a rate was recorded.
    pub rate: Option<String>,
    /// The network's name.
    pub network: String,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// The crediting transaction.
    pub transaction_hash: Option<String>,
    /// The transaction on the explorer (also the receipt's QR code), when the network has one.
    pub explorer_link: Option<String>,
    /// The closing line (`receipts.footer`).
    pub footer: String,
    /// Money given back since, by confirmed refunds, oldest first.
    pub refunds: Vec<ReceiptRefund>,
}

/// A confirmed refund on a receipt (and the refund's own slip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRefund {
    /// The refund's id.
    pub id: String,
    /// What went back, token units with the symbol.
    pub amount: String,
    /// Its worth in the shop's currency, with the code, when the sale had a price in it.
    pub fiat_amount: Option<String>,
    /// To whom.
    pub to: String,
    /// When it was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Its transaction.
    pub transaction_hash: Option<String>,
    /// The transaction on the explorer.
    pub explorer_link: Option<String>,
    /// Why, as staff wrote it.
    pub reason: Option<String>,
}

/// One line of what was sold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    /// What (`None`: a sale without a description, "Sale" in the receipt's language).
    pub label: Option<String>,
    /// How much, as printed.
    pub amount: String,
}

/// What was sold: the cart's lines (or the sale as one line), then the tip.
fn sold_lines(
    payment: &Payment,
    fiat_total: &Option<String>,
    token_total: &str,
) -> Vec<ReceiptLine> {
    let tip = payment
        .tip
        .as_ref()
        .and_then(|t| Some((t.percent?, t.amount.clone()?, t.base.clone())));
    let mut lines = match (&payment.cart, &payment.fiat) {
        (Some(cart), Some(f)) => cart_lines(cart, &f.currency),
        (None, Some(f)) if tip.is_some() => vec![ReceiptLine {
            label: payment.description.clone(),
            amount: format!(
                "{} {}",
                tip.as_ref()
                    .map_or(String::new(), |t| t.2.to_string_scaled(2)),
                f.currency
            ),
        }],
        _ => vec![ReceiptLine {
            label: payment.description.clone(),
            amount: fiat_total.clone().unwrap_or_else(|| token_total.to_owned()),
        }],
    };
    if let (Some((percent, amount, _)), Some(f)) = (tip, &payment.fiat) {
        lines.push(ReceiptLine {
            label: Some(format!("+ {percent} %")),
            amount: format!("{} {}", amount.to_string_scaled(2), f.currency),
        });
    }
    lines
}

/// A cart's lines as printed: `2 × Flat white  37.00 CNY`, then the discount.
fn cart_lines(cart: &crate::cart::Cart, currency: &str) -> Vec<ReceiptLine> {
    let money = |d: Option<crate::amount::DecimalAmount>| {
        format!(
            "{} {currency}",
            d.map_or("0.00".into(), |d| d.to_string_scaled(2))
        )
    };
    let mut lines: Vec<ReceiptLine> = cart
        .lines
        .iter()
        .map(|l| ReceiptLine {
            label: Some(if l.quantity == 1 {
                l.name.clone()
            } else {
                format!("{} × {}", l.quantity, l.name)
            }),
            amount: money(
                crate::cart::Cart {
                    lines: vec![l.clone()],
                    discount: None,
                }
                .subtotal(),
            ),
        })
        .collect();
    if let Some(d) = &cart.discount {
        lines.push(ReceiptLine {
            label: Some(match d {
                crate::cart::Discount::Percent(p) => format!("− {p} %"),
                crate::cart::Discount::Amount(_) => "−".into(),
            }),
            amount: format!("-{}", money(cart.discount_amount())),
        });
    }
    lines
}

/// The shop's receipt settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptHeader {
    /// Shop name.
    pub shop_name: String,
    /// Address lines.
    pub address: Vec<String>,
    /// Closing line.
    pub footer: String,
}

impl Receipt {
    /// The receipt of `payment` on a network named `network` whose explorer is `explorer_url`
    /// (`""`: none), with its confirmed `refunds`. Only a paid payment (refunded since or not) has one.
    pub fn of(
        payment: &Payment,
        header: &ReceiptHeader,
        network: &str,
        explorer_url: &str,
        refunds: &[Refund],
    ) -> Option<Self> {
        if !payment.status.was_paid() {
            return None;
        }
        let explorer = |tx: &Option<String>| {
            tx.as_ref()
                .filter(|_| !explorer_url.is_empty())
                .map(|tx| format!("{}/tx/{tx}", explorer_url.trim_end_matches('/')))
        };
        let paid = payment.amount_received.unwrap_or(payment.amount);
        let token_total = format!("{} {}", paid.to_decimal_string(2), payment.token);
        let fiat_total = payment
            .fiat
            .as_ref()
            .map(|f| format!("{} {}", f.amount.to_string_scaled(2), f.currency));
        let explorer_link = explorer(&payment.transaction_hash);
        Some(Self {
            shop_name: header.shop_name.clone(),
            shop_address: header.address.clone(),
            payment_id: payment.id.to_string(),
            lines: sold_lines(payment, &fiat_total, &token_total),
            fiat_total,
            token_total,
            rate: payment.fiat.as_ref().map(|f| {
                format!(
                    "1 {} = {} {} ({})",
                    payment.token, f.rate.value, f.currency, f.rate.source
                )
            }),
            network: network.to_owned(),
            paid_at: payment.paid_at,
            transaction_hash: payment.transaction_hash.clone(),
            explorer_link,
            footer: header.footer.clone(),
            refunds: refunds
                .iter()
                .filter(|r| r.status == RefundStatus::Confirmed)
                .map(|r| ReceiptRefund {
                    id: r.id.to_string(),
                    amount: format!("{} {}", r.amount.to_decimal_string(2), r.token),
                    fiat_amount: r
                        .fiat_amount
                        .as_ref()
                        .zip(r.fiat_currency.as_ref())
                        .map(|(a, c)| format!("{} {c}", a.to_string_scaled(2))),
                    to: r.to.checksummed(),
                    confirmed_at: r.confirmed_at,
                    transaction_hash: r.tx_hash.clone(),
                    explorer_link: explorer(&r.tx_hash),
                    reason: r.reason.clone(),
                })
                .collect(),
        })
    }
}

/// The receipts service: a paid payment's receipt, printed on request or by itself when
/// `receipts.auto_print` is on.
#[derive(Debug, Clone)]
pub struct Receipts {
    config: ReceiptsConfig,
    header: ReceiptHeader,
    payments: Payments,
    catalog: Catalog,
    events: EventBus,
}

impl Receipts {
    /// For the shop `shop_name`.
    pub fn new(
        config: ReceiptsConfig,
        shop_name: String,
        payments: Payments,
        catalog: Catalog,
        events: EventBus,
    ) -> Self {
        let header = ReceiptHeader {
            shop_name,
            address: config.address.clone(),
            footer: config.footer.clone(),
        };
        Self {
            config,
            header,
            payments,
            catalog,
            events,
        }
    }

    /// The receipt printer, if one is set.
    pub fn printer(&self) -> Option<&Printer> {
        self.config.printer.as_ref()
    }

    async fn of(&self, payment: &Payment) -> Result<Receipt, CoreError> {
        let network = self.catalog.network(&payment.network).await?;
        let refunds = if payment.status.was_paid() {
            self.payments.refunds_of(&payment.id).await?.refunds
        } else {
            vec![]
        };
        Receipt::of(
            payment,
            &self.header,
            &network.name,
            &network.explorer_url,
            &refunds,
        )
        .ok_or(CoreError::InvalidState {
            status: payment.status.as_str(),
            action: "give a receipt for (only a paid sale has one)",
        })
    }

    /// Payment `id`'s receipt.
    pub async fn receipt(&self, id: &PaymentId) -> Result<Receipt, CoreError> {
        self.of(&self.payments.get(id).await?).await
    }

    /// Prints payment `id`'s receipt (labels in `language`); answers the printer it went to.
    pub async fn print(&self, id: &PaymentId, language: &str) -> Result<String, CoreError> {
        let printer = self
            .config
            .printer
            .as_ref()
            .ok_or(CoreError::PrinterNotConfigured)?;
        let receipt = self.receipt(id).await?;
        let bytes = escpos::encode(&receipt, &escpos::Labels::for_language(language));
        print(printer, &bytes)
            .await
            .map_err(|e| CoreError::PrinterUnreachable(e.to_string()))?;
        Ok(printer.to_string())
    }

    /// Prints each paid sale's receipt as it is paid, while `receipts.auto_print` is on (the host
    /// spawns this). A printer that fails is logged; the sale is paid all the same.
    pub async fn run(self) {
        let language = self.config.language.clone();
        if !self.config.auto_print || self.config.printer.is_none() {
            return;
        }
        let mut events = self.events.subscribe();
        loop {
            match events.recv().await {
                Ok(e)
                    if e.payment.status == PaymentStatus::Paid
                        && matches!(
                            e.kind,
                            crate::events::PaymentEventKind::StatusChanged { .. }
                        ) =>
                {
                    if let Err(err) = self.print(&e.payment.id, &language).await {
                        tracing::warn!(payment = %e.payment.id, error = %err, "the receipt did not print");
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    }
}
