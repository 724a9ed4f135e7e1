//! This computer on the shop's network: the names and addresses a tablet reaches it by.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

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
