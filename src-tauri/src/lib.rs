//! StablePay POS desktop shell: starts the core and the embedded server in-process on a SQLite file
//! in the app-data folder, then opens the POS window on the server's own URL, so the UI reaches the
//! API same-origin exactly as it does in a browser. It adds only desktop concerns — the customer
//! display window, the tray, notifications, one instance, shell settings; the domain lives in
//! `stablepay-core` and HTTP in `stablepay-server`.
//!
//! The windows authenticate with keys made on each launch and handed over IPC (never in a URL or in
//! storage): the POS window an admin session token, the customer display window a display-role key.
//! IPC is granted to the server's exact origin only, per window ([`grant_ipc`]), and the windows
//! cannot navigate anywhere else. Both windows also get the public key the server signs socket
//! messages with ([`push_key`]): the customer display shows nothing that fails to verify with it.
//!
//! LAN mode (the server listening beyond this computer) serves HTTPS with a self-signed
//! certificate unless the configuration names one or sets `server.tls_self_signed = false`; the
//! app's own windows keep using plain HTTP on loopback, which the server allows from this computer.
//!
//! Configuration: `STABLEPAY_CONFIG` names a TOML file, else `<app-data>/stablepay.toml` is used when
//! present; `STABLEPAY_<SECTION>__<KEY>` variables override it as everywhere, and the shell settings
//! ([`settings`]) may set the bind. Unless the file or the environment sets `database.path`, the
//! database is `<app-data>/stablepay.db`.
//!
//! **Terminal mode.** Paired once with a hub ([`hub`], `attach_to_hub`: the hub's address, a pairing
//! code from its owner and this counter's name), the app starts no server of its own: no
//! configuration is read and no database opened, and the windows open on the hub's origin instead
//! (the POS on `{hub}/#/`, the customer display on `{hub}/#/display`). Both windows get the counter's
//! cashier-role key from `session_token` — the hub records the counter on every sale made with it
//! and gives the counter's display its own channel, so this counter's display follows this
//! counter's sales only — and the hub's push key, as pairing gave it, from `push_key`. IPC and
//! navigation are pinned to the hub's exact origin as they are to the embedded server's in local
//! mode. What needs an in-process core is adapted: the tray names the counter and its hub instead
//! of the chain's state (the hub watches the chain) and offers to detach, which is the way back
//! when the hub's pages cannot be reached; there are no desktop notifications of paid sales (the
//! POS window shows each sale's success itself). `detach_from_hub` (or the tray) forgets the link
//! and restarts the app in local mode, on its own database as it was.

mod commands;
mod config;
mod display;
mod hub;
mod settings;
mod tray;

use std::sync::Arc;

use stablepay_core::{
    access::{ApiKey, KeyConfig, Role},
    clock::SystemClock,
    config::Config,
    entropy::SystemEntropy,
    events::PaymentEventKind,
    payments::PaymentStatus,
    Core,
};
use stablepay_server::reload::Supervisor;
use tauri::{
    AppHandle, Manager, PhysicalPosition, PhysicalSize, WebviewUrl, WebviewWindowBuilder,
    WindowEvent,
};
use tauri_plugin_notification::NotificationExt;

use crate::hub::HubLink;
use crate::settings::{Placement, ShellSettings};

/// The origin the windows are on, and the embedded server behind it in local mode (kept alive as
/// long as the app; it reloads itself when settings change) — none in terminal mode.
struct Shell {
    url: String,
    _server: Option<Supervisor>,
}

/// The keys the windows get: this launch's own in local mode, the counter's in terminal mode.
struct Session {
    /// The POS window's (admin; in terminal mode the counter's cashier key).
    pos: ApiKey,
    /// The customer display window's (display role; in terminal mode the counter's cashier key,
    /// through which the hub gives the display this counter's channel).
    display: ApiKey,
}

impl Session {
    fn new() -> Self {
        Self {
            pos: ApiKey::random(&SystemEntropy),
            display: ApiKey::random(&SystemEntropy),
        }
    }

    /// Both windows on the counter's key.
    fn counter(key: ApiKey) -> Self {
        Self {
            pos: key.clone(),
            display: key,
        }
    }

    /// Makes the server accept this launch's keys.
    fn install(&self, config: &mut Config) {
        config.server.session_token = Some(self.pos.clone());
        config.server.keys.push(KeyConfig {
            key: self.display.clone(),
            role: Role::Display,
            name: "this app's customer display window".into(),
        });
    }
}

/// Grants IPC to the server's exact origin, per window: the POS window the app's commands, the
/// customer display window only its key.
///
/// In terminal mode that origin is the hub's, a remote one: the pages it serves get this app's
/// commands and the counter's key. That is granted only because the owner paired this app with
/// that hub (a code from its owner, an address typed here); no other origin gets IPC, and the
/// windows cannot navigate to one.
fn grant_ipc(app: &tauri::App, url: &str) -> tauri::Result<()> {
    use tauri::ipc::CapabilityBuilder;
    let origin = format!("{url}/*");
    app.add_capability(
        CapabilityBuilder::new("pos")
            .remote(origin.clone())
            .local(false)
            .window("main")
            .permission("core:default")
            .permission("allow-open-customer-display")
            .permission("allow-list-monitors")
            .permission("allow-get-shell-settings")
            .permission("allow-save-shell-settings")
            .permission("allow-remember-sale-choice")
            .permission("allow-attach-to-hub")
            .permission("allow-detach-from-hub")
            .permission("allow-session-token")
            .permission("allow-push-key"),
    )?;
    app.add_capability(
        CapabilityBuilder::new("customer-display")
            .remote(origin)
            .local(false)
            .window(display::LABEL)
            .permission("allow-session-token")
            .permission("allow-push-key"),
    )
}

/// Keeps a window on the server's origin: links elsewhere do not open in it.
pub(crate) fn same_origin(server: &str) -> impl Fn(&tauri::Url) -> bool + Send + 'static {
    let server = server.trim_end_matches('/').to_string();
    move |url| {
        let allowed = url.origin().ascii_serialization() == server || url.scheme() == "tauri";
        if !allowed {
            tracing::warn!(%url, "navigation away from the server refused");
        }
        allowed
    }
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

/// The POS window, where it was last time.
fn open_main(app: &tauri::App, url: &str, shell: &ShellSettings) -> tauri::Result<()> {
    let title = match &shell.hub {
        Some(hub) => format!("StablePay POS — {}", hub.counter_name),
        None => "StablePay POS".into(),
    };
    let lang = shell
        .language
        .as_deref()
        .map(|l| format!("?lang={l}"))
        .unwrap_or_default();
    let target = format!("{url}{lang}#/")
        .parse()
        .map_err(|e| tauri::Error::AssetNotFound(format!("{e}")))?;
    let window = WebviewWindowBuilder::new(app, "main", WebviewUrl::External(target))
        .on_navigation(same_origin(url))
        .title(title)
        .inner_size(1024.0, 768.0)
        .min_inner_size(800.0, 600.0)
        .build()?;
    if let Some(p) = shell.window {
        let _ = window.set_size(PhysicalSize::new(p.width.max(800), p.height.max(600)));
        let _ = window.set_position(PhysicalPosition::new(p.x, p.y));
        if p.maximized {
            let _ = window.maximize();
        }
    }
    let handle = app.handle().clone();
    window.on_window_event(move |event| {
        if let WindowEvent::CloseRequested { .. } = event {
            remember_placement(&handle);
        }
    });
    Ok(())
}

fn remember_placement(app: &AppHandle) {
    let Some(w) = app.get_webview_window("main") else {
        return;
    };
    let (Ok(pos), Ok(size)) = (w.outer_position(), w.inner_size()) else {
        return;
    };
    let mut s = ShellSettings::load(app);
    s.window = Some(Placement {
        x: pos.x,
        y: pos.y,
        width: size.width,
        height: size.height,
        maximized: w.is_maximized().unwrap_or(false),
    });
    if let Err(e) = s.save(app) {
        tracing::warn!(error = %e, "cannot save the window placement");
    }
}

/// A desktop notification for every payment that becomes paid.
fn notify_paid(app: AppHandle, core: &Core) {
    let mut events = core.events.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(e)
                    if matches!(e.kind, PaymentEventKind::StatusChanged { .. })
                        && e.payment.status == PaymentStatus::Paid =>
                {
                    let body = format!(
                        "{} {} — {}",
                        e.payment.amount.to_decimal_string(2),
                        e.payment.token,
                        e.payment.id
                    );
                    if let Err(err) = app
                        .notification()
                        .builder()
                        .title("Payment received")
                        .body(body)
                        .show()
                    {
                        tracing::debug!(error = %err, "no desktop notification");
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Runs the desktop app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(stablepay_server::log_filter())
        .init();
    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second launch brings the running POS forward instead of starting another server.
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.show();
                let _ = w.unminimize();
                let _ = w.set_focus();
            }
        }))
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(tauri::generate_handler![
            commands::open_customer_display,
            commands::list_monitors,
            commands::get_shell_settings,
            commands::save_shell_settings,
            commands::remember_sale_choice,
            commands::session_token,
            commands::push_key,
            commands::attach_to_hub,
            commands::detach_from_hub
        ])
        .setup(|app| {
            let shell = ShellSettings::load(app.handle());
            match shell.hub.clone() {
                Some(hub) => start_terminal(app, &shell, hub),
                None => start_local(app, &shell),
            }
        })
        .run(tauri::generate_context!())
        .expect("error while running StablePay POS");
}

/// Local mode: the embedded server on this computer's own database, the windows on its URL.
fn start_local(
    app: &mut tauri::App,
    shell: &ShellSettings,
) -> Result<(), Box<dyn std::error::Error>> {
    let app_data = app.path().app_data_dir()?;
    std::fs::create_dir_all(&app_data)?;
    let session = Session::new();
    let (config, source) = match config::load_config(&app_data, shell) {
        Ok((mut c, source)) => {
            session.install(&mut c);
            (c, source)
        }
        Err(e) => {
            tracing::error!(error = %e, "bad configuration");
            show_startup_error(app, "invalid_config", &e.to_string())?;
            return Ok(());
        }
    };
    let handle = app.handle().clone();
    // Each server the supervisor starts (the first, and after every settings change) has its
    // own core: follow its payments for the desktop notification.
    let on_start: stablepay_server::reload::OnStart =
        Arc::new(move |server| notify_paid(handle.clone(), &server.core));
    match tauri::async_runtime::block_on(Supervisor::start(
        config,
        Arc::new(SystemClock),
        source,
        on_start,
    )) {
        Ok(server) => {
            let url = format!("http://{}", loopback(server.addr));
            tracing::info!(%url, "embedded server running");
            app.manage(session);
            app.manage(commands::PushKey(server.push_key.clone()));
            grant_ipc(app, &url)?;
            open_main(app, &url, shell)?;
            let status = tray::TrayStatus::Chain(server.core.clone());
            if let Err(e) = tray::install(app.handle(), status, url.clone()) {
                tracing::warn!(error = %e, "no tray icon on this desktop");
            }
            if std::env::var_os("STABLEPAY_OPEN_DISPLAY").is_some() {
                display::open(app.handle(), &url, shell.display_monitor)?;
            }
            app.manage(Shell {
                url,
                _server: Some(server),
            });
        }
        Err(e) => {
            tracing::error!(error = %e, "the embedded server did not start");
            show_startup_error(app, e.code(), &e.to_string())?;
        }
    }
    Ok(())
}

/// Terminal mode: no server here; the windows on the hub, with the counter's keys.
fn start_terminal(
    app: &mut tauri::App,
    shell: &ShellSettings,
    hub: HubLink,
) -> Result<(), Box<dyn std::error::Error>> {
    let url = hub.url.as_str().to_string();
    // Pairing checked the key's shape; a store edited by hand may not have kept it.
    let key = match ApiKey::parse(&hub.token) {
        Ok(key) => key,
        Err(e) => {
            tracing::error!(error = %e, "the stored hub link has no usable key");
            show_startup_error(
                app,
                "invalid_hub_link",
                &format!(
                    "the hub link in shell.json has no usable key ({e}); detach and pair again"
                ),
            )?;
            return Ok(());
        }
    };
    tracing::info!(%url, counter = %hub.counter_id, "terminal mode: the windows open on the hub");
    app.manage(Session::counter(key));
    app.manage(commands::PushKey(hub.push_key.clone()));
    grant_ipc(app, &url)?;
    open_main(app, &url, shell)?;
    let status = tray::TrayStatus::Counter {
        name: hub.counter_name.clone(),
        hub: url.clone(),
    };
    if let Err(e) = tray::install(app.handle(), status, url.clone()) {
        tracing::warn!(error = %e, "no tray icon on this desktop");
    }
    if std::env::var_os("STABLEPAY_OPEN_DISPLAY").is_some() {
        display::open(app.handle(), &url, shell.display_monitor)?;
    }
    app.manage(Shell { url, _server: None });
    Ok(())
}

/// The address the windows use: a server bound to every interface is reached on loopback.
fn loopback(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    if addr.ip().is_unspecified() {
        std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}
