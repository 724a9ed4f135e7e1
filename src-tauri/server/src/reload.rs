//! Settings changed in the app apply at once (issue 18). `PATCH /api/v1/settings` writes the
//! config file (`stablepay_core::config::edit`, comments kept), validates it through the same
//! layers the server started with, records the change in the audit trail, and hands the new
//! configuration to the [`Supervisor`], which reloads the server in place: same process, same
//! address, the core and its watchers started again on the new configuration (well under a second;
//! open WebSockets reconnect by themselves). Nobody restarts anything, and every setting — tokens, RPC
//! endpoints, the payments policy, the receive address — takes effect on the next sale. The
//! listening socket stays bound throughout, so a request made during the reload waits a moment in
//! its backlog and is answered by the new server, never refused.
//!
//! A server started without a supervisor (`start`, as the tests' plain harness does) has no
//! [`Reload`]: its settings are read-only, and `PATCH /settings` says so (409 `settings_read_only`).

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use stablepay_core::{
    clock::Clock,
    config::{edit::SettingsChange, Config, Layers},
    Core, CoreError,
};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot, watch, Mutex};

use crate::{start_with, RunningServer, StartError};

/// Where the configuration comes from, to write and load it again: the file, and the other layers
/// exactly as at start (`layers.file` and `layers.text` are ignored).
#[derive(Debug, Clone)]
pub struct ConfigSource {
    /// The TOML file the settings are written to (created on the first save).
    pub file: PathBuf,
    /// The other layers: host defaults and overrides, the environment, flags.
    pub layers: Layers,
}

/// The running server's way to reload itself, in [`crate::state::AppState`]. Each saved change
/// is a numbered *generation*: the Settings screen waits for the server to answer with its
/// generation in force (or with its failure) instead of guessing from the values.
#[derive(Debug)]
pub struct Reload {
    source: ConfigSource,
    requests: mpsc::UnboundedSender<(Config, u64)>,
    /// One change at a time: the file is read, edited and written under it.
    writing: Mutex<()>,
    saved: AtomicU64,
    applied: AtomicU64,
    failed: std::sync::Mutex<Option<(u64, String)>>,
}

impl Reload {
    /// The config file settings are written to.
    pub fn file(&self) -> &std::path::Path {
        &self.source.file
    }

    /// The last generation the server runs on (0: the settings it started with).
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::SeqCst)
    }

    /// The last generation that did not start, and why (the server stayed on the previous one).
    pub fn failed(&self) -> Option<(u64, String)> {
        self.failed.lock().expect("reload lock").clone()
    }

    /// Applies `change` to the file, validates the result through the start-up layers, writes it
    /// (atomically: a temporary file renamed over it) and asks for a reload. Returns the new
    /// configuration's generation. A change that does not validate writes nothing.
    pub(crate) async fn apply(
        &self,
        change: &SettingsChange,
        current: &Config,
    ) -> Result<u64, CoreError> {
        let _one_at_a_time = self.writing.lock().await;
        let file = &self.source.file;
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(CoreError::Config(format!(
                    "cannot read {}: {e}",
                    file.display()
                )))
            }
        };
        let edited = stablepay_core::config::edit::apply(&text, change, current)?;
        let mut layers = self.source.layers.clone();
        layers.file = None;
        layers.text = Some(edited.clone());
        let mut config = Config::layered(layers)?;
        // What the host added after loading (the desktop session token, the LAN switch's bind)
        // stays as it was: only the file changed.
        config.server = current.server.clone();
        config.database = current.database.clone();
        write_atomically(file, &edited)
            .map_err(|e| CoreError::Config(format!("cannot write {}: {e}", file.display())))?;
        let generation = self.saved.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.requests.send((config, generation));
        Ok(generation)
    }
}

fn write_atomically(file: &std::path::Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension("toml.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, file)
}

/// Called with each server the supervisor starts (the first and every reload), e.g. for the
/// desktop shell to follow the new core's events.
pub type OnStart = Arc<dyn Fn(&RunningServer) + Send + Sync>;

/// Keeps a server running and reloads it when its settings change.
pub struct Supervisor {
    /// The address it listens on (kept across reloads).
    pub addr: SocketAddr,
    /// The public key socket messages are signed with (kept across reloads).
    pub push_key: String,
    /// The core in force, replaced on every reload.
    pub core: watch::Receiver<Core>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Supervisor {
    /// Starts the server on `config` (errors as [`crate::start`]), then reloads it whenever
    /// `PATCH /settings` saves a change to `source.file`.
    pub async fn start(
        config: Config,
        clock: Arc<dyn Clock>,
        source: ConfigSource,
        on_start: OnStart,
    ) -> Result<Self, StartError> {
        let (requests, mut incoming) = mpsc::unbounded_channel();
        let reload = Arc::new(Reload {
            source,
            requests,
            writing: Mutex::new(()),
            saved: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            failed: std::sync::Mutex::new(None),
        });
        let mut server = start_with(config, clock.clone(), Some(reload.clone()), None).await?;
        on_start(&server);
        let addr = server.addr;
        let push_key = server.push_key.clone();
        let (core_tx, core) = watch::channel(server.core.clone());
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    Some((mut next, generation)) = incoming.recv() => {
                        let previous = (*server.core.config).clone();
                        // The listener stays bound across the reload: connections made meanwhile
                        // wait in its backlog and are served by the new server.
                        let kept = server.shutdown_keeping_listener().await;
                        next.server.bind = addr;
                        server = match start_with(next, clock.clone(), Some(reload.clone()), kept).await {
                            Ok(s) => {
                                reload.applied.store(generation, Ordering::SeqCst);
                                s
                            }
                            Err(e) => {
                                *reload.failed.lock().expect("reload lock") = Some((generation, e.to_string()));
                                tracing::error!(error = %e, "the new settings did not start; back on the previous ones");
                                let mut previous = previous;
                                previous.server.bind = addr;
                                match start_with(previous, clock.clone(), Some(reload.clone()), None).await {
                                    Ok(s) => s,
                                    Err(e) => {
                                        tracing::error!(error = %e, "the server could not start again");
                                        return;
                                    }
                                }
                            }
                        };
                        tracing::info!(%addr, "settings applied: the server reloaded in place");
                        on_start(&server);
                        let _ = core_tx.send(server.core.clone());
                    }
                }
            }
            server.shutdown().await;
        });
        Ok(Self {
            addr,
            push_key,
            core,
            stop: Some(stop),
            task,
        })
    }

    /// Stops the server.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}
