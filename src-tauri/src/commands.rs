//! The app's IPC commands: each a thin passthrough to the shell settings, the display window or
//! the keys this launch made. Which window may call which is [`crate::grant_ipc`]'s.

use tauri::{AppHandle, Manager};

use crate::settings::ShellSettings;
use crate::{display, Session, Shell};

/// The public key the server signs socket messages with, as the server holds it.
pub(crate) struct PushKey(pub(crate) String);

/// The key the windows verify socket messages with (never fetched over the network).
#[tauri::command]
pub(crate) fn push_key(key: tauri::State<'_, PushKey>) -> String {
    key.0.clone()
}

/// The key of the asking window: admin for the POS, display for the customer display.
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

#[tauri::command]
pub(crate) fn get_shell_settings(app: AppHandle) -> ShellSettings {
    ShellSettings::load(&app)
}

/// Saves shell settings; a new bind or LAN exposure restarts the app (open payments are in SQLite).
#[tauri::command]
pub(crate) fn save_shell_settings(app: AppHandle, settings: ShellSettings) -> Result<bool, String> {
    settings.validate()?;
    let before = ShellSettings::load(&app);
    let mut next = settings;
    next.window = before.window;
    next.last_token = before.last_token.clone();
    next.last_network = before.last_network.clone();
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
