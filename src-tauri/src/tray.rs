//! The tray icon: the chain connection at a glance (tooltip and first menu line, refreshed every
//! few seconds from the core's telemetry), and actions — show the POS, open the customer display on
//! a monitor, quit. In terminal mode there is no core here (the hub watches the chain): the first
//! line names the counter and its hub, and one more action detaches from the hub — the way back to
//! local mode when the hub's pages cannot be reached.

use std::time::Duration;

use stablepay_core::Core;
use tauri::{
    menu::{Menu, MenuItem, PredefinedMenuItem, Submenu},
    tray::TrayIconBuilder,
    AppHandle, Manager, Runtime,
};

use crate::display;

/// One line about the chain, e.g. "Chain: connected (block 123)".
pub(crate) fn chain_status(core: &Core) -> String {
    let links = core.telemetry.links();
    if !core.config.chain.enabled || core.chains.is_empty() {
        return "Chain: not watched".into();
    }
    match links.values().next() {
        None => "Chain: connecting…".into(),
        Some(l) if l.is_connected => format!("Chain: connected (block {})", l.last_block_processed),
        Some(_) => "Chain: disconnected".into(),
    }
}

/// What the tray's first line follows.
pub(crate) enum TrayStatus {
    /// Local mode: the chain connection, from the core in force (a settings change reloads the
    /// server with a new one).
    Chain(tokio::sync::watch::Receiver<Core>),
    /// Terminal mode: this counter's name and its hub.
    Counter {
        /// The counter's name.
        name: String,
        /// The hub's origin.
        hub: String,
    },
}

/// Builds the tray and keeps its status line fresh.
pub(crate) fn install<R: Runtime>(
    app: &AppHandle<R>,
    source: TrayStatus,
    server: String,
) -> tauri::Result<()> {
    let first = match &source {
        TrayStatus::Chain(cores) => chain_status(&cores.borrow()),
        TrayStatus::Counter { name, hub } => format!("{name} — counter of {hub}"),
    };
    let terminal = matches!(source, TrayStatus::Counter { .. });
    let status = MenuItem::with_id(app, "status", &first, false, None::<&str>)?;
    let show = MenuItem::with_id(app, "show", "Show the POS", true, None::<&str>)?;
    let monitors = display::monitors(app);
    let display_items: Vec<MenuItem<R>> = if monitors.is_empty() {
        vec![MenuItem::with_id(
            app,
            "display:",
            "Open",
            true,
            None::<&str>,
        )?]
    } else {
        monitors
            .iter()
            .map(|m| {
                MenuItem::with_id(
                    app,
                    format!("display:{}", m.index),
                    format!("{} ({}×{})", m.name, m.width, m.height),
                    true,
                    None::<&str>,
                )
            })
            .collect::<tauri::Result<_>>()?
    };
    let refs: Vec<&dyn tauri::menu::IsMenuItem<R>> = display_items
        .iter()
        .map(|i| i as &dyn tauri::menu::IsMenuItem<R>)
        .collect();
    let display_menu = Submenu::with_items(app, "Customer display", true, &refs)?;
    let quit = MenuItem::with_id(app, "quit", "Quit StablePay", true, None::<&str>)?;
    let detach = MenuItem::with_id(
        app,
        "detach",
        "Detach from the hub (use this computer's own server)",
        true,
        None::<&str>,
    )?;
    let separator = PredefinedMenuItem::separator(app)?;
    let mut items: Vec<&dyn tauri::menu::IsMenuItem<R>> =
        vec![&status, &separator, &show, &display_menu];
    if terminal {
        items.push(&detach);
    }
    items.push(&quit);
    let menu = Menu::with_items(app, &items)?;
    let mut builder = TrayIconBuilder::with_id("main")
        .tooltip(format!("StablePay POS — {first}"))
        .menu(&menu)
        .on_menu_event(move |app, event| {
            let id = event.id().as_ref();
            if id == "quit" {
                app.exit(0);
            } else if id == "detach" {
                if let Err(e) = crate::hub::detach(app) {
                    tracing::warn!(error = %e, "cannot detach from the hub");
                }
            } else if id == "show" {
                if let Some(w) = app.get_webview_window("main") {
                    let _ = w.show();
                    let _ = w.set_focus();
                }
            } else if let Some(index) = id.strip_prefix("display:") {
                let monitor = index.parse().ok();
                if let Err(e) = display::open(app, &server, monitor) {
                    tracing::warn!(error = %e, "cannot open the customer display");
                }
            }
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let tray = builder.build(app)?;
    let TrayStatus::Chain(cores) = source else {
        return Ok(());
    };
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            // The core in force: a settings change reloads the server with a new one.
            let core = cores.borrow().clone();
            let line = chain_status(&core);
            let _ = status.set_text(&line);
            let _ = tray.set_tooltip(Some(format!("StablePay POS — {line}")));
        }
    });
    Ok(())
}
