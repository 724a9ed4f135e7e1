//! `[tips]`: the tip choices the customer display offers before the QR code (issue 19).
//!
//! ```toml
//! [tips]
//! choices = [10, 15, 20]   # percent; empty (the default): no tips asked
//! ```

use super::{bad, section};
use crate::error::CoreError;

section! {
    /// `[tips]` as written.
    struct RawTips {
        choices: Vec<u32> = Vec::new(),
    }
}

/// `[tips]`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TipsConfig {
    /// Percentages offered, in order; empty: tips are not asked.
    pub choices: Vec<u32>,
}

impl TryFrom<RawTips> for TipsConfig {
    type Error = CoreError;

    fn try_from(t: RawTips) -> Result<Self, CoreError> {
        if t.choices.len() > 4 || t.choices.iter().any(|p| !(1..=100).contains(p)) {
            return Err(bad(
                "tips.choices",
                "at most 4 percentages from 1 to 100, e.g. [10, 15, 20]",
            ));
        }
        Ok(TipsConfig { choices: t.choices })
    }
}
