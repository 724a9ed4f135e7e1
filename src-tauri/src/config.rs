//! The app's configuration: the same layers as the headless server (`stablepay_core::config`),
//! with the app's own database default and its settings' bind (the environment still wins); LAN
//! exposure turns on a self-signed certificate unless the configuration says otherwise.

use std::path::PathBuf;

use stablepay_core::config::{Config, Layers, Tls};
use stablepay_server::reload::ConfigSource;

use crate::settings::ShellSettings;

/// The configuration through the same layers as the headless server, with the app's own: its
/// database in the app-data folder unless the file or the environment says otherwise, and the
/// shell settings' bind over the file (the environment still wins). With it, where settings saved in
/// the app go: `$STABLEPAY_CONFIG`, else `stablepay.toml` in the app-data folder (made on the first
/// save, so a new owner never edits a file by hand).
pub(crate) fn load_config(
    app_data: &std::path::Path,
    shell: &ShellSettings,
) -> anyhow::Result<(Config, ConfigSource)> {
    let file = std::env::var_os("STABLEPAY_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| app_data.join("stablepay.toml"));
    let env: Vec<(String, String)> = std::env::vars().collect();
    let env_binds = env.iter().any(|(k, _)| k == "STABLEPAY_SERVER__BIND");
    let layers = Layers {
        file: Some(file.clone()).filter(|p| p.is_file()),
        host_defaults: vec![(
            "database.path",
            app_data.join("stablepay.db").display().to_string(),
        )],
        host_overrides: shell
            .bind_setting()
            .map(|bind| ("server.bind", bind))
            .into_iter()
            .collect(),
        env,
        ..Layers::default()
    };
    let mut config = Config::layered(layers.clone())?;
    if shell.lan_on_configured_port() && !env_binds {
        config
            .server
            .bind
            .set_ip(std::net::Ipv4Addr::UNSPECIFIED.into());
    }
    if !config.server.bind.ip().is_loopback() && config.server.tls == Tls::Unset {
        config.server.tls = Tls::SelfSigned;
    }
    Ok((config, ConfigSource { file, layers }))
}
