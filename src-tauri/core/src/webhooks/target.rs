//! Where a webhook may be delivered. Webhooks added through the API are the integrator's: their
//! host must resolve to public addresses only — never loopback, private, link-local, unique-local,
//! shared (CGNAT), multicast or unspecified ones — unless the owner allows it
//! (`[webhook_targets] allowed_private`), so the API cannot be used to reach the shop's own
//! network (SSRF) or to scan its ports through the delivery log. The check runs when the endpoint
//! is added and again at every delivery, and the delivery goes to the very address that was
//! checked (no second lookup a DNS server could answer differently). Webhooks in the config file
//! are the owner's own and may target any address.

use std::net::{IpAddr, SocketAddr};

use crate::ip::IpRange;

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an http(s) URL with a host.
    #[error("not an http:// or https:// URL with a host")]
    Malformed,
    /// The host resolves to nothing.
    #[error("its host does not resolve")]
    Unresolved,
    /// The host resolves to an address of a private network.
    #[error("its host resolves to {0}, an address of a private network (allow it in [webhook_targets] allowed_private if it is yours)")]
    Private(IpAddr),
}

/// Addresses the owner allows webhooks to reach although they are private.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    /// Allowed address ranges.
    pub ranges: Vec<IpRange>,
    /// Allowed host names (lower case).
    pub hosts: Vec<String>,
}

/// The host and port of an http(s) URL.
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let parsed = reqwest::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let host = parsed
        .host_str()?
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    Some((host, parsed.port_or_known_default()?))
}

/// Whether an address belongs to a network a webhook must not reach.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
        }
    }
}

impl TargetPolicy {
    /// Resolves `url`'s host and checks every address it resolves to; returns them.
    pub async fn resolve(&self, url: &str) -> Result<Vec<SocketAddr>, TargetError> {
        let (host, port) = host_port(url).ok_or(TargetError::Malformed)?;
        let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|_| TargetError::Unresolved)?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(TargetError::Unresolved);
        }
        if self.hosts.contains(&host) {
            return Ok(addresses);
        }
        for a in &addresses {
            if is_private(a.ip()) && !self.ranges.iter().any(|r| r.contains(a.ip())) {
                return Err(TargetError::Private(a.ip()));
            }
        }
        Ok(addresses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_private_link_local_and_names_resolving_to_them_are_refused() {
        let p = TargetPolicy::default();
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://10.0.0.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[fd00::1]/hook",
            "http://100.64.0.1/hook",
            "http://localhost:9/hook",
        ] {
            assert!(
                matches!(p.resolve(url).await, Err(TargetError::Private(_))),
                "{url}"
            );
        }
        assert_eq!(
            p.resolve("ftp://example.org").await,
            Err(TargetError::Malformed)
        );
    }

    #[tokio::test]
    async fn a_public_address_passes_and_an_allowed_range_opens_a_private_one() {
        let p = TargetPolicy::default();
        assert!(p.resolve("https://93.184.215.14/hook").await.is_ok());
        let allowed = TargetPolicy {
            ranges: vec![IpRange::parse("10.0.0.0/8").unwrap()],
            hosts: vec![],
        };
        assert!(allowed.resolve("http://10.1.2.3/hook").await.is_ok());
        assert!(allowed.resolve("http://192.168.1.1/hook").await.is_err());
    }
}
