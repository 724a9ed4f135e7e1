//! StablePay POS desktop shell: starts the core and the embedded server in-process on a SQLite file
//! in the app-data folder, then opens the POS window on the server's own URL, so the UI reaches the
//! API same-origin exactly as it does in a browser. It adds only desktop concerns; the domain lives
//! in `stablepay-core` and HTTP in `stablepay-server`.
//!
//! Configuration: `STABLEPAY_CONFIG` names a TOML file, else `<app-data>/stablepay.toml` is used when
//! present; `STABLEPAY_<SECTION>__<KEY>` variables override it as everywhere. Unless the file or the
//! environment sets `database.path`, the database is `<app-data>/stablepay.db`.

use std::{path::PathBuf, sync::Arc};

use stablepay_core::{clock::SystemClock, config::Config};
use stablepay_server::RunningServer;
use tauri::{Manager, WebviewUrl, WebviewWindowBuilder};

/// Keeps the embedded server alive as long as the app.
struct EmbeddedServer(#[allow(dead_code)] RunningServer);

fn load_config(app_data: &std::path::Path) -> anyhow::Result<Config> {
    let file = std::env::var_os("STABLEPAY_CONFIG")
        .map(PathBuf::from)
        .or_else(|| Some(app_data.join("stablepay.toml")).filter(|p| p.is_file()));
    let text = match &file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?,
        None => String::new(),
    };
    let database_set =
        text.contains("[database]") || std::env::var_os("STABLEPAY_DATABASE__PATH").is_some();
    let mut config = Config::from_toml_str(&text, std::env::vars()).map_err(|e| {
        anyhow::anyhow!(
            "{}{e}",
            file.map(|f| format!("{}: ", f.display()))
                .unwrap_or_default()
        )
    })?;
    if !database_set {
        config.database.path = app_data.join("stablepay.db");
    }
    Ok(config)
}

/// Shows start-up failures in the window (the bundled UI's start-up error page), not only in the log.
fn show_startup_error(app: &tauri::App, code: &str, message: &str) -> tauri::Result<()> {
    let query = format!("code={}&message={}", encode(code), encode(message));
    WebviewWindowBuilder::new(
        app,
        "main",
        WebviewUrl::App(format!("index.html#/startup-error?{query}").into()),
    )
    .title("StablePay POS")
    .inner_size(1024.0, 768.0)
    .build()?;
    Ok(())
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs the desktop app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into()),
        )
        .init();
    tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::default().build())
        .setup(|app| {
            let app_data = app.path().app_data_dir()?;
            std::fs::create_dir_all(&app_data)?;
            let config = match load_config(&app_data) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "bad configuration");
                    show_startup_error(app, "invalid_config", &e.to_string())?;
                    return Ok(());
                }
            };
            match tauri::async_runtime::block_on(stablepay_server::start(
                config,
                Arc::new(SystemClock),
            )) {
                Ok(server) => {
                    let url = format!("http://{}/", server.addr);
                    tracing::info!(%url, "embedded server running");
                    WebviewWindowBuilder::new(app, "main", WebviewUrl::External(url.parse()?))
                        .title("StablePay POS")
                        .inner_size(1024.0, 768.0)
                        .min_inner_size(800.0, 600.0)
                        .build()?;
                    app.manage(EmbeddedServer(server));
                }
                Err(e) => {
                    tracing::error!(error = %e, "the embedded server did not start");
                    show_startup_error(app, e.code(), &e.to_string())?;
                }
            }
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running StablePay POS");
}
