//! HTTPS and WSS on the bind address (rustls), with the shop's certificate or a self-signed one.
//!
//! - `server.tls_cert` + `server.tls_key`: PEM files, the chain leaf first; read at start.
//! - `server.tls_self_signed = true`: a certificate for this computer's names and addresses is made
//!   the first time and kept beside the database (`tls-self-signed.crt`, `tls-self-signed.key`,
//!   0600), so its fingerprint stays the same across restarts and a tablet that trusted it once
//!   keeps trusting it. Delete both files to make a new one.
//!
//! Either way the SHA-256 fingerprint of the leaf certificate is logged at start and shown in
//! Settings, so the owner can compare it with what a tablet's browser shows before accepting it.
//! How TLS and plain HTTP share the port is the listener's business ([`crate::listener`]).

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use stablepay_core::config::Tls;
use tokio_rustls::TlsAcceptor;

/// File names of the self-signed certificate, in the data folder.
pub const SELF_SIGNED_CERT: &str = "tls-self-signed.crt";
/// File name of its key.
pub const SELF_SIGNED_KEY: &str = "tls-self-signed.key";

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file cannot be read or holds nothing usable.
    #[error("{key}: {path}: {reason}")]
    File {
        /// The config key naming the file.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The certificate and key do not fit together, or rustls refused them.
    #[error("server.tls_cert / server.tls_key: {0}")]
    Rejected(String),
    /// The self-signed certificate could not be made or kept.
    #[error("server.tls_self_signed: {0}")]
    SelfSigned(String),
}

/// What the server serves HTTPS with.
#[derive(Clone)]
pub struct TlsIdentity {
    /// Accepts TLS connections.
    pub acceptor: TlsAcceptor,
    /// SHA-256 of the leaf certificate, as browsers show it (`AB:CD:…`, upper case).
    pub fingerprint: String,
    /// Whether the certificate was made by this server.
    pub self_signed: bool,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("fingerprint", &self.fingerprint)
            .field("self_signed", &self.self_signed)
            .finish_non_exhaustive()
    }
}

/// The identity for `tls`, or `None` when the server speaks plain HTTP. `data_dir` holds the
/// self-signed certificate; `names` are the host names and addresses it is made for (besides
/// `localhost` and the loopback addresses).
pub fn identity(
    tls: &Tls,
    data_dir: &Path,
    names: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<TlsIdentity>, TlsError> {
    let (chain, key, self_signed) = match tls {
        Tls::Unset | Tls::Off => return Ok(None),
        Tls::Files { cert, key } => {
            let (chain, key) = read_files(cert, key)?;
            (chain, key, false)
        }
        Tls::SelfSigned => {
            let (chain, key) = self_signed_files(data_dir, names, now)?;
            (chain, key, true)
        }
    };
    let fingerprint = fingerprint(&chain[0]);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rejected(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rejected(e.to_string()))?;
    // HTTP/1.1 only: browsers open WebSockets over it, and a POS gains nothing from HTTP/2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(TlsIdentity {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        fingerprint,
        self_signed,
    }))
}

/// SHA-256 of a DER certificate as `AB:CD:…`.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

type Pair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn read_files(cert: &Path, key: &Path) -> Result<Pair, TlsError> {
    let bad = |key: &'static str, path: &Path, reason: String| TlsError::File {
        key,
        path: path.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("server.tls_cert", cert, pem_reason(&e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("server.tls_cert", cert, pem_reason(&e)))?;
    if chain.is_empty() {
        return Err(bad(
            "server.tls_cert",
            cert,
            "no CERTIFICATE in this PEM file".into(),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        bad(
            "server.tls_key",
            key,
            match e {
                rustls::pki_types::pem::Error::NoItemsFound => {
                    "no PRIVATE KEY in this PEM file".into()
                }
                e => pem_reason(&e),
            },
        )
    })?;
    Ok((chain, key_der))
}

fn pem_reason(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        other => format!("not a usable PEM file ({other:?})"),
    }
}

/// Reads the kept self-signed certificate, or makes and keeps one.
fn self_signed_files(
    dir: &Path,
    names: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Pair, TlsError> {
    let (cert_path, key_path) = (dir.join(SELF_SIGNED_CERT), dir.join(SELF_SIGNED_KEY));
    if cert_path.is_file() && key_path.is_file() {
        return read_files(&cert_path, &key_path).map_err(|e| {
            TlsError::SelfSigned(format!("{e} (delete both files to make new ones)"))
        });
    }
    let failed = |e: &dyn std::fmt::Display| TlsError::SelfSigned(e.to_string());
    let mut sans = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    for name in names {
        let name = name.trim().trim_start_matches('[').trim_end_matches(']');
        let usable = name.parse::<IpAddr>().is_ok_and(|ip| !ip.is_unspecified())
            || (!name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
        if usable && !sans.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            sans.push(name.to_string());
        }
    }
    let mut params = rcgen::CertificateParams::new(sans).map_err(|e| failed(&e))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "StablePay POS (self-signed)");
    let day = |d: chrono::DateTime<chrono::Utc>| {
        use chrono::Datelike;
        rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
    };
    params.not_before = day(now - chrono::Duration::days(1));
    params.not_after = day(now + chrono::Duration::days(3650));
    let key = rcgen::KeyPair::generate().map_err(|e| failed(&e))?;
    let cert = params.self_signed(&key).map_err(|e| failed(&e))?;
    std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
    write_private(&key_path, key.serialize_pem().as_bytes()).map_err(|e| failed(&e))?;
    write_private(&cert_path, cert.pem().as_bytes()).map_err(|e| failed(&e))?;
    tracing::info!(path = %cert_path.display(), "made a self-signed TLS certificate");
    read_files(&cert_path, &key_path)
}

/// Writes a file only its owner can read (0600 from the start, not chmod after the fact).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_kept_with_the_same_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let first = identity(
            &Tls::SelfSigned,
            dir.path(),
            &["shop.lan".into()],
            chrono::Utc::now(),
        )
        .unwrap()
        .unwrap();
        let again = identity(&Tls::SelfSigned, dir.path(), &[], chrono::Utc::now())
            .unwrap()
            .unwrap();
        assert!(first.self_signed);
        assert_eq!(first.fingerprint, again.fingerprint);
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        #[cfg(unix)]
        for file in [SELF_SIGNED_CERT, SELF_SIGNED_KEY] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }

    #[test]
    fn a_missing_or_empty_certificate_file_is_named_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let missing = Tls::Files {
            cert: dir.path().join("nope.pem"),
            key: empty.clone(),
        };
        let e = identity(&missing, dir.path(), &[], chrono::Utc::now())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("server.tls_cert:") && e.contains("nope.pem"),
            "{e}"
        );
        let no_key = Tls::Files {
            cert: empty.clone(),
            key: empty,
        };
        let e = identity(&no_key, dir.path(), &[], chrono::Utc::now())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no CERTIFICATE"), "{e}");
    }

    #[test]
    fn plain_http_has_no_identity() {
        let dir = tempfile::tempdir().unwrap();
        assert!(identity(&Tls::Unset, dir.path(), &[], chrono::Utc::now())
            .unwrap()
            .is_none());
        assert!(identity(&Tls::Off, dir.path(), &[], chrono::Utc::now())
            .unwrap()
            .is_none());
    }
}
