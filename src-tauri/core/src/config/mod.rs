//! Configuration, in layers (lowest first): the built-in defaults; what the host prefers over them
//! (`Layers::host_defaults`, e.g. the desktop app's database in its app-data folder); the TOML file;
//! what the host's own settings say (`Layers::host_overrides`, e.g. the desktop app's LAN switch);
//! `STABLEPAY_<SECTION>__<KEY>` environment variables; command-line flags. The layers are merged
//! with figment, then each section is validated into its typed form (`TryFrom<Raw…>`, in the
//! section's own module), and every error names the key.
//!
//! Each key is declared once, in its section's raw struct, with its type and default
//! ([`section!`]); the environment needs no list of its own. Lists can be given in the environment
//! as comma-separated values (`STABLEPAY_SERVER__API_KEYS=key1,key2`). `[[networks]]` and
//! `[[tokens]]` in the file replace the built-in BSC lists; the array sections (`networks`,
//! `tokens`, `webhooks`) cannot be set from the environment.

mod alerts;
mod chain;
pub mod compat;
pub mod edit;
mod merchant;
mod payments;
mod presets;
pub mod pricing;
mod receipts;
mod server;
#[cfg(test)]
mod tests;
pub mod tips;
mod webhooks;

use std::path::{Path, PathBuf};

use figment::{
    providers::{Format, Serialized, Toml},
    value::{Dict, Map, Value},
    Figment, Metadata, Profile, Provider,
};
use serde::Deserialize;

pub use self::{
    chain::{ChainConfig, NetworkRule},
    merchant::{DatabaseConfig, MerchantConfig},
    payments::PaymentsConfig,
    receipts::ReceiptsConfig,
    server::{ServerConfig, Tls},
    webhooks::WebhookConfig,
};
use crate::{
    catalog::{Network, Token},
    error::CoreError,
    webhooks::target::TargetPolicy,
};

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "STABLEPAY_";

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[server]`
    pub server: ServerConfig,
    /// `[database]`
    pub database: DatabaseConfig,
    /// `[merchant]`
    pub merchant: MerchantConfig,
    /// `[payments]`
    pub payments: PaymentsConfig,
    /// `[chain]`
    pub chain: ChainConfig,
    /// `[[networks]]`
    pub networks: Vec<Network>,
    /// `[[tokens]]`
    pub tokens: Vec<Token>,
    /// `[[webhooks]]`
    pub webhooks: Vec<WebhookConfig>,
    /// `[webhook_targets]`: private addresses webhooks added through the API may reach.
    pub webhook_targets: TargetPolicy,
    /// `[alerts]`: the thresholds the monitoring alerts fire at.
    pub alerts: crate::alerts::AlertRules,
    /// `[pricing]`: the shop's currency and its rate source.
    pub pricing: pricing::PricingConfig,
    /// `[receipts]`: the receipt's shop lines and the receipt printer.
    pub receipts: receipts::ReceiptsConfig,
    /// `[tips]`: the tip choices the customer display offers.
    pub tips: tips::TipsConfig,
    /// `[compat.epusdt]`: other systems' protocols StablePay speaks.
    pub compat: compat::CompatConfig,
}

/// Declares a raw section of the file: each key once, with its type and its default.
macro_rules! section {
    (
        $(#[$meta:meta])*
        struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $default:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub(crate) struct $name {
            $( $(#[$fmeta])* pub(crate) $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }
    };
}
pub(crate) use section;

/// The file's sections as written, before validation.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct RawConfig {
    server: server::RawServer,
    database: merchant::RawDatabase,
    merchant: merchant::RawMerchant,
    payments: payments::RawPayments,
    chain: chain::RawChain,
    alerts: alerts::RawAlerts,
    pricing: pricing::RawPricing,
    receipts: receipts::RawReceipts,
    tips: tips::RawTips,
    compat: compat::RawCompat,
    networks: Option<Vec<chain::RawNetwork>>,
    tokens: Option<Vec<chain::RawToken>>,
    webhooks: Vec<webhooks::RawWebhook>,
    webhook_targets: webhooks::RawWebhookTargets,
}

/// An error naming the key: `key: reason`.
pub(crate) fn bad(key: &str, reason: impl Into<String>) -> CoreError {
    CoreError::Config(format!("{key}: {}", reason.into()))
}

/// Whether `s` is a URL of one of `schemes` with something after the scheme.
pub(crate) fn is_url(s: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|scheme| {
        s.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
    })
}

/// A list key: a TOML array, or (from the environment) comma-separated values.
pub(crate) fn list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<String>),
        One(String),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::Many(items) => items,
        OneOrMany::One(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    })
}

/// Where a configuration comes from (see the module documentation for the order).
#[derive(Debug, Default, Clone)]
pub struct Layers {
    /// The TOML file; `None`: none (only defaults and overrides).
    pub file: Option<PathBuf>,
    /// TOML text instead of a file.
    pub text: Option<String>,
    /// `(key, value)` the host prefers over the built-in defaults, e.g. `("database.path", …)`.
    pub host_defaults: Vec<(&'static str, String)>,
    /// `(key, value)` from the host's own settings, over the file but under the environment.
    pub host_overrides: Vec<(&'static str, String)>,
    /// The process environment (variables without the prefix and a `__` are ignored).
    pub env: Vec<(String, String)>,
    /// `(key, value)` from command-line flags, over everything.
    pub flags: Vec<(&'static str, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Self::from_toml_str("", std::iter::empty()).expect("built-in defaults are valid")
    }
}

impl Config {
    /// Reads `path` (or only defaults when `None`) and applies `env` overrides.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, CoreError> {
        Self::layered(Layers {
            file: path.map(Path::to_path_buf),
            env: env.into_iter().collect(),
            ..Layers::default()
        })
    }

    /// Parses TOML text and applies `env` overrides.
    pub fn from_toml_str(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, CoreError> {
        Self::layered(Layers {
            text: Some(text.to_string()),
            env: env.into_iter().collect(),
            ..Layers::default()
        })
    }

    /// Merges `layers` and validates the result.
    pub fn layered(layers: Layers) -> Result<Self, CoreError> {
        let file_text = match &layers.file {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                CoreError::Config(format!("cannot read config file {}: {e}", path.display()))
            })?),
            None => layers.text.clone(),
        };
        let keyed = |figment: Figment, pairs: &[(&'static str, String)]| {
            pairs.iter().fold(figment, |f, (key, value)| {
                f.merge(Serialized::default(key, value))
            })
        };
        let mut figment = keyed(Figment::new(), &layers.host_defaults);
        if let Some(text) = &file_text {
            figment = figment.merge(Toml::string(text));
        }
        let figment = keyed(figment, &layers.host_overrides).merge(Environment::new(&layers.env));
        let figment = keyed(figment, &layers.flags);
        let in_file = |e: CoreError| match (e, &layers.file) {
            (CoreError::Config(m), Some(p)) => CoreError::Config(format!("{}: {m}", p.display())),
            (e, _) => e,
        };
        let raw: RawConfig = figment
            .extract_lossy()
            .map_err(|e| in_file(CoreError::Config(describe(e, &layers.env))))?;
        raw.validate().map_err(in_file)
    }
}

impl RawConfig {
    fn validate(self) -> Result<Config, CoreError> {
        let server = ServerConfig::try_from(self.server)?;
        let database = DatabaseConfig::try_from(self.database)?;
        let merchant = MerchantConfig::try_from(self.merchant)?;
        let payments = PaymentsConfig::try_from(self.payments)?;
        let chain = ChainConfig::try_from(self.chain)?;
        let (networks, preset_tokens, rules) = chain::networks_and_presets(self.networks)?;
        let mut payments = payments;
        payments.network_rules = rules;
        let tokens = chain::tokens_with_presets(self.tokens, preset_tokens, &networks, &payments)?;
        let webhooks = self
            .webhooks
            .into_iter()
            .enumerate()
            .map(|(i, w)| WebhookConfig::parse(i, w))
            .collect::<Result<_, _>>()?;
        let webhook_targets = self.webhook_targets.try_into()?;
        let alerts = self.alerts.try_into()?;
        let pricing = self.pricing.try_into()?;
        let receipts = self.receipts.try_into()?;
        let tips: tips::TipsConfig = self.tips.try_into()?;
        payments.tip_choices = tips.choices.clone();
        let compat = self.compat.try_into()?;
        Ok(Config {
            server,
            database,
            merchant,
            payments,
            chain,
            networks,
            tokens,
            webhooks,
            webhook_targets,
            alerts,
            pricing,
            receipts,
            tips,
            compat,
        })
    }
}

/// `STABLEPAY_<SECTION>__<KEY>` variables, each value as the text it is (a shop name of digits
/// stays a name; numbers and booleans are read from text where a key wants one).
struct Environment(Dict);

impl Environment {
    fn new(vars: &[(String, String)]) -> Self {
        let mut sections = Dict::new();
        for (name, value) in vars {
            let Some((section, key)) = name
                .strip_prefix(ENV_PREFIX)
                .and_then(|rest| rest.split_once("__"))
            else {
                continue;
            };
            let entry = sections
                .entry(section.to_ascii_lowercase())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, dict) = entry {
                dict.insert(key.to_ascii_lowercase(), Value::from(value.clone()));
            }
        }
        Self(sections)
    }
}

impl Provider for Environment {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment").interpolater(|_, keys: &[&str]| env_name(keys))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.0.clone()))
    }
}

/// A file key path as the errors spell it: `tokens[0].network`.
fn dotted(path: &[&str]) -> String {
    let mut out = String::new();
    for part in path {
        if part.bytes().all(|b| b.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// The variable that sets `keys` (`["server", "bind"]` → `STABLEPAY_SERVER__BIND`).
fn env_name(keys: &[&str]) -> String {
    let upper: Vec<String> = keys.iter().map(|k| k.to_ascii_uppercase()).collect();
    format!("{ENV_PREFIX}{}", upper.join("__"))
}

/// Figment's errors in this module's words: `key: reason`, the key spelled as its source spells
/// it (a variable's name for the environment).
fn describe(errors: figment::Error, env: &[(String, String)]) -> String {
    let mut lines = Vec::new();
    for e in errors {
        let from_env = e.metadata.as_ref().is_some_and(|m| m.name == "environment");
        let mut path: Vec<&str> = e.path.iter().map(String::as_str).collect();
        let unknown = match &e.kind {
            figment::error::Kind::UnknownField(field, _) => Some(field.clone()),
            _ => None,
        };
        if let Some(field) = &unknown {
            if path.last() != Some(&field.as_str()) {
                path.push(field);
            }
        }
        let key = if from_env {
            let name = env_name(&path);
            // An unknown section: name the variable that introduced it.
            env.iter()
                .map(|(n, _)| n)
                .find(|n| n.to_ascii_uppercase().starts_with(&format!("{name}__")))
                .cloned()
                .unwrap_or(name)
        } else {
            dotted(&path)
        };
        let reason = match &e.kind {
            figment::error::Kind::UnknownField(..) => {
                "unknown setting (see the README's configuration reference)".to_string()
            }
            figment::error::Kind::InvalidType(actual, expected) => {
                format!("expected {expected}, got {actual}")
            }
            other => other.to_string(),
        };
        lines.push(if key.is_empty() {
            reason
        } else {
            format!("{key}: {reason}")
        });
    }
    lines.join("; ")
}
