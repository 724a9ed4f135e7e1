//! Shell settings, kept with `tauri-plugin-store` in `<app-data>/shell.json` (domain data lives in
//! SQLite): the server bind and LAN exposure, the language, the main window's placement and the
//! monitor chosen for the customer display, the token and network of the last sale (the POS
//! screen starts on them; in a plain browser it keeps them in the page's storage instead), and the
//! hub this app is a counter of, if any ([`crate::hub`]: terminal mode). The file is the owner's
//! alone (0600): it holds the counter's key.
//!
//! The UI reads and sends the settings as a [`ShellSettingsView`]: the hub link without its keys,
//! and a link the UI sends is ignored — only pairing sets one.
//!
//! The bind applies at start: `STABLEPAY_SERVER__BIND` wins over the store, the store over the
//! config file. LAN exposure binds `0.0.0.0` on the configured port, and the server then refuses to
//! start without an API key (shown in the window). Saving new network settings restarts the app;
//! open payments are in SQLite and carry on.

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_store::StoreExt;

use crate::hub::{HubLink, HubView};

const FILE: &str = "shell.json";
const KEY: &str = "shell";

/// Where the main window was.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Placement {
    /// Left, physical pixels.
    pub x: i32,
    /// Top, physical pixels.
    pub y: i32,
    /// Width, physical pixels.
    pub width: u32,
    /// Height, physical pixels.
    pub height: u32,
    /// Maximized.
    #[serde(default)]
    pub maximized: bool,
}

/// Everything the shell remembers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ShellSettings {
    /// `host:port` for the embedded server; none = the config's.
    pub server_bind: Option<String>,
    /// Serve the POS and the customer display to the LAN (binds 0.0.0.0; needs an API key).
    pub lan: bool,
    /// `en` or `zh-CN`; none = the UI's own choice.
    pub language: Option<String>,
    /// The main window's last placement.
    pub window: Option<Placement>,
    /// Index of the monitor last chosen for the customer display.
    pub display_monitor: Option<usize>,
    /// Token symbol of the last sale.
    pub last_token: Option<String>,
    /// Network id of the last sale; none = the default network.
    pub last_network: Option<String>,
    /// The hub this app is a counter of (terminal mode); none = the in-process server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub: Option<HubLink>,
}

/// The settings as the UI reads and sends them: the hub link without its keys (the UI's copy of
/// it is never stored back).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ShellSettingsView {
    /// Everything but the hub link (whose own field stays empty here).
    #[serde(flatten)]
    pub settings: ShellSettings,
    /// Which hub and counter, without the keys.
    #[serde(default)]
    pub hub: Option<HubView>,
}

impl From<ShellSettings> for ShellSettingsView {
    fn from(mut settings: ShellSettings) -> Self {
        let hub = settings.hub.take().as_ref().map(HubView::from);
        Self { settings, hub }
    }
}

impl ShellSettings {
    /// Reads the store; missing or unreadable settings are the defaults.
    pub(crate) fn load<R: Runtime>(app: &AppHandle<R>) -> Self {
        app.store(FILE)
            .ok()
            .and_then(|s| s.get(KEY))
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// Writes the store to disk.
    pub(crate) fn save<R: Runtime>(&self, app: &AppHandle<R>) -> Result<(), String> {
        let store = app.store(FILE).map_err(|e| e.to_string())?;
        store.set(KEY, serde_json::to_value(self).map_err(|e| e.to_string())?);
        store.save().map_err(|e| e.to_string())?;
        // The store writes with the default mode; the settings are the owner's alone.
        if let Ok(dir) = app.path().app_data_dir() {
            let _ = stablepay_core::store::restrict(&dir.join(FILE));
        }
        Ok(())
    }

    /// Checks values coming from the UI.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(bind) = &self.server_bind {
            bind.parse::<std::net::SocketAddr>().map_err(|_| {
                format!("server bind {bind:?} is not an address like 127.0.0.1:8080")
            })?;
        }
        for (what, value) in [("token", &self.last_token), ("network", &self.last_network)] {
            if let Some(v) = value {
                let plain = !v.is_empty()
                    && v.len() <= 32
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if !plain {
                    return Err(format!("last {what} {v:?} is not a token or network id"));
                }
            }
        }
        if let Some(lang) = &self.language {
            if !["en", "zh-CN"].contains(&lang.as_str()) {
                return Err(format!("language {lang:?} is not en or zh-CN"));
            }
        }
        Ok(())
    }

    /// The bind the shell asks for, over the config file (the environment still wins): the
    /// chosen address, or with LAN exposure every interface on that address's port.
    pub(crate) fn bind_setting(&self) -> Option<String> {
        let bind = self.server_bind.as_ref()?;
        Some(if self.lan {
            let port = bind.rsplit(':').next().unwrap_or_default();
            format!("0.0.0.0:{port}")
        } else {
            bind.clone()
        })
    }

    /// LAN exposure with no address chosen: the configured bind, on every interface.
    pub(crate) fn lan_on_configured_port(&self) -> bool {
        self.lan && self.server_bind.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lan_exposure_binds_every_interface_on_the_chosen_port() {
        let s = ShellSettings {
            server_bind: Some("127.0.0.1:9000".into()),
            lan: true,
            ..Default::default()
        };
        assert_eq!(s.bind_setting().as_deref(), Some("0.0.0.0:9000"));
        assert!(!s.lan_on_configured_port());
        let s = ShellSettings {
            lan: true,
            ..Default::default()
        };
        assert_eq!(s.bind_setting(), None);
        assert!(s.lan_on_configured_port());
        assert_eq!(ShellSettings::default().bind_setting(), None);
    }

    #[test]
    fn bad_values_from_the_ui_are_refused_with_a_reason() {
        let s = ShellSettings {
            server_bind: Some("localhost".into()),
            ..Default::default()
        };
        assert!(s.validate().unwrap_err().contains("not an address"));
        let s = ShellSettings {
            language: Some("fr".into()),
            ..Default::default()
        };
        assert!(s.validate().is_err());
        let s = ShellSettings {
            last_token: Some("USDT\"; rm".into()),
            ..Default::default()
        };
        assert!(s.validate().unwrap_err().contains("last token"));
        assert!(ShellSettings::default().validate().is_ok());
    }

    #[test]
    fn the_ui_sees_the_hub_link_without_its_keys_and_cannot_send_one() {
        let stored = ShellSettings {
            lan: true,
            hub: Some(HubLink {
                url: crate::hub::HubOrigin::parse("https://hub.shop.lan").unwrap(),
                counter_id: "ctr_1".into(),
                counter_name: "Counter 1".into(),
                token: "secret-cashier-key-0123456789".into(),
                push_key: "0a0b".into(),
            }),
            ..Default::default()
        };
        let shown = serde_json::to_value(ShellSettingsView::from(stored.clone())).unwrap();
        assert_eq!(shown["hub"]["counter_name"], "Counter 1");
        assert_eq!(shown["hub"]["url"], "https://hub.shop.lan");
        assert!(!shown.to_string().contains("secret") && !shown.to_string().contains("0a0b"));
        // What the UI sends back (its view, or a made-up link with a key) carries no link.
        let mut sent = shown.clone();
        sent["hub"]["token"] = "another-key-0123456789abcdef".into();
        let back: ShellSettingsView = serde_json::from_value(sent).unwrap();
        assert!(back.settings.hub.is_none() && back.settings.lan);
        // The store itself keeps the key.
        let kept: ShellSettings =
            serde_json::from_value(serde_json::to_value(&stored).unwrap()).unwrap();
        assert_eq!(kept, stored);
    }

    #[test]
    fn stored_json_missing_fields_reads_as_defaults() {
        let s: ShellSettings = serde_json::from_str(r#"{"lan":true}"#).unwrap();
        assert!(s.lan && s.server_bind.is_none() && s.window.is_none() && s.hub.is_none());
    }
}
