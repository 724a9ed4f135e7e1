//! Pairing customer displays. The owner asks for a code (six digits, valid [`CODE_LIFETIME`], one
//! at a time); a tablet that opens the display page on the shop's address and enters it receives a
//! display-role token, kept on that device. The token is stored hashed, so the database never holds
//! a usable one. Paired displays are listed and can be revoked; a revocation is announced, so an
//! open display socket of that device closes at once.
//!
//! Guessing: a code dies after [`MAX_FAILED_ATTEMPTS`] wrong tries in all (one in 100,000 to hit it
//! by chance), so it cannot be brute-forced within its two minutes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
};

use crate::store::Db;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::sync::broadcast;

use crate::{
    access::ApiKey,
    clock::{from_millis, to_millis, Clock},
    entropy::Entropy,
    error::CoreError,
};

/// How long a pairing code may wait to be entered.
pub const CODE_LIFETIME: Duration = Duration::seconds(120);
/// Wrong codes entered, in all, after which the current code is void.
pub const MAX_FAILED_ATTEMPTS: u32 = 10;

/// A code shown to the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingCode {
    /// Six digits.
    pub code: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A paired display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayDevice {
    /// `dsp_` + 24 hex digits.
    pub id: String,
    /// What the owner (or the tablet) called it.
    pub name: String,
    /// When it was paired.
    pub paired_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct Pending {
    code: Option<PairingCode>,
    failures: u32,
}

impl Pending {
    /// A wrong code was entered (here or on another server): the code dies at the limit.
    fn failed(&mut self) {
        self.failures += 1;
        if self.failures >= MAX_FAILED_ATTEMPTS {
            self.code = None;
        }
    }
}

/// Pairing codes and paired displays.
#[derive(Debug, Clone)]
pub struct Pairing {
    pool: Db,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    pending: Arc<Mutex<Pending>>,
    /// Token hash → (device id, name), for the live devices.
    tokens: Arc<RwLock<HashMap<String, (String, String)>>>,
    revoked: broadcast::Sender<String>,
    /// The other servers on the same PostgreSQL database, told of codes, pairings and revocations
    /// (a display may pair through any replica, and a revoked one is refused by all).
    relay: Option<crate::replicas::Replica>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Pairing {
    /// Loads the paired displays.
    pub async fn load(
        pool: Db,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self, CoreError> {
        let tokens = live_tokens(&pool).await?;
        Ok(Self {
            pool,
            clock,
            entropy,
            pending: Arc::default(),
            tokens: Arc::new(RwLock::new(tokens)),
            revoked: broadcast::channel(64).0,
            relay: None,
        })
    }

    /// This service, also telling `replica`'s peers of codes, pairings and revocations.
    pub(crate) fn relayed_by(mut self, replica: crate::replicas::Replica) -> Self {
        self.relay = Some(replica);
        self
    }

    /// Another server made `code`: it is the one code here too.
    pub(crate) fn code_made_elsewhere(&self, code: PairingCode) {
        *self.pending.lock().expect("pairing lock") = Pending {
            code: Some(code),
            failures: 0,
        };
    }

    /// Another server saw a wrong code, or used the code.
    pub(crate) fn attempt_elsewhere(&self, used: bool) {
        let mut pending = self.pending.lock().expect("pairing lock");
        if used {
            pending.code = None;
        } else {
            pending.failed();
        }
    }

    /// Another server paired or revoked a display: the live tokens as stored; a revoked device's
    /// sockets here close.
    pub(crate) async fn devices_changed_elsewhere(
        &self,
        revoked: Option<&str>,
    ) -> Result<(), CoreError> {
        let tokens = live_tokens(&self.pool).await?;
        *self.tokens.write().expect("pairing lock") = tokens;
        if let Some(id) = revoked {
            let _ = self.revoked.send(id.to_string());
        }
        Ok(())
    }

    /// A new code (replacing any earlier one).
    pub fn start(&self) -> PairingCode {
        let code = PairingCode {
            code: format!(
                "{:06}",
                u32::from_le_bytes(crate::entropy::bytes(self.entropy.as_ref())) % 1_000_000
            ),
            expires_at: self.clock.now() + CODE_LIFETIME,
        };
        *self.pending.lock().expect("pairing lock") = Pending {
            code: Some(code.clone()),
            failures: 0,
        };
        if let Some(relay) = &self.relay {
            relay.relay_pairing_code(&code);
        }
        code
    }

    /// Pairs a display with `code`: its record and its token (given out this once).
    pub async fn pair(&self, code: &str, name: &str) -> Result<(DisplayDevice, ApiKey), CoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
            return Err(CoreError::field("name", "1 to 60 printable characters"));
        }
        let now = self.clock.now();
        {
            let mut pending = self.pending.lock().expect("pairing lock");
            let valid = pending
                .code
                .as_ref()
                .filter(|c| c.expires_at > now)
                .is_some_and(|c| c.code == code.trim());
            if !valid {
                pending.failed();
                if let Some(relay) = &self.relay {
                    relay.relay_pairing_attempt(false);
                }
                return Err(CoreError::PairingRefused);
            }
            pending.code = None;
        }
        if let Some(relay) = &self.relay {
            relay.relay_pairing_attempt(true);
        }
        let token = ApiKey::random(self.entropy.as_ref());
        let device = DisplayDevice {
            id: format!(
                "dsp_{}",
                hex::encode(crate::entropy::bytes::<12>(self.entropy.as_ref()))
            ),
            name: name.to_string(),
            paired_at: now,
            revoked_at: None,
        };
        let token_hash = hash(token.expose());
        sqlx::query(
            "INSERT INTO display_devices (id, name, token_hash, paired_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&device.id)
        .bind(&device.name)
        .bind(&token_hash)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        self.tokens
            .write()
            .expect("pairing lock")
            .insert(token_hash, (device.id.clone(), device.name.clone()));
        if let Some(relay) = &self.relay {
            relay.relay_devices(None);
        }
        tracing::info!(device = %device.id, name = %device.name, "customer display paired");
        Ok((device, token))
    }

    /// The live device a token belongs to: `(id, name)`.
    pub fn device(&self, token: &str) -> Option<(String, String)> {
        self.tokens
            .read()
            .expect("pairing lock")
            .get(&hash(token))
            .cloned()
    }

    /// Every paired display, newest first (revoked ones too).
    pub async fn list(&self) -> Result<Vec<DisplayDevice>, CoreError> {
        let rows = sqlx::query(
            "SELECT id, name, paired_at, revoked_at FROM display_devices ORDER BY paired_at DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DisplayDevice {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    paired_at: from_millis(r.try_get("paired_at")?),
                    revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(from_millis),
                })
            })
            .collect()
    }

    /// Revokes a display: its token stops working and its open sockets close.
    pub async fn revoke(&self, id: &str) -> Result<(), CoreError> {
        let done = sqlx::query(
            "UPDATE display_devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(to_millis(self.clock.now()))
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(CoreError::DisplayNotFound);
        }
        self.tokens
            .write()
            .expect("pairing lock")
            .retain(|_, (device, _)| device != id);
        let _ = self.revoked.send(id.to_string());
        if let Some(relay) = &self.relay {
            relay.relay_devices(Some(id));
        }
        tracing::info!(device = %id, "customer display revoked");
        Ok(())
    }

    /// Revocations from now on (device ids).
    pub fn revocations(&self) -> broadcast::Receiver<String> {
        self.revoked.subscribe()
    }
}

/// Token hash → (device id, name) of every display not revoked.
async fn live_tokens(pool: &Db) -> Result<HashMap<String, (String, String)>, CoreError> {
    let rows =
        sqlx::query("SELECT id, name, token_hash FROM display_devices WHERE revoked_at IS NULL")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .iter()
        .map(|r| -> Result<_, sqlx::Error> {
            Ok((
                r.try_get("token_hash")?,
                (r.try_get("id")?, r.try_get("name")?),
            ))
        })
        .collect::<Result<_, _>>()?)
}
