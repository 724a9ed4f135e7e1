//! Pairing customer displays and counters. The owner asks for a code (six digits, valid
//! [`CODE_LIFETIME`], one at a time); a tablet that opens the display page on the shop's address and
//! enters it receives a display-role token, kept on that device — and a desktop till attaching to a
//! hub ([`crate::counters`]) that enters it receives a cashier-role token as that counter. A token is
//! stored hashed, so the database never holds a usable one. Paired devices are listed and can be
//! revoked; a revocation is announced, so an open socket of that device closes at once.
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
    access::{ApiKey, Role},
    clock::{from_millis, to_millis, Clock},
    counters::{Counter, CounterId},
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

/// What a paired device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// A customer display (role `display`), in `display_devices`.
    Display,
    /// A counter of a hub (role `cashier`), in `counters`.
    Counter,
}

impl DeviceKind {
    fn table(self) -> &'static str {
        match self {
            DeviceKind::Display => "display_devices",
            DeviceKind::Counter => "counters",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            DeviceKind::Display => "dsp_",
            DeviceKind::Counter => CounterId::PREFIX,
        }
    }

    /// The role its token holds.
    pub fn role(self) -> Role {
        match self {
            DeviceKind::Display => Role::Display,
            DeviceKind::Counter => Role::Cashier,
        }
    }

    fn not_found(self) -> CoreError {
        match self {
            DeviceKind::Display => CoreError::DisplayNotFound,
            DeviceKind::Counter => CoreError::CounterNotFound,
        }
    }
}

/// The live device a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairedDevice {
    /// `dsp_…` or `ctr_…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// A display or a counter.
    pub kind: DeviceKind,
}

impl PairedDevice {
    /// The counter it is, if it is one.
    pub fn counter(&self) -> Option<Counter> {
        (self.kind == DeviceKind::Counter).then(|| Counter {
            id: CounterId::from_store(self.id.clone()),
            name: self.name.clone(),
        })
    }
}

/// A paired display or counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `dsp_` or `ctr_` + 24 hex digits.
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
    /// Token hash → device, for the live devices.
    tokens: Arc<RwLock<HashMap<String, PairedDevice>>>,
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

    /// Pairs a display or a counter with `code`: its record and its token (given out this once).
    pub async fn pair(
        &self,
        code: &str,
        name: &str,
        kind: DeviceKind,
    ) -> Result<(Device, ApiKey), CoreError> {
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
        let device = Device {
            id: crate::entropy::hex_id::<12>(kind.prefix(), self.entropy.as_ref()),
            name: name.to_string(),
            paired_at: now,
            revoked_at: None,
        };
        let token_hash = hash(token.expose());
        sqlx::query(&format!(
            "INSERT INTO {} (id, name, token_hash, paired_at) VALUES ($1, $2, $3, $4)",
            kind.table()
        ))
        .bind(&device.id)
        .bind(&device.name)
        .bind(&token_hash)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        self.tokens.write().expect("pairing lock").insert(
            token_hash,
            PairedDevice {
                id: device.id.clone(),
                name: device.name.clone(),
                kind,
            },
        );
        if let Some(relay) = &self.relay {
            relay.relay_devices(None);
        }
        tracing::info!(device = %device.id, name = %device.name, ?kind, "device paired");
        Ok((device, token))
    }

    /// The live device a token belongs to.
    pub fn device(&self, token: &str) -> Option<PairedDevice> {
        self.tokens
            .read()
            .expect("pairing lock")
            .get(&hash(token))
            .cloned()
    }

    /// Whether `counter` is paired and not revoked.
    pub fn counter_known(&self, counter: &CounterId) -> bool {
        self.tokens
            .read()
            .expect("pairing lock")
            .values()
            .any(|d| d.kind == DeviceKind::Counter && d.id == counter.as_str())
    }

    /// Every paired display or counter, newest first (revoked ones too).
    pub async fn list(&self, kind: DeviceKind) -> Result<Vec<Device>, CoreError> {
        let rows = sqlx::query(&format!(
            "SELECT id, name, paired_at, revoked_at FROM {} ORDER BY paired_at DESC",
            kind.table()
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Device {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    paired_at: from_millis(r.try_get("paired_at")?),
                    revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(from_millis),
                })
            })
            .collect()
    }

    /// Revokes a display or a counter: its token stops working and its open sockets close.
    pub async fn revoke(&self, kind: DeviceKind, id: &str) -> Result<(), CoreError> {
        let done = sqlx::query(&format!(
            "UPDATE {} SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            kind.table()
        ))
        .bind(to_millis(self.clock.now()))
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(kind.not_found());
        }
        self.tokens
            .write()
            .expect("pairing lock")
            .retain(|_, device| device.id != id);
        let _ = self.revoked.send(id.to_string());
        if let Some(relay) = &self.relay {
            relay.relay_devices(Some(id));
        }
        tracing::info!(device = %id, ?kind, "device revoked");
        Ok(())
    }

    /// Revocations from now on (device ids).
    pub fn revocations(&self) -> broadcast::Receiver<String> {
        self.revoked.subscribe()
    }
}

/// Token hash → device of every display and counter not revoked.
async fn live_tokens(pool: &Db) -> Result<HashMap<String, PairedDevice>, CoreError> {
    let mut tokens = HashMap::new();
    for kind in [DeviceKind::Display, DeviceKind::Counter] {
        let rows = sqlx::query(&format!(
            "SELECT id, name, token_hash FROM {} WHERE revoked_at IS NULL",
            kind.table()
        ))
        .fetch_all(pool)
        .await?;
        for r in &rows {
            tokens.insert(
                r.try_get("token_hash")?,
                PairedDevice {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    kind,
                },
            );
        }
    }
    Ok(tokens)
}
