//! This computer on the shop's network: the names and addresses a tablet reaches it by.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use axum::http::{header, HeaderMap};

use crate::state::AppState;

/// This computer's address on the network its default route leaves by. Connecting a UDP socket
/// sends nothing; it only picks the interface.
pub fn address() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// This computer's host name and its mDNS form (`name.local`), when the system tells it.
pub fn host_names() -> Vec<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() || name == "localhost" {
        return vec![];
    }
    let local = format!("{}.local", name.split('.').next().unwrap_or(&name));
    if local == name {
        vec![name]
    } else {
        vec![name, local]
    }
}

/// The base URL a device on the shop's network (a tablet pairing, a customer's phone on the hosted
/// checkout) can open: `server.public_url` when set; else the host the caller used, when that is
/// not a loopback name; else this computer's LAN address when the server listens on all
/// interfaces; else the bind address itself.
pub(crate) fn shop_address(state: &AppState, headers: &HeaderMap) -> String {
    let server = &state.core.config.server;
    if !server.public_url.is_empty() {
        return server.public_url.clone();
    }
    let scheme = if state.tls.is_some() { "https" } else { "http" };
    let asked = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !is_loopback_name(h));
    if let Some(host) = asked {
        return format!("{scheme}://{host}");
    }
    let ip = match state.listen.ip() {
        ip if ip.is_unspecified() => address().unwrap_or(ip),
        ip => ip,
    };
    format!("{scheme}://{}", SocketAddr::new(ip, state.listen.port()))
}

fn is_loopback_name(host: &str) -> bool {
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_recognised_with_and_without_a_port() {
        for name in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]:3000",
        ] {
            assert!(is_loopback_name(name), "{name}");
        }
        for name in ["shop.lan:8080", "192.168.1.5:8080", "[fe80::1]:80"] {
            assert!(!is_loopback_name(name), "{name}");
        }
    }
}
