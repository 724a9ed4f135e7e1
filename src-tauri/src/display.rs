//! The customer display window: the server's `/#/display` page in a second window, fullscreen on a
//! chosen monitor — or, on a till with one monitor, an ordinary window beside the POS, so it never
//! covers the cashier's screen. Closing it stops nothing (the POS and the server keep running);
//! opening it again focuses the existing one.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// Label of the display window.
pub(crate) const LABEL: &str = "display";

/// A monitor the display can go to.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct MonitorInfo {
    /// Index in the system's list.
    pub index: usize,
    /// Name, when the system gives one.
    pub name: String,
    /// Size in physical pixels.
    pub width: u32,
    /// Size in physical pixels.
    pub height: u32,
}

/// The monitors, in the system's order.
pub(crate) fn monitors<R: Runtime>(app: &AppHandle<R>) -> Vec<MonitorInfo> {
    let Some(main) = app.get_webview_window("main") else {
        return vec![];
    };
    main.available_monitors()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, m)| MonitorInfo {
            index,
            name: m
                .name()
                .cloned()
                .unwrap_or_else(|| format!("Monitor {}", index + 1)),
            width: m.size().width,
            height: m.size().height,
        })
        .collect()
}

/// Opens (or focuses) the display on `monitor` (default: the last one, where a second screen
/// usually is), fullscreen — unless that is the POS's own monitor (a one-monitor till).
pub(crate) fn open<R: Runtime>(
    app: &AppHandle<R>,
    server: &str,
    monitor: Option<usize>,
) -> tauri::Result<()> {
    if let Some(existing) = app.get_webview_window(LABEL) {
        existing.show()?;
        existing.set_focus()?;
        return Ok(());
    }
    let url = format!("{server}/#/display")
        .parse()
        .map_err(|e| tauri::Error::AssetNotFound(format!("{e}")))?;
    let window = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::External(url))
        .on_navigation(crate::same_origin(server))
        .title("StablePay — customer display")
        .inner_size(1024.0, 768.0)
        .build()?;
    let all = window.available_monitors().unwrap_or_default();
    let chosen = monitor.and_then(|i| all.get(i)).or(all.last());
    let pos_monitor = app
        .get_webview_window("main")
        .and_then(|main| main.current_monitor().ok().flatten());
    let over_the_cashier = all.len() < 2
        || chosen
            .zip(pos_monitor.as_ref())
            .is_some_and(|(c, p)| c.position() == p.position());
    if over_the_cashier {
        tracing::info!("one monitor: the customer display opens as a window, not fullscreen");
        return Ok(());
    }
    if let Some(m) = chosen {
        window.set_position(*m.position())?;
    }
    window.set_fullscreen(true)?;
    Ok(())
}
