//! `[receipts]`: what the receipt says about the shop, and where it prints.
//!
//! ```toml
//! [receipts]
//! address = ["1 Harbour Road", "Kowloon"]   # lines under the shop's name
//! footer = "Thank you!"
//! printer = "192.168.1.50:9100"             # or "/dev/usb/lp0"; "" = no receipt printer
//! auto_print = false                        # print by itself when a sale is paid
//! language = "en"                           # the printed labels: en or zh-CN
//! ```

use super::{bad, list, section};
use crate::{error::CoreError, receipts::Printer};

section! {
    /// `[receipts]` as written.
    struct RawReceipts {
        #[serde(deserialize_with = "list")]
        address: Vec<String> = Vec::new(),
        footer: String = "Thank you!".into(),
        printer: String = String::new(),
        auto_print: bool = false,
        language: String = "en".into(),
    }
}

/// `[receipts]`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptsConfig {
    /// Address lines.
    pub address: Vec<String>,
    /// Closing line.
    pub footer: String,
    /// The receipt printer, if any.
    pub printer: Option<Printer>,
    /// Print each paid sale's receipt by itself.
    pub auto_print: bool,
    /// The labels of receipts printed by themselves: `en` or `zh-CN`.
    pub language: String,
}

impl TryFrom<RawReceipts> for ReceiptsConfig {
    type Error = CoreError;

    fn try_from(r: RawReceipts) -> Result<Self, CoreError> {
        if r.address.len() > 4 || r.address.iter().any(|l| l.chars().count() > 64) {
            return Err(bad(
                "receipts.address",
                "at most 4 lines of at most 64 characters",
            ));
        }
        if r.footer.chars().count() > 128 {
            return Err(bad("receipts.footer", "at most 128 characters"));
        }
        let printer = Printer::parse(&r.printer);
        if r.auto_print && printer.is_none() {
            return Err(bad(
                "receipts.auto_print",
                "needs receipts.printer (an address like 192.168.1.50:9100, or a device like /dev/usb/lp0)",
            ));
        }
        if !matches!(r.language.as_str(), "en" | "zh-CN") {
            return Err(bad("receipts.language", "must be en or zh-CN"));
        }
        Ok(ReceiptsConfig {
            language: r.language,
            address: r.address.into_iter().map(|l| l.trim().to_owned()).collect(),
            footer: r.footer.trim().to_owned(),
            printer,
            auto_print: r.auto_print,
        })
    }
}
