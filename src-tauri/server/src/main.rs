//! `stablepay-server`: the headless StablePay POS server.

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;
use clap::{Parser, Subcommand};
use stablepay_core::{
    clock::SystemClock,
    config::{Config, Layers},
    store,
};
use stablepay_server::reload::{ConfigSource, Supervisor};
use utoipa::OpenApi;

/// StablePay POS headless server: REST + WebSocket API over a SQLite store.
///
/// Configuration comes from a TOML file (every key has a default), then environment variables
/// `STABLEPAY_<SECTION>__<KEY>` (e.g. STABLEPAY_SERVER__BIND=0.0.0.0:8080), then these flags.
#[derive(Debug, Parser)]
#[command(name = "stablepay-server", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server until Ctrl-C / SIGTERM.
    Serve {
        /// TOML config file (default: $STABLEPAY_CONFIG, else built-in defaults).
        #[arg(long, env = "STABLEPAY_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// Listen address, overriding server.bind (e.g. 127.0.0.1:8080). Off loopback an API key is required.
        #[arg(long, value_name = "ADDR")]
        bind: Option<std::net::SocketAddr>,
        /// SQLite file, overriding database.path.
        #[arg(long, value_name = "PATH")]
        database: Option<PathBuf>,
    },
    /// Validate a config file and print the effective settings summary.
    CheckConfig {
        /// TOML config file (default: $STABLEPAY_CONFIG).
        #[arg(long, env = "STABLEPAY_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print the OpenAPI document (JSON) and exit.
    Openapi,
    /// Copy a counter's SQLite database, every row of every table, into a hub's PostgreSQL
    /// database that holds no sales yet (made empty, or only started once). Stop the counter first.
    CopyDatabase {
        /// The counter's SQLite file (its database.path).
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// The hub's database: postgres://user:password@host:port/database.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

/// The layers: the file, then the environment, then these flags. A `--config` file that does not
/// exist yet is no error for `serve`: it is where the settings made in the app will be saved (a
/// fresh install starts with the built-in defaults and the first-run setup).
fn layers(config: Option<&std::path::Path>, flags: Vec<(&'static str, String)>) -> Layers {
    Layers {
        file: config
            .filter(|p| p.is_file())
            .map(std::path::Path::to_path_buf),
        env: std::env::vars().collect(),
        flags,
        ..Layers::default()
    }
}

/// The configuration through [`layers`], except that a named file must exist (`check-config`).
fn load(
    config: Option<&std::path::Path>,
    flags: Vec<(&'static str, String)>,
) -> anyhow::Result<Config> {
    Ok(Config::layered(Layers {
        file: config.map(std::path::Path::to_path_buf),
        ..layers(config, flags)
    })?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(stablepay_server::log_filter())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            config,
            bind,
            database,
        } => {
            let flags = [
                bind.map(|b| ("server.bind", b.to_string())),
                database.map(|d| ("database.path", d.display().to_string())),
            ];
            let flags: Vec<_> = flags.into_iter().flatten().collect();
            let layers = layers(config.as_deref(), flags);
            let cfg = Config::layered(layers.clone())?;
            // With a config file, settings changed in the app are saved into it and applied at once
            // (the server reloads in place); without one they are read-only.
            let server = match config {
                Some(file) => Serving::Supervised(
                    Supervisor::start(
                        cfg,
                        Arc::new(SystemClock),
                        ConfigSource { file, layers },
                        Arc::new(|_| {}),
                    )
                    .await?,
                ),
                None => Serving::Plain(Box::new(
                    stablepay_server::start(cfg, Arc::new(SystemClock)).await?,
                )),
            };
            println!(
                "StablePay server listening on http://{} (API docs at /docs)",
                server.addr()
            );
            wait_for_signal()
                .await
                .context("waiting for a shutdown signal")?;
            tracing::info!("shutting down");
            server.shutdown().await;
            Ok(())
        }
        Command::CheckConfig { config } => {
            let cfg = load(config.as_deref(), vec![])?;
            cfg.server.check_exposure()?;
            println!(
                "config OK: bind {}, database {}, {} network(s), {} token(s), receive address {}",
                cfg.server.bind,
                cfg.database.path.display(),
                cfg.networks.len(),
                cfg.tokens.len(),
                cfg.merchant
                    .receive_address
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "not set".into())
            );
            Ok(())
        }
        Command::CopyDatabase { from, to } => {
            // Checked before the lock, which would leave a `.lock` file beside a mistyped path.
            anyhow::ensure!(from.is_file(), "no SQLite database at {}", from.display());
            // No server may write to the file while it is read: its lock, held to the end.
            let _lock = store::lock(&from)?;
            let copied = store::copy_database(&from, &to).await?;
            for (table, rows) in &copied.tables {
                println!("{table:<20} {rows:>9} rows");
            }
            let hub = store::redacted(&to);
            println!("copied {} into {hub}", from.display());
            println!(
                "now point the counter at the hub ([database] url = \"{hub}\" in its config, the password filled in) and start it: it sells on from the hub, and this file is no longer used"
            );
            Ok(())
        }
        Command::Openapi => {
            println!(
                "{}",
                stablepay_server::openapi::ApiDoc::openapi().to_pretty_json()?
            );
            Ok(())
        }
    }
}

/// The server, reloadable (a config file to write) or not.
enum Serving {
    Supervised(Supervisor),
    Plain(Box<stablepay_server::RunningServer>),
}

impl Serving {
    fn addr(&self) -> std::net::SocketAddr {
        match self {
            Serving::Supervised(s) => s.addr,
            Serving::Plain(s) => s.addr,
        }
    }

    async fn shutdown(self) {
        match self {
            Serving::Supervised(s) => s.shutdown().await,
            Serving::Plain(s) => s.shutdown().await,
        }
    }
}

async fn wait_for_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}
