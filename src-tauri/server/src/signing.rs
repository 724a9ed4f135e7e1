//! Signed pushes: every message on `/ws/display` and `/ws/payments/{id}` carries a `signature`, so
//! a screen that pinned the server's key can tell a message the server sent from one a man in the
//! middle changed (the address or amount a customer pays, above all).
//!
//! - **Key**: Ed25519, drawn from the operating system's generator (key material never comes from
//!   the injected, possibly seeded, [`stablepay_core::entropy`]), made once and kept beside the database (`push-signing.key`, PKCS#8, 0600).
//!   Its public half is `GET /api/v1/push-key`, in the pairing answer (a paired display pins it
//!   then) and, in the desktop app, handed to its windows over IPC.
//! - **What is signed**: the message without its `signature` member, written as canonical JSON:
//!   object members sorted by name, no whitespace, strings and numbers as `JSON.stringify` writes
//!   them (the messages carry integers and strings only; member names are ASCII).
//! - **`signature`**: the 64-byte Ed25519 signature, lower-case hex.
//!
//! A signature says who wrote a message, not that it is new: a screen keeps the newest it has seen
//! (display updates carry `updated_at`), and TLS ([`crate::tls`]) is what keeps a message secret.

use std::path::Path;

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{Ed25519KeyPair, KeyPair},
};
use serde_json::Value;

/// File name of the key, in the data folder.
pub const KEY_FILE: &str = "push-signing.key";

/// Why the signing key could not be read or made.
#[derive(Debug, thiserror::Error)]
#[error("push signing key {path}: {reason} (delete the file to make a new key; paired displays must then pair again)")]
pub struct SignerError {
    path: String,
    reason: String,
}

/// Signs socket messages with the server's key.
pub struct PushSigner {
    key: Ed25519KeyPair,
    public_hex: String,
}

impl std::fmt::Debug for PushSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSigner")
            .field("public_key", &self.public_hex)
            .finish_non_exhaustive()
    }
}

impl PushSigner {
    /// The key kept in `dir`, made there on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, SignerError> {
        let path = dir.join(KEY_FILE);
        let failed = |reason: String| SignerError {
            path: path.display().to_string(),
            reason,
        };
        let pkcs8 = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                    .map_err(|_| failed("no key could be generated".into()))?;
                std::fs::create_dir_all(dir).map_err(|e| failed(e.to_string()))?;
                crate::tls::write_private(&path, document.as_ref())
                    .map_err(|e| failed(e.to_string()))?;
                document.as_ref().to_vec()
            }
            Err(e) => return Err(failed(e.to_string())),
        };
        let key = Ed25519KeyPair::from_pkcs8(&pkcs8)
            .map_err(|e| failed(format!("not an Ed25519 key ({e})")))?;
        Ok(Self::from_key(key))
    }

    /// A key that lives as long as the process (tools and tests that keep nothing on disk).
    pub fn ephemeral() -> Self {
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .expect("the system's random source works");
        Self::from_key(Ed25519KeyPair::from_pkcs8(document.as_ref()).expect("a fresh key parses"))
    }

    fn from_key(key: Ed25519KeyPair) -> Self {
        let public_hex = hex::encode(key.public_key().as_ref());
        Self { key, public_hex }
    }

    /// The public key, 32 bytes as lower-case hex.
    pub fn public_key(&self) -> &str {
        &self.public_hex
    }

    /// `message` with its `signature` member, as the text to send.
    pub fn sign(&self, mut message: Value) -> String {
        if let Value::Object(members) = &mut message {
            members.remove("signature");
            let signature = self.key.sign(canonical_object(members).as_bytes());
            members.insert("signature".into(), hex::encode(signature.as_ref()).into());
        }
        message.to_string()
    }
}

/// `value` as canonical JSON: members sorted by name, no whitespace.
pub fn canonical(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

fn canonical_object(members: &serde_json::Map<String, Value>) -> String {
    let mut out = String::with_capacity(256);
    write_object(members, &mut out);
    out
}

fn write_object(members: &serde_json::Map<String, Value>, out: &mut String) {
    let mut names: Vec<&String> = members.keys().collect();
    names.sort_unstable();
    out.push('{');
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(name.as_str()).to_string());
        out.push(':');
        write_canonical(&members[name], out);
    }
    out.push('}');
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(members) => write_object(members, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Whether `text` is a message signed by the key `public_hex` (for tests and tools).
pub fn verify(text: &str, public_hex: &str) -> bool {
    let Ok(Value::Object(mut members)) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    let Some(Value::String(signature)) = members.remove("signature") else {
        return false;
    };
    let (Ok(signature), Ok(public)) = (hex::decode(signature), hex::decode(public_hex)) else {
        return false;
    };
    let message = canonical(&Value::Object(members));
    aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, public)
        .verify(message.as_bytes(), &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn canonical_json_sorts_members_at_every_level_and_drops_whitespace() {
        let v = json!({ "b": 1, "a": { "d": [1, "x\n", null], "c": true } });
        assert_eq!(
            canonical(&v),
            r#"{"a":{"c":true,"d":[1,"x\n",null]},"b":1}"#
        );
    }

    #[test]
    fn a_signed_message_verifies_and_a_changed_one_does_not() {
        let signer = PushSigner::ephemeral();
        let text = signer.sign(json!({ "type": "display_update", "data": { "pay_to": "0xA" } }));
        assert!(verify(&text, signer.public_key()));
        let forged = text.replace("0xA", "0xB");
        assert!(!verify(&forged, signer.public_key()));
        assert!(!verify(&text, PushSigner::ephemeral().public_key()));
    }

    #[test]
    fn the_key_is_made_once_kept_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = PushSigner::load_or_create(dir.path()).unwrap();
        let again = PushSigner::load_or_create(dir.path()).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join(KEY_FILE), b"garbage").unwrap();
        let e = PushSigner::load_or_create(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(KEY_FILE) && e.contains("not an Ed25519 key"),
            "{e}"
        );
    }
}
