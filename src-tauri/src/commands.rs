//! The app's IPC commands: each a thin passthrough to the shell settings, the display window, the
//! hub link or the keys this launch holds. Which window may call which is [`crate::grant_ipc`]'s.

use tauri::{AppHandle, Manager};

use crate::hub::{self, HubOrigin};
use crate::settings::{ShellSettings, ShellSettingsView};
use crate::{display, Session, Shell};

/// The public key the server signs socket messages with: the embedded server's, or the hub's as
/// pairing gave it.
pub(crate) struct PushKey(pub(crate) String);

/// The key the windows verify socket messages with (never fetched over the network).
#[tauri::command]
pub(crate) fn push_key(key: tauri::State<'_, PushKey>) -> String {
    key.0.clone()
}

/// The key of the asking window: in local mode admin for the POS, display for the customer display;
/// in terminal mode the counter's key for both.
#[tauri::command]
pub(crate) fn session_token(
    window: tauri::Window,
    session: tauri::State<'_, Session>,
) -> Result<String, String> {
    match window.label() {
        "main" => Ok(session.pos.expose().to_string()),
        display::LABEL => Ok(session.display.expose().to_string()),
        other => Err(format!("no key for window {other}")),
    }
}

#[tauri::command]
pub(crate) fn open_customer_display(app: AppHandle, monitor: Option<usize>) -> Result<(), String> {
    let url = app.state::<Shell>().url.clone();
    let monitor = monitor.or(ShellSettings::load(&app).display_monitor);
    if let Some(m) = monitor {
        let mut s = ShellSettings::load(&app);
        s.display_monitor = Some(m);
        let _ = s.save(&app);
    }
    display::open(&app, &url, monitor).map_err(|e| e.to_string())
}

#[tauri::command]
pub(crate) fn list_monitors(app: AppHandle) -> Vec<display::MonitorInfo> {
    display::monitors(&app)
}

/// The settings without the hub link's keys.
#[tauri::command]
pub(crate) fn get_shell_settings(app: AppHandle) -> ShellSettingsView {
    ShellSettings::load(&app).into()
}

/// Saves shell settings; a new bind or LAN exposure restarts the app (open payments are in SQLite).
/// The hub link stays as stored: only [`attach_to_hub`] and [`detach_from_hub`] change it.
#[tauri::command]
pub(crate) fn save_shell_settings(
    app: AppHandle,
    settings: ShellSettingsView,
) -> Result<bool, String> {
    let settings = settings.settings;
    settings.validate()?;
    let before = ShellSettings::load(&app);
    let mut next = settings;
    next.window = before.window;
    next.last_token = before.last_token.clone();
    next.last_network = before.last_network.clone();
    next.hub = before.hub.clone();
    next.save(&app)?;
    let restart = next.server_bind != before.server_bind || next.lan != before.lan;
    if restart {
        app.restart();
    }
    Ok(restart)
}

/// Remembers the token and network of the sale just made (the POS starts on them next time).
#[tauri::command]
pub(crate) fn remember_sale_choice(
    app: AppHandle,
    token: String,
    network: Option<String>,
) -> Result<(), String> {
    let mut settings = ShellSettings::load(&app);
    settings.last_token = Some(token);
    settings.last_network = network.filter(|n| !n.is_empty());
    settings.validate()?;
    settings.save(&app)
}

/// Pairs this app with the hub at `url` as the counter `name` (`code`: a pairing code from the
/// hub), keeps the link and restarts the app on the hub (terminal mode). The error is the hub's own
/// message, or says the address is wrong or the hub cannot be reached.
#[tauri::command]
pub(crate) async fn attach_to_hub(
    app: AppHandle,
    url: String,
    code: String,
    name: String,
) -> Result<(), String> {
    let origin = HubOrigin::parse(&url)?;
    let link = hub::pair(&origin, &code, &name).await?;
    tracing::info!(hub = %origin, counter = %link.counter_id, "paired with the hub");
    let mut settings = ShellSettings::load(&app);
    settings.hub = Some(link);
    settings.save(&app)?;
    // Asked, not done here: the answer reaches the window before the app goes.
    app.request_restart();
    Ok(())
}

/// Forgets the hub link and restarts the app on its in-process server (local mode).
#[tauri::command]
pub(crate) fn detach_from_hub(app: AppHandle) -> Result<(), String> {
    hub::detach(&app)
}
