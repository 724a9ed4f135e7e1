//! Sending receipt bytes to a printer: a network printer's raw port (`host:9100`, the JetDirect
//! convention nearly every receipt printer speaks) or a device file (`/dev/usb/lp0`).

use std::{path::PathBuf, time::Duration};

use tokio::io::AsyncWriteExt;

/// Where receipts print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Printer {
    /// `host:port` (port 9100 when none is given).
    Network(String),
    /// A device file.
    Device(PathBuf),
}

impl Printer {
    /// `"192.168.1.50"`, `"192.168.1.50:9100"`, `"/dev/usb/lp0"`; `None` for `""`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            None
        } else if s.starts_with('/') {
            Some(Printer::Device(PathBuf::from(s)))
        } else if s
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            Some(Printer::Network(s.to_owned()))
        } else {
            Some(Printer::Network(format!("{s}:9100")))
        }
    }
}

impl std::fmt::Display for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Printer::Network(a) => f.write_str(a),
            Printer::Device(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Why a receipt did not print.
#[derive(Debug, thiserror::Error)]
#[error("the receipt printer {printer} cannot be reached: {reason}")]
pub struct PrinterError {
    /// Which printer.
    pub printer: String,
    /// What failed.
    pub reason: String,
}

/// Sends `bytes` to `printer` (5 s at most).
pub async fn print(printer: &Printer, bytes: &[u8]) -> Result<(), PrinterError> {
    let failed = |e: std::io::Error| PrinterError {
        printer: printer.to_string(),
        reason: e.to_string(),
    };
    let send = async {
        match printer {
            Printer::Network(address) => {
                let mut stream = tokio::net::TcpStream::connect(address).await?;
                stream.write_all(bytes).await?;
                stream.shutdown().await
            }
            Printer::Device(path) => {
                let mut file = tokio::fs::OpenOptions::new().write(true).open(path).await?;
                file.write_all(bytes).await?;
                file.flush().await
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(5), send).await {
        Ok(done) => done.map_err(failed),
        Err(_) => Err(failed(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer within 5 s",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printer_is_a_network_address_on_port_9100_by_default_or_a_device() {
        assert_eq!(Printer::parse(""), None);
        assert_eq!(
            Printer::parse("192.168.1.50"),
            Some(Printer::Network("192.168.1.50:9100".into()))
        );
        assert_eq!(
            Printer::parse("printer.local:9101"),
            Some(Printer::Network("printer.local:9101".into()))
        );
        assert_eq!(
            Printer::parse("/dev/usb/lp0"),
            Some(Printer::Device("/dev/usb/lp0".into()))
        );
    }

    #[tokio::test]
    async fn the_bytes_reach_a_network_printer_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let printer = Printer::Network(listener.local_addr().unwrap().to_string());
        let received = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut all = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut s, &mut all)
                .await
                .unwrap();
            all
        });
        print(&printer, b"\x1b@hello\n").await.unwrap();
        assert_eq!(received.await.unwrap(), b"\x1b@hello\n");
    }

    #[tokio::test]
    async fn an_unreachable_printer_says_which_and_why() {
        let e = print(&Printer::Network("127.0.0.1:1".into()), b"x")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
    }
}
