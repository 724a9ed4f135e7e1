//! Payment ids and idempotency keys.

use std::fmt;

use crate::error::CoreError;

/// `pay_` + 32 lowercase hex digits (128 random bits): unguessable, so a customer screen can be
/// reached with the id alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PaymentId(String);

impl PaymentId {
    /// A fresh random id (128 bits from `entropy`).
    pub fn random(entropy: &dyn crate::entropy::Entropy) -> Self {
        Self(crate::entropy::hex_id::<16>("pay_", entropy))
    }

    /// Parses an id; anything not of the id's shape cannot exist, so it is "not found".
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        if crate::entropy::is_hex_id(s, "pay_", 16) {
            Ok(Self(s.to_string()))
        } else {
            Err(CoreError::PaymentNotFound)
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps an id read from the store.
    pub(crate) fn from_store(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client-chosen `Idempotency-Key`: 1–255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses the header value.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        if (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(s.to_string()))
        } else {
            Err(CoreError::field(
                "Idempotency-Key",
                "1 to 255 visible ASCII characters",
            ))
        }
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_parse_and_differ() {
        let entropy = crate::entropy::SystemEntropy;
        let (a, b) = (PaymentId::random(&entropy), PaymentId::random(&entropy));
        assert_ne!(a, b);
        assert_eq!(PaymentId::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn ids_of_the_wrong_shape_are_not_found() {
        for bad in [
            "",
            "pay_",
            "pay_123",
            "PAY_0123456789abcdef0123456789abcdef",
            "pay_0123456789ABCDEF0123456789abcdef",
            "pay_../../etc/passwd",
        ] {
            assert!(
                matches!(PaymentId::parse(bad), Err(CoreError::PaymentNotFound)),
                "{bad}"
            );
        }
    }
}
