//! Who may do what: the roles an API key carries, and the keys themselves. What each role may reach
//! is the server's to enforce (it knows the routes); the roles are the shop's vocabulary:
//!
//! - `admin`: everything — settings, webhooks, products, attaching transfers;
//! - `cashier`: sell, cancel, read payments and products, drive the customer display;
//! - `viewer`: read-only — history, statistics, monitoring;
//! - `display`: a customer display — the display channel and what a customer may see.

use std::fmt;

use crate::error::CoreError;

/// Shortest key accepted.
pub const MIN_KEY_CHARS: usize = 32;

/// A role a key carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Everything.
    Admin,
    /// Sell, cancel, read payments and products, the display.
    Cashier,
    /// Read-only history, stats and monitoring.
    Viewer,
    /// The display channel and customer routes only.
    Display,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Cashier, Role::Viewer, Role::Display];

    /// The config and API spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Cashier => "cashier",
            Role::Viewer => "viewer",
            Role::Display => "display",
        }
    }

    /// Parses the config spelling.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                CoreError::field(
                    "role",
                    format!("{s:?} is not admin, cashier, viewer or display"),
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret API key: at least [`MIN_KEY_CHARS`] visible characters, not one character repeated.
/// Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Checks a key's shape.
    pub fn parse(s: &str) -> Result<Self, String> {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() < MIN_KEY_CHARS {
            return Err(format!(
                "an API key needs at least {MIN_KEY_CHARS} characters (e.g. `openssl rand -hex 24`)"
            ));
        }
        if chars.iter().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("an API key has no spaces or control characters".into());
        }
        if chars.iter().all(|c| *c == chars[0]) {
            return Err("an API key must not be one character repeated".into());
        }
        Ok(Self(s.to_string()))
    }

    /// A fresh random key (64 hex digits: 256 bits from `entropy`).
    pub fn random(entropy: &dyn crate::entropy::Entropy) -> Self {
        Self(hex::encode(crate::entropy::bytes::<32>(entropy)))
    }

    /// The secret.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

/// A configured key: the secret, its role and a name for the logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyConfig {
    /// The secret.
    pub key: ApiKey,
    /// What it may do.
    pub role: Role,
    /// Who holds it (shown in logs and Settings, never the key).
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_needs_thirty_two_varied_visible_characters() {
        assert!(ApiKey::parse("0123456789abcdef").is_err());
        assert!(ApiKey::parse(&"a".repeat(40)).is_err());
        assert!(ApiKey::parse("0123456789abcdef 0123456789abcdef").is_err());
        assert!(ApiKey::parse("0123456789abcdef0123456789abcdef").is_ok());
        assert_eq!(
            ApiKey::random(&crate::entropy::SystemEntropy)
                .expose()
                .len(),
            64
        );
    }

    #[test]
    fn roles_parse_from_their_names_only() {
        assert_eq!(Role::parse("cashier").unwrap(), Role::Cashier);
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn a_key_never_shows_in_debug_output() {
        let key = ApiKey::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert!(!format!("{key:?}").contains("0123"));
    }
}
