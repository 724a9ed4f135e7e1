//! EVM addresses, accepted only in EIP-55 checksummed form: an all-lowercase address carries no
//! checksum, so a typo in it could send a shop's money nowhere.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::error::CoreError;

/// A 20-byte EVM address, parsed from its EIP-55 checksummed text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(alloy_primitives::Address);

impl Address {
    /// Parses `0x` + 40 hex digits whose letter case matches the EIP-55 checksum.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let body = s
            .strip_prefix("0x")
            .ok_or_else(|| CoreError::InvalidAddress(format!("{s:?} must start with 0x")))?;
        if body.len() != 40 || !body.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CoreError::InvalidAddress(format!(
                "{s:?} must be 0x followed by 40 hex digits"
            )));
        }
        // The case must be the EIP-55 form. That form is single-case for about one address in
        // 4,000 (few letters, all checksummed lower); such an address is accepted as it is.
        if let Ok(address) = alloy_primitives::Address::parse_checksummed(s, None) {
            return Ok(Self(address));
        }
        let has_letters = body.bytes().any(|b| b.is_ascii_alphabetic());
        let single_case = body == body.to_ascii_lowercase() || body == body.to_ascii_uppercase();
        Err(CoreError::InvalidAddress(if has_letters && single_case {
            format!("{s:?} is not checksummed; copy the EIP-55 form (mixed case) as your wallet shows it")
        } else {
            format!("{s:?} has a wrong EIP-55 checksum (mistyped address?)")
        }))
    }

    /// The raw address.
    pub fn as_alloy(&self) -> alloy_primitives::Address {
        self.0
    }

    /// Wraps a raw address (from chain data, already canonical).
    pub fn from_alloy(address: alloy_primitives::Address) -> Self {
        Self(address)
    }

    /// The checksummed text, as stored and shown.
    pub fn checksummed(&self) -> String {
        self.0.to_checksum(None)
    }
}

impl FromStr for Address {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.checksummed())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.checksummed())
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.checksummed())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Address::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_whose_checksum_form_is_all_lowercase_is_accepted() {
        // Found by the address fuzz target: such addresses exist (their letters all checksum
        // to lower case) and are valid EIP-55 text.
        let raw = (1u64..)
            .map(|i| alloy_primitives::Address::left_padding_from(&(i * 0x0a0b_0c0d).to_be_bytes()))
            .find(|a| {
                let c = a.to_checksum(None);
                c[2..].bytes().any(|b| b.is_ascii_alphabetic()) && c == c.to_ascii_lowercase()
            })
            .unwrap();
        let text = raw.to_checksum(None);
        assert_eq!(Address::parse(&text).unwrap().as_alloy(), raw, "{text}");
    }

    const USDT: &str = "0x55d398326f99059fF775485246999027B3197955";

    #[test]
    fn checksummed_address_round_trips() {
        assert_eq!(Address::parse(USDT).unwrap().to_string(), USDT);
    }

    #[test]
    fn lowercase_address_is_refused_as_not_checksummed() {
        let err = Address::parse(&USDT.to_lowercase()).unwrap_err();
        assert!(err.to_string().contains("not checksummed"), "{err}");
    }

    #[test]
    fn wrong_checksum_is_refused() {
        let wrong = USDT.replace("fF7", "ff7");
        let err = Address::parse(&wrong).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "0x",
            "55d398326f99059fF775485246999027B3197955",
            "0x1234",
            "0xZZd398326f99059fF775485246999027B3197955",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }
}
