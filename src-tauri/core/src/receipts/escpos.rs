//! A receipt as ESC/POS, the command language of thermal receipt printers (Epson's, and the many
//! that follow it): initialise, centred bold shop name, left-aligned lines, the transaction's
//! explorer link as a QR code (`GS ( k`, model 2), feed and cut. Text is sent as UTF-8; printers set
//! to a Chinese code page print the shop's Chinese text with GB18030 instead — a setting of the
//! printer, not of this encoder.

use super::Receipt;

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;
/// Characters per line on a 58 mm printer (Font A).
pub const WIDTH: usize = 32;

/// The bytes for `r`, with the explorer link as a QR code when there is one.
pub fn encode(r: &Receipt, labels: &Labels) -> Vec<u8> {
    let mut out = vec![ESC, b'@'];
    let center = |out: &mut Vec<u8>, on: bool| out.extend([ESC, b'a', u8::from(on)]);
    let bold = |out: &mut Vec<u8>, on: bool| out.extend([ESC, b'E', u8::from(on)]);
    let line = |out: &mut Vec<u8>, text: &str| {
        out.extend(text.as_bytes());
        out.push(b'\n');
    };
    center(&mut out, true);
    bold(&mut out, true);
    out.extend([GS, b'!', 0x11]); // double width and height
    line(&mut out, &r.shop_name);
    out.extend([GS, b'!', 0x00]);
    bold(&mut out, false);
    for a in &r.shop_address {
        line(&mut out, a);
    }
    center(&mut out, false);
    line(&mut out, &"-".repeat(WIDTH));
    for l in &r.lines {
        line(
            &mut out,
            &columns(l.label.as_deref().unwrap_or(&labels.sale), &l.amount),
        );
    }
    line(&mut out, &"-".repeat(WIDTH));
    bold(&mut out, true);
    if let Some(fiat) = &r.fiat_total {
        line(&mut out, &columns(&labels.total, fiat));
    }
    line(&mut out, &columns(&labels.paid, &r.token_total));
    bold(&mut out, false);
    if let Some(rate) = &r.rate {
        line(&mut out, rate);
    }
    line(&mut out, &r.network);
    if let Some(at) = r.paid_at {
        line(&mut out, &at.format("%Y-%m-%d %H:%M:%S UTC").to_string());
    }
    if let Some(tx) = &r.transaction_hash {
        line(&mut out, &labels.transaction);
        line(&mut out, tx);
    }
    line(&mut out, &r.payment_id);
    for refund in &r.refunds {
        line(&mut out, &"-".repeat(WIDTH));
        bold(&mut out, true);
        line(&mut out, &columns(&labels.refunded, &refund.amount));
        bold(&mut out, false);
        if let Some(fiat) = &refund.fiat_amount {
            line(&mut out, &columns("", fiat));
        }
        if let Some(at) = refund.confirmed_at {
            line(&mut out, &at.format("%Y-%m-%d %H:%M:%S UTC").to_string());
        }
        if let Some(tx) = &refund.transaction_hash {
            line(&mut out, tx);
        }
    }
    if let Some(link) = &r.explorer_link {
        center(&mut out, true);
        qr(&mut out, link.as_bytes());
        center(&mut out, false);
    }
    if !r.footer.is_empty() {
        center(&mut out, true);
        line(&mut out, &r.footer);
        center(&mut out, false);
    }
    out.extend([ESC, b'd', 4]); // feed 4 lines
    out.extend([GS, b'V', 66, 0]); // partial cut
    out
}

/// The words around the figures, in the receipt's language.
#[derive(Debug, Clone)]
pub struct Labels {
    /// "Total".
    pub total: String,
    /// "Paid".
    pub paid: String,
    /// "Transaction".
    pub transaction: String,
    /// "Sale", for a line without a description.
    pub sale: String,
    /// "Refunded", before a refund's amount.
    pub refunded: String,
}

impl Labels {
    /// For `language` (`zh…` Chinese, else English).
    pub fn for_language(language: &str) -> Self {
        if language.starts_with("zh") {
            Self {
                total: "合计".into(),
                paid: "实付".into(),
                transaction: "交易哈希".into(),
                sale: "商品".into(),
                refunded: "已退款".into(),
            }
        } else {
            Self {
                total: "Total".into(),
                paid: "Paid".into(),
                transaction: "Transaction".into(),
                sale: "Sale".into(),
                refunded: "Refunded".into(),
            }
        }
    }
}

/// `left` and `right` on one line of [`WIDTH`] (on two when they do not fit).
fn columns(left: &str, right: &str) -> String {
    let (l, r) = (left.chars().count(), right.chars().count());
    if l + r < WIDTH {
        format!("{left}{}{right}", " ".repeat(WIDTH - l - r))
    } else {
        format!("{left}\n{right:>WIDTH$}")
    }
}

/// `GS ( k`: QR model 2, module size 6, error correction M, store `data`, print it.
fn qr(out: &mut Vec<u8>, data: &[u8]) {
    let mut fun = |cn_fn: &[u8]| {
        let len = cn_fn.len();
        out.extend([GS, b'(', b'k', (len & 0xff) as u8, (len >> 8) as u8]);
        out.extend(cn_fn);
    };
    fun(&[49, 65, 50, 0]); // model 2
    fun(&[49, 67, 6]); // module size
    fun(&[49, 69, 49]); // error correction M
    let mut store = vec![49, 80, 48];
    store.extend(data);
    fun(&store);
    fun(&[49, 81, 48]); // print
}

/// What a printer would make of `bytes`: its text lines and the QR codes' data (for tests, and to
/// show what was sent). Commands are skipped by their known lengths.
pub fn decode(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    let (mut text, mut qrs, mut i) = (Vec::<u8>::new(), Vec::new(), 0);
    while i < bytes.len() {
        match bytes[i] {
            ESC => {
                i += match bytes.get(i + 1) {
                    Some(b'@') => 2,
                    _ => 3,
                }
            }
            GS if bytes.get(i + 1) == Some(&b'(') => {
                let len = usize::from(bytes[i + 3]) | usize::from(bytes[i + 4]) << 8;
                let body = &bytes[i + 5..i + 5 + len];
                if body.starts_with(&[49, 80, 48]) {
                    qrs.push(String::from_utf8_lossy(&body[3..]).into_owned());
                }
                i += 5 + len;
            }
            GS => {
                i += match bytes.get(i + 1) {
                    Some(b'V') => 4,
                    _ => 3,
                }
            }
            b => {
                text.push(b);
                i += 1;
            }
        }
    }
    let lines = String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect();
    (lines, qrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipts::ReceiptLine;

    fn receipt() -> Receipt {
        Receipt {
            shop_name: "Corner Café".into(),
            shop_address: vec!["1 Harbour Road".into()],
            payment_id: "pay_0123".into(),
            lines: vec![ReceiptLine {
                label: Some("Coffee".into()),
                amount: "35.50 CNY".into(),
            }],
            fiat_total: Some("35.50 CNY".into()),
            token_total: "5.00 USDT".into(),
            rate: Some("1 USDT = 7.1 CNY (fixed)".into()),
            network: "BNB Smart Chain".into(),
            paid_at: None,
            transaction_hash: Some("0xabc".into()),
            explorer_link: Some("https://bscscan.com/tx/0xabc".into()),
            footer: "Thank you".into(),
            refunds: vec![],
        }
    }

    #[test]
    fn a_receipt_encodes_to_its_lines_and_a_qr_of_the_transaction_link() {
        let bytes = encode(&receipt(), &Labels::for_language("en"));
        assert!(bytes.starts_with(&[ESC, b'@']), "initialises the printer");
        assert!(bytes.ends_with(&[GS, b'V', 66, 0]), "cuts the paper");
        let (lines, qrs) = decode(&bytes);
        assert_eq!(lines[0], "Corner Café");
        assert!(
            lines.contains(&format!("Coffee{}35.50 CNY", " ".repeat(WIDTH - 15))),
            "{lines:?}"
        );
        assert!(lines
            .iter()
            .any(|l| l.starts_with("Paid") && l.ends_with("5.00 USDT")));
        assert!(lines.contains(&"1 USDT = 7.1 CNY (fixed)".to_string()));
        assert!(lines.contains(&"0xabc".to_string()));
        assert_eq!(qrs, vec!["https://bscscan.com/tx/0xabc".to_string()]);
    }

    #[test]
    fn a_refunded_sale_prints_each_refund_with_its_amount_and_transaction() {
        let mut r = receipt();
        r.refunds.push(crate::receipts::ReceiptRefund {
            id: "rfd_1".into(),
            amount: "2.00 USDT".into(),
            fiat_amount: Some("14.20 CNY".into()),
            to: "0xCustomer".into(),
            confirmed_at: None,
            transaction_hash: Some("0xdef".into()),
            explorer_link: None,
            reason: None,
        });
        let (lines, _) = decode(&encode(&r, &Labels::for_language("zh-CN")));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("已退款") && l.ends_with("2.00 USDT")),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.ends_with("14.20 CNY")));
        assert!(lines.contains(&"0xdef".to_string()));
    }

    #[test]
    fn a_long_line_wraps_its_amount_to_the_right() {
        let wrapped = columns(&"x".repeat(30), "35.50 CNY");
        assert_eq!(
            wrapped,
            format!("{}\n{:>WIDTH$}", "x".repeat(30), "35.50 CNY")
        );
    }
}
