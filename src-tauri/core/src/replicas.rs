//! Servers sharing one PostgreSQL database (a hub's replicas): which one leads the background
//! work, and how what happens on one reaches the sockets of all.
//!
//! - **Leadership.** The chain watchers, the expiry sweep, the webhook outbox, the trend sampler
//!   and automatic receipt printing run on one server at a time: the one holding the PostgreSQL
//!   session advisory lock [`LEADER_LOCK`] on a connection of its own. The others try for it every
//!   [`LEADER_POLL`]; a leader that dies (however: kill -9 closes its connection) frees it, so
//!   another leads within a poll or two. The leader writes its name and a heartbeat into the
//!   `leadership` row, so every server can say who leads. On SQLite there is one server: it leads.
//! - **Relay.** Every payment event published on a server's [`EventBus`] (after its commit) and every
//!   change of what the customer display shows is also sent on the PostgreSQL channel [`CHANNEL`]
//!   (`pg_notify`, in publish order); every other server, listening, reads the payment as stored and
//!   publishes it on its own bus — so a socket on any replica follows a payment credited by the
//!   leader's watcher. A server skips its own messages (they name it).

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{postgres::PgListener, Connection};
use tokio::sync::{mpsc, watch};

use crate::{
    clock::{from_millis, to_millis, Clock},
    counters::CounterId,
    display::Display,
    events::{EventBus, PaymentEvent, PaymentEventKind},
    pairing::{Pairing, PairingCode},
    payments::{PaymentId, PaymentStatus, Payments},
    store::{Backend, Db},
};

/// The session advisory lock the leading server holds.
pub const LEADER_LOCK: i64 = 0x5354_4250_4c44; // "STBPLD"

/// How often a server that does not lead tries to, and the leader checks its connection.
pub const LEADER_POLL: Duration = Duration::from_millis(1000);

/// The PostgreSQL notification channel the replicas share.
pub const CHANNEL: &str = "stablepay_events";

/// This server among the servers of its database.
#[derive(Debug, Clone)]
pub struct Replica {
    name: Arc<str>,
    db: Db,
    url: Option<Arc<str>>,
    /// Whether this server leads; updated with `send_replace`/`send_if_modified`, which store the
    /// value even while nobody follows it yet (`send` would drop it).
    leading: Arc<watch::Sender<bool>>,
    outbox: mpsc::UnboundedSender<Message>,
    queued: Arc<tokio::sync::Mutex<Option<mpsc::UnboundedReceiver<Message>>>>,
}

/// Who leads, as `/health` and the monitoring page say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderInfo {
    /// This server's name.
    pub replica: String,
    /// Whether this server leads.
    pub leader: bool,
    /// The leading server's name, when known.
    pub leader_name: Option<String>,
    /// Since when it leads.
    pub leader_since: Option<DateTime<Utc>>,
}

/// One message between replicas.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Message {
    /// The server it comes from.
    from: String,
    #[serde(flatten)]
    what: What,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum What {
    /// A payment event: `previous` for a status change, `progress` for confirmations counted up.
    Payment {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<String>,
        #[serde(default)]
        progress: bool,
    },
    /// The customer display (of `counter`, or the shop's) now shows this payment (`None`: nothing).
    Display {
        id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<String>,
    },
    /// A display pairing code was made (the one code of the hub).
    PairingCode { code: String, expires_at: i64 },
    /// A pairing code was tried: wrong (counts towards its limit) or used.
    PairingAttempt { used: bool },
    /// A display was paired, or revoked (`revoked`: its id).
    Devices { revoked: Option<String> },
}

impl Replica {
    /// This server on `db`: named `name`, or after the host and the process.
    pub(crate) fn new(db: Db, url: Option<&str>, name: Option<String>) -> Self {
        let name = name.unwrap_or_else(default_name);
        let (outbox, queued) = mpsc::unbounded_channel();
        Self {
            name: name.into(),
            leading: Arc::new(watch::channel(db.backend() == Backend::Sqlite).0),
            db,
            url: url.map(Into::into),
            outbox,
            queued: Arc::new(tokio::sync::Mutex::new(Some(queued))),
        }
    }

    /// This server's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this server runs the background work now.
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }

    /// Follows [`Self::is_leader`].
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// Who leads.
    pub async fn info(&self) -> LeaderInfo {
        let leader = self.is_leader();
        let (leader_name, leader_since) = match self.db.backend() {
            Backend::Sqlite => (Some(self.name.to_string()), None),
            Backend::Postgres => {
                let row: Option<(String, i64)> =
                    sqlx::query_as("SELECT replica, since FROM leadership WHERE id = 1")
                        .fetch_optional(&self.db)
                        .await
                        .ok()
                        .flatten();
                match row {
                    Some((name, since)) => (Some(name), Some(from_millis(since))),
                    None => (None, None),
                }
            }
        };
        LeaderInfo {
            replica: self.name.to_string(),
            leader,
            leader_name,
            leader_since,
        }
    }

    /// Sends `event` to the other servers (nothing on SQLite). Called by the bus, in publish order.
    pub(crate) fn relay_payment(&self, event: &PaymentEvent) {
        let (previous, progress) = match &event.kind {
            PaymentEventKind::Created => (None, false),
            PaymentEventKind::StatusChanged { previous } => {
                (Some(previous.as_str().to_string()), false)
            }
            PaymentEventKind::Progress => (None, true),
        };
        self.send(What::Payment {
            id: event.payment.id.as_str().to_string(),
            previous,
            progress,
        });
    }

    /// Tells the other servers what the customer display shows now.
    pub(crate) fn relay_display(&self, counter: Option<&CounterId>, id: Option<&PaymentId>) {
        self.send(What::Display {
            id: id.map(|i| i.as_str().to_string()),
            counter: counter.map(|c| c.as_str().to_string()),
        });
    }

    /// Queues `what` for the other servers (in order; nothing on SQLite, where there are none).
    fn send(&self, what: What) {
        if self.db.backend() != Backend::Postgres {
            return;
        }
        let _ = self.outbox.send(Message {
            from: self.name.to_string(),
            what,
        });
    }

    /// Tells the other servers of a new pairing code.
    pub(crate) fn relay_pairing_code(&self, code: &PairingCode) {
        self.send(What::PairingCode {
            code: code.code.clone(),
            expires_at: to_millis(code.expires_at),
        });
    }

    /// Tells the other servers a code was tried (`used`: and it was right).
    pub(crate) fn relay_pairing_attempt(&self, used: bool) {
        self.send(What::PairingAttempt { used });
    }

    /// Tells the other servers a display was paired or (`revoked`) revoked.
    pub(crate) fn relay_devices(&self, revoked: Option<&str>) {
        self.send(What::Devices {
            revoked: revoked.map(str::to_string),
        });
    }

    /// Holds or waits for the leadership, for as long as it runs (the host spawns it and aborts it
    /// on shutdown, which closes the lock's connection and so frees it). Leads at once on SQLite.
    pub async fn run_leadership(self, clock: Arc<dyn Clock>) {
        if self.db.backend() != Backend::Postgres {
            self.leading.send_replace(true);
            return std::future::pending().await;
        }
        loop {
            if let Err(e) = self.lead_while_possible(&clock).await {
                tracing::warn!(replica = %self.name, error = %e, "leadership: database connection lost");
            }
            self.leading
                .send_if_modified(|l| std::mem::replace(l, false));
            tokio::time::sleep(LEADER_POLL).await;
        }
    }

    /// One connection's life: tries for the lock until it holds it, then keeps it alive.
    async fn lead_while_possible(&self, clock: &Arc<dyn Clock>) -> Result<(), sqlx::Error> {
        // A connection of its own, out of the pool: the lock lives as long as it does.
        let mut conn = self.db.acquire().await?.detach();
        loop {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(LEADER_LOCK)
                .fetch_one(&mut conn)
                .await?;
            if got {
                break;
            }
            tokio::time::sleep(LEADER_POLL).await;
        }
        let since = to_millis(clock.now());
        tracing::info!(replica = %self.name, "leading: this server runs the watchers, expiry and webhooks");
        self.leading.send_replace(true);
        loop {
            let now = to_millis(clock.now());
            let mut tx = conn.begin().await?;
            sqlx::query(
                "INSERT INTO leadership (id, replica, since, seen_at) VALUES (1, $1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET replica = excluded.replica, since = excluded.since,
                   seen_at = excluded.seen_at",
            )
            .bind(self.name.as_ref())
            .bind(since)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tokio::time::sleep(LEADER_POLL).await;
        }
    }

    /// Sends this server's messages and publishes the others' here, for as long as it runs (the
    /// host spawns it). Does nothing on SQLite.
    pub async fn run_relay(self, services: Relayed) {
        if self.db.backend() != Backend::Postgres {
            return std::future::pending().await;
        }
        let Some(mut queued) = self.queued.lock().await.take() else {
            return;
        };
        let sender = {
            let db = self.db.clone();
            async move {
                while let Some(message) = queued.recv().await {
                    let Ok(payload) = serde_json::to_string(&message) else {
                        continue;
                    };
                    if let Err(e) = sqlx::query("SELECT 1 FROM pg_notify($1, $2)")
                        .bind(CHANNEL)
                        .bind(payload)
                        .execute(&db)
                        .await
                    {
                        tracing::warn!(error = %e, "relay: could not tell the other servers");
                    }
                }
            }
        };
        let receiver = async {
            loop {
                if let Err(e) = self.listen(&services).await {
                    tracing::warn!(replica = %self.name, error = %e, "relay: listening failed; again in a second");
                }
                tokio::time::sleep(LEADER_POLL).await;
            }
        };
        tokio::join!(sender, receiver);
    }

    async fn listen(&self, services: &Relayed) -> Result<(), sqlx::Error> {
        let Relayed {
            events,
            payments,
            display,
            pairing,
        } = services;
        let Some(url) = &self.url else {
            return Ok(());
        };
        let mut listener = PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        loop {
            let notification = listener.recv().await?;
            let Ok(message) = serde_json::from_str::<Message>(notification.payload()) else {
                continue;
            };
            if message.from == *self.name {
                continue;
            }
            match message.what {
                What::Payment {
                    id,
                    previous,
                    progress,
                } => {
                    let id = PaymentId::from_store(id);
                    let Ok(Some(payment)) = payments.stored(&id).await else {
                        continue;
                    };
                    let kind = match (previous.as_deref().map(PaymentStatus::parse), progress) {
                        (Some(Ok(previous)), _) => PaymentEventKind::StatusChanged { previous },
                        (_, true) => PaymentEventKind::Progress,
                        _ => PaymentEventKind::Created,
                    };
                    events.publish_here(PaymentEvent { kind, payment });
                }
                What::Display { id, counter } => {
                    let id = id.map(PaymentId::from_store);
                    let counter = counter.map(CounterId::from_store);
                    if let Err(e) = display.show_here(counter.as_ref(), id.as_ref()).await {
                        tracing::warn!(error = %e, "relay: the display's payment is not readable");
                    }
                }
                What::PairingCode { code, expires_at } => {
                    pairing.code_made_elsewhere(PairingCode {
                        code,
                        expires_at: from_millis(expires_at),
                    })
                }
                What::PairingAttempt { used } => pairing.attempt_elsewhere(used),
                What::Devices { revoked } => {
                    if let Err(e) = pairing.devices_changed_elsewhere(revoked.as_deref()).await {
                        tracing::warn!(error = %e, "relay: the paired displays are not readable");
                    }
                }
            }
        }
    }
}

/// The services whose changes the relay applies here.
#[derive(Debug, Clone)]
pub struct Relayed {
    /// Payment events.
    pub events: EventBus,
    /// To read a payment another server changed.
    pub payments: Payments,
    /// What the customer display shows.
    pub display: Display,
    /// Pairing codes and paired displays.
    pub pairing: Pairing,
}

/// The host's name and this process: unique among running servers.
fn default_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static STARTED: AtomicU32 = AtomicU32::new(0);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "server".into());
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    match n {
        0 => format!("{host}-{}", std::process::id()),
        n => format!("{host}-{}-{n}", std::process::id()),
    }
}
