//! Counters: the tills of a hub. A desktop app in terminal mode pairs once with the hub, with the
//! same six-digit code a customer display pairs with ([`crate::pairing`]), and gets a cashier-role
//! token. Every sale made with that token names its counter (its id, and its name as it was then,
//! like a receipt), history and statistics can be narrowed to one counter, and each counter has its
//! own customer display channel ([`crate::display`]).

use std::fmt;

use crate::error::CoreError;

/// `ctr_` + 24 hex digits.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct CounterId(String);

impl CounterId {
    /// The id prefix.
    pub const PREFIX: &'static str = "ctr_";

    /// Parses an id; a malformed one cannot exist, so it is "not found".
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        if crate::entropy::is_hex_id(s, Self::PREFIX, 12) {
            Ok(Self(s.to_string()))
        } else {
            Err(CoreError::CounterNotFound)
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_store(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for CounterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The counter a sale was made at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counter {
    /// Its id.
    pub id: CounterId,
    /// Its name (as it was when the sale was made).
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_id_is_ctr_and_24_lowercase_hex_digits() {
        assert!(CounterId::parse("ctr_0123456789abcdef01234567").is_ok());
        for bad in [
            "ctr_0123456789ABCDEF01234567",
            "ctr_0123",
            "dsp_0123456789abcdef01234567",
            "ctr_0123456789abcdef01234567'--",
            "",
        ] {
            assert!(
                matches!(CounterId::parse(bad), Err(CoreError::CounterNotFound)),
                "{bad}"
            );
        }
    }
}
