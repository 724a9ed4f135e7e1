//! EIP-681 payment URIs, the text inside the QR code:
//! `ethereum:<token contract>@<chain id>/transfer?address=<pay to>&uint256=<base units>`.
//! Base units are written as a plain integer (no scientific notation) so every wallet reads the same
//! exact amount.

use std::fmt;

use alloy_primitives::U256;

use crate::address::Address;

/// An ERC-20 transfer request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    /// Token contract.
    pub token: Address,
    /// Chain id.
    pub chain_id: u64,
    /// Recipient.
    pub to: Address,
    /// Exact amount in base units.
    pub amount: U256,
}

impl fmt::Display for TransferRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ethereum:{}@{}/transfer?address={}&uint256={}",
            self.token, self.chain_id, self.to, self.amount
        )
    }
}

/// The "address only" URI for wallets that ignore token requests: `ethereum:<address>@<chain id>`.
pub fn address_only(to: &Address, chain_id: u64) -> String {
    format!("ethereum:{to}@{chain_id}")
}

/// Why a URI is not an ERC-20 transfer request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an EIP-681 ERC-20 transfer URI: {0}")]
pub struct Eip681Error(pub &'static str);

impl TransferRequest {
    /// Parses the form this module writes (also `pay-` prefixed targets and `value`-free queries
    /// in any parameter order).
    pub fn parse(uri: &str) -> Result<Self, Eip681Error> {
        let rest = uri
            .strip_prefix("ethereum:")
            .ok_or(Eip681Error("missing ethereum: scheme"))?;
        let rest = rest.strip_prefix("pay-").unwrap_or(rest);
        let (target, rest) = rest
            .split_once('@')
            .ok_or(Eip681Error("missing @chain_id"))?;
        let (chain, rest) = rest
            .split_once('/')
            .ok_or(Eip681Error("missing /transfer"))?;
        let (function, query) = rest
            .split_once('?')
            .ok_or(Eip681Error("missing parameters"))?;
        if function != "transfer" {
            return Err(Eip681Error("function is not transfer"));
        }
        let token = parse_address(target)?;
        let chain_id = chain
            .parse()
            .map_err(|_| Eip681Error("chain id is not a number"))?;
        let (mut to, mut amount) = (None, None);
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("address", v)) => to = Some(parse_address(v)?),
                Some(("uint256", v)) => {
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(Eip681Error("uint256 is not a plain integer"));
                    }
                    amount = Some(
                        U256::from_str_radix(v, 10)
                            .map_err(|_| Eip681Error("uint256 overflows"))?,
                    );
                }
                _ => return Err(Eip681Error("unexpected parameter")),
            }
        }
        Ok(Self {
            token,
            chain_id,
            to: to.ok_or(Eip681Error("missing address parameter"))?,
            amount: amount.ok_or(Eip681Error("missing uint256 parameter"))?,
        })
    }
}

fn parse_address(s: &str) -> Result<Address, Eip681Error> {
    Address::parse(s).map_err(|_| Eip681Error("address is not a checksummed 0x address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_uri_round_trips_with_the_exact_amount() {
        let req = TransferRequest {
            token: Address::parse("0x55d398326f99059fF775485246999027B3197955").unwrap(),
            chain_id: 56,
            to: Address::parse("0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d").unwrap(),
            amount: U256::from(10_010_000_000_000_000_000u128),
        };
        let uri = req.to_string();
        assert_eq!(
            uri,
            "ethereum:0x55d398326f99059fF775485246999027B3197955@56/transfer?address=0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d&uint256=10010000000000000000"
        );
        assert_eq!(TransferRequest::parse(&uri).unwrap(), req);
    }

    #[test]
    fn malformed_uris_are_refused() {
        for bad in [
            "",
            "bitcoin:x",
            "ethereum:0x55d398326f99059fF775485246999027B3197955@56/approve?x=1",
            "ethereum:0x55d398326f99059fF775485246999027B3197955@56/transfer?address=0x1&uint256=1",
        ] {
            assert!(TransferRequest::parse(bad).is_err(), "{bad}");
        }
    }
}
