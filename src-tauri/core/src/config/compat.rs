//! `[compat.epusdt]`: the epusdt / BEpusdt protocol for shop systems that already speak it
//! (issue 20). Off until a token is set.
//!
//! ```toml
//! [compat.epusdt]
//! token = "a long random secret"          # the "API token" the shop system signs with
//! redirect_hosts = ["shop.example.com"]   # where the hosted checkout may send the customer after paying
//! ```

use super::{bad, list, section};
use crate::error::CoreError;

section! {
    /// `[compat.epusdt]` as written.
    struct RawEpusdt {
        token: String = String::new(),
        #[serde(deserialize_with = "list")]
        redirect_hosts: Vec<String> = Vec::new(),
    }
}

section! {
    /// `[compat]` as written.
    struct RawCompat {
        epusdt: RawEpusdt = RawEpusdt::default(),
    }
}

/// `[compat.epusdt]`, when a token is set.
#[derive(Clone, PartialEq, Eq)]
pub struct EpusdtConfig {
    /// The API token orders and callbacks are signed with.
    pub token: String,
    /// Hosts (lower case; an optional `:port`) `redirect_url` may point at.
    pub redirect_hosts: Vec<String>,
}

impl std::fmt::Debug for EpusdtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpusdtConfig")
            .field("token", &"<hidden>")
            .field("redirect_hosts", &self.redirect_hosts)
            .finish()
    }
}

/// `[compat]`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompatConfig {
    /// The epusdt protocol; `None`: its routes answer that it is off.
    pub epusdt: Option<EpusdtConfig>,
}

impl TryFrom<RawCompat> for CompatConfig {
    type Error = CoreError;

    fn try_from(c: RawCompat) -> Result<Self, CoreError> {
        let e = c.epusdt;
        // No token: off (the redirect hosts are kept in the file for when it is turned on again).
        if e.token.is_empty() {
            return Ok(CompatConfig::default());
        }
        if e.token.chars().count() < 16 || e.token.chars().any(char::is_whitespace) {
            return Err(bad(
                "compat.epusdt.token",
                "at least 16 characters without spaces (it is the only thing that proves an order comes from your shop system)",
            ));
        }
        let mut hosts = Vec::new();
        for (i, h) in e.redirect_hosts.iter().enumerate() {
            let h = h.trim().to_ascii_lowercase();
            let ok = !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            if !ok {
                return Err(bad(
                    &format!("compat.epusdt.redirect_hosts[{i}]"),
                    "a host name like shop.example.com (optionally with :port), not a URL",
                ));
            }
            hosts.push(h);
        }
        Ok(CompatConfig {
            epusdt: Some(EpusdtConfig {
                token: e.token,
                redirect_hosts: hosts,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(token: &str, hosts: &[&str]) -> Result<CompatConfig, CoreError> {
        CompatConfig::try_from(RawCompat {
            epusdt: RawEpusdt {
                token: token.into(),
                redirect_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            },
        })
    }

    #[test]
    fn without_a_token_the_protocol_is_off_whatever_hosts_are_kept() {
        assert_eq!(parse("", &["shop.example.com"]).unwrap().epusdt, None);
    }

    #[test]
    fn a_short_token_or_a_url_for_a_host_is_refused_naming_the_key() {
        let short = parse("short", &[]).unwrap_err().to_string();
        assert!(short.contains("compat.epusdt.token"), "{short}");
        let url = parse("0123456789abcdef0123", &["https://shop.example.com/"])
            .unwrap_err()
            .to_string();
        assert!(url.contains("compat.epusdt.redirect_hosts[0]"), "{url}");
        let ok = parse("0123456789abcdef0123", &["Shop.Example.com"]).unwrap();
        assert_eq!(ok.epusdt.unwrap().redirect_hosts, vec!["shop.example.com"]);
    }
}
