//! Exact token amounts. Money is never a float: a decimal string from the edge becomes an integer
//! count of the token's base units (`10.5` USDT with 18 decimals = 10_500_000_000_000_000_000).

use std::fmt;

use alloy_primitives::U256;
use thiserror::Error;

/// The largest amount one payment may ask for, in whole token units. Stablecoins track USD, so
/// anything above a trillion is a typo or an attack, not a sale.
pub const MAX_WHOLE_UNITS: u64 = 1_000_000_000_000;

/// Most decimal places a decimal amount may have before it is even matched to a token.
const MAX_SCALE: usize = 36;

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AmountError {
    /// Empty string.
    #[error("amount is empty")]
    Empty,
    /// A minus sign.
    #[error("amount must be positive")]
    Negative,
    /// Anything but digits with at most one decimal point between digits.
    #[error("{0:?} is not a plain decimal number like \"10.50\"")]
    Malformed(String),
    /// Zero.
    #[error("amount must be greater than zero")]
    Zero,
    /// More than a trillion whole units.
    #[error("amount is larger than the maximum of {MAX_WHOLE_UNITS}")]
    TooLarge,
    /// More fractional digits than the token has decimals.
    #[error("amount has {given} decimal places but the token has only {max}")]
    TooManyDecimals {
        /// Decimal places in the input.
        given: usize,
        /// The token's decimals.
        max: u8,
    },
}

/// A positive decimal amount parsed from text, not yet tied to a token's decimals.
#[derive(Clone, PartialEq, Eq)]
pub struct DecimalAmount {
    /// All digits without the point, as an integer.
    digits: U256,
    /// How many of them are fractional.
    scale: usize,
}

impl DecimalAmount {
    /// Parses `"10"`, `"10.5"`, `"0.01"`. Refuses signs, exponents, spaces, separators, zero and
    /// amounts above [`MAX_WHOLE_UNITS`].
    pub fn parse(s: &str) -> Result<Self, AmountError> {
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        if s.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        let digits_only = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        let malformed = || AmountError::Malformed(truncate(s));
        if int.is_empty()
            || !digits_only(int)
            || !digits_only(frac)
            || (s.contains('.') && frac.is_empty())
        {
            return Err(malformed());
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        if frac.len() > MAX_SCALE {
            return Err(AmountError::TooManyDecimals {
                given: frac.len(),
                max: MAX_SCALE as u8,
            });
        }
        if int.len() > MAX_WHOLE_UNITS.to_string().len() {
            return Err(AmountError::TooLarge);
        }
        let all = format!("{int}{frac}");
        let digits = if all.is_empty() {
            U256::ZERO
        } else {
            U256::from_str_radix(&all, 10).map_err(|_| malformed())?
        };
        if digits.is_zero() {
            return Err(AmountError::Zero);
        }
        let amount = Self {
            digits,
            scale: frac.len(),
        };
        if amount.digits
            > U256::from(MAX_WHOLE_UNITS) * U256::from(10).pow(U256::from(amount.scale))
        {
            return Err(AmountError::TooLarge);
        }
        Ok(amount)
    }

    /// The amount as `digits / 10^scale`.
    pub(crate) fn parts(&self) -> (U256, usize) {
        (self.digits, self.scale)
    }

    /// The amount as an integer of `10^-scale` units, exactly; `None` when it has more decimals
    /// than `scale` (or does not fit).
    pub(crate) fn at_scale(&self, scale: usize) -> Option<U256> {
        let widen = scale.checked_sub(self.scale)?;
        self.digits
            .checked_mul(U256::from(10u8).checked_pow(U256::from(widen))?)
    }

    /// `digits / 10^scale`, trailing zeros dropped; `None` for zero or beyond the largest amount.
    pub(crate) fn from_parts(digits: U256, scale: usize) -> Option<Self> {
        Self::parse(&format_units(digits, scale, 0)).ok()
    }

    /// Decimal text with at least `min_scale` fractional digits, e.g. `35.50`.
    pub fn to_string_scaled(&self, min_scale: usize) -> String {
        if min_scale <= self.scale {
            return format_units(self.digits, self.scale, min_scale);
        }
        let widen = U256::from(10u8).pow(U256::from(min_scale - self.scale));
        format_units(self.digits * widen, min_scale, min_scale)
    }

    /// The amount in base units of a token with `decimals` decimals.
    pub fn to_token(&self, decimals: u8) -> Result<TokenAmount, AmountError> {
        if self.scale > decimals as usize {
            return Err(AmountError::TooManyDecimals {
                given: self.scale,
                max: decimals,
            });
        }
        let factor = U256::from(10).pow(U256::from(decimals as usize - self.scale));
        Ok(TokenAmount {
            base_units: self.digits * factor,
            decimals,
        })
    }
}

impl fmt::Display for DecimalAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_units(self.digits, self.scale, 0))
    }
}

impl fmt::Debug for DecimalAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecimalAmount({self})")
    }
}

/// An exact amount of a token: an integer of base units plus the token's decimals.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenAmount {
    base_units: U256,
    decimals: u8,
}

impl TokenAmount {
    /// From a base-unit integer.
    pub fn from_base_units(base_units: U256, decimals: u8) -> Self {
        Self {
            base_units,
            decimals,
        }
    }

    /// Parses the decimal-integer text the store keeps.
    pub fn from_base_units_str(s: &str, decimals: u8) -> Result<Self, AmountError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Malformed(truncate(s)));
        }
        let base_units = U256::from_str_radix(s, 10).map_err(|_| AmountError::TooLarge)?;
        Ok(Self {
            base_units,
            decimals,
        })
    }

    /// The integer of base units.
    pub fn base_units(&self) -> U256 {
        self.base_units
    }

    /// The token's decimals.
    pub fn decimals(&self) -> u8 {
        self.decimals
    }

    /// `self + k × step`, or `None` on overflow.
    pub fn offset(&self, step: TokenAmount, k: u32) -> Option<TokenAmount> {
        let add = step.base_units.checked_mul(U256::from(k))?;
        Some(Self {
            base_units: self.base_units.checked_add(add)?,
            decimals: self.decimals,
        })
    }

    /// Decimal text with trailing zeros trimmed but at least `min_scale` fractional digits,
    /// e.g. `10.00` or `10.015`.
    pub fn to_decimal_string(&self, min_scale: usize) -> String {
        format_units(self.base_units, self.decimals as usize, min_scale)
    }
}

/// Stored (in event snapshots) as its decimal text.
impl serde::Serialize for DecimalAmount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for DecimalAmount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Stored (in event snapshots) as `{"base_units": "<decimal integer>", "decimals": n}`.
impl serde::Serialize for TokenAmount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("TokenAmount", 2)?;
        st.serialize_field("base_units", &self.base_units.to_string())?;
        st.serialize_field("decimals", &self.decimals)?;
        st.end()
    }
}

impl<'de> serde::Deserialize<'de> for TokenAmount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Stored {
            base_units: String,
            decimals: u8,
        }
        let stored = Stored::deserialize(d)?;
        Self::from_base_units_str(&stored.base_units, stored.decimals)
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for TokenAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TokenAmount({} base units, {} decimals)",
            self.base_units, self.decimals
        )
    }
}

/// `value / 10^scale` as decimal text with at least `min_scale` and at most `scale` fractional digits.
fn format_units(value: U256, scale: usize, min_scale: usize) -> String {
    let digits = value.to_string();
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let mut frac = frac.trim_end_matches('0').to_string();
    let min_scale = min_scale.min(scale);
    while frac.len() < min_scale {
        frac.push('0');
    }
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usdt(s: &str) -> Result<TokenAmount, AmountError> {
        DecimalAmount::parse(s)?.to_token(18)
    }

    #[test]
    fn plain_decimals_become_exact_base_units() {
        assert_eq!(
            usdt("10").unwrap().base_units(),
            U256::from(10u128 * 10u128.pow(18))
        );
        assert_eq!(
            usdt("0.01").unwrap().base_units(),
            U256::from(10u128.pow(16))
        );
        assert_eq!(usdt("10.50").unwrap(), usdt("10.5").unwrap());
    }

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        assert_eq!(DecimalAmount::parse("-1"), Err(AmountError::Negative));
        assert_eq!(DecimalAmount::parse("0"), Err(AmountError::Zero));
        assert_eq!(DecimalAmount::parse("0.000"), Err(AmountError::Zero));
        assert_eq!(DecimalAmount::parse(""), Err(AmountError::Empty));
        for bad in [
            "abc", "1e999", "1,5", " 1", "1.", ".5", "+1", "1.2.3", "0x10", "١",
        ] {
            assert!(
                matches!(DecimalAmount::parse(bad), Err(AmountError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(
            DecimalAmount::parse(&"9".repeat(80)),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            DecimalAmount::parse("1000000000000.01"),
            Err(AmountError::TooLarge)
        );
        assert!(DecimalAmount::parse("1000000000000").is_ok());
    }

    #[test]
    fn more_decimals_than_the_token_has_are_refused() {
        let amount = DecimalAmount::parse("1.1234567").unwrap();
        assert_eq!(
            amount.to_token(6),
            Err(AmountError::TooManyDecimals { given: 7, max: 6 })
        );
        assert!(amount.to_token(18).is_ok());
    }

    #[test]
    fn amounts_format_with_a_minimum_scale() {
        assert_eq!(usdt("10").unwrap().to_decimal_string(2), "10.00");
        assert_eq!(usdt("10.015").unwrap().to_decimal_string(2), "10.015");
        assert_eq!(usdt("0.5").unwrap().to_decimal_string(0), "0.5");
        assert_eq!(
            TokenAmount::from_base_units(U256::from(5), 0).to_decimal_string(2),
            "5"
        );
        assert_eq!(DecimalAmount::parse("007.50").unwrap().to_string(), "7.5");
    }

    #[test]
    fn offsets_add_whole_steps() {
        let a = usdt("10").unwrap();
        let step = usdt("0.01").unwrap();
        assert_eq!(a.offset(step, 3).unwrap().to_decimal_string(2), "10.03");
    }
}
