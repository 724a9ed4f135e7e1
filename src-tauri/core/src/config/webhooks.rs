//! `[[webhooks]]` (the owner's own endpoints, which may target any address) and
//! `[webhook_targets]` (the private addresses webhooks added through the API may reach).

use super::{bad, is_url, section};
use crate::{error::CoreError, events::EventType, ip::IpRange, webhooks::target::TargetPolicy};

/// One `[[webhooks]]` entry as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    url: String,
    secret: String,
    #[serde(default)]
    events: Vec<String>,
}

section! {
    /// `[webhook_targets]` as written (a table of its own: TOML cannot have a `[webhooks]` table
    /// beside the `[[webhooks]]` list).
    struct RawWebhookTargets {
        #[serde(deserialize_with = "super::list")]
        allowed_private: Vec<String> = vec![],
    }
}

/// One `[[webhooks]]` entry.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Receiver URL.
    pub url: String,
    /// HMAC secret.
    pub secret: String,
    /// Subscribed events.
    pub events: Vec<EventType>,
}

impl WebhookConfig {
    /// Entry `i` of `[[webhooks]]`; no events means all.
    pub(crate) fn parse(i: usize, w: RawWebhook) -> Result<Self, CoreError> {
        let key = |k: &str| format!("webhooks[{i}].{k}");
        if !is_url(&w.url, &["http://", "https://"]) {
            return Err(bad(
                &key("url"),
                format!("{:?} is not an http(s) URL", w.url),
            ));
        }
        if w.secret.len() < 16 {
            return Err(bad(&key("secret"), "needs at least 16 characters"));
        }
        let mut events = w
            .events
            .iter()
            .map(|e| EventType::subscription(e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(&key("events"), e))?;
        if events.is_empty() {
            events = EventType::subscribable();
        }
        Ok(WebhookConfig {
            url: w.url,
            secret: w.secret,
            events,
        })
    }
}

impl TryFrom<RawWebhookTargets> for TargetPolicy {
    type Error = CoreError;

    fn try_from(t: RawWebhookTargets) -> Result<Self, CoreError> {
        let mut policy = TargetPolicy::default();
        for (i, entry) in t.allowed_private.iter().enumerate() {
            let entry = entry.trim().to_ascii_lowercase();
            match IpRange::parse(&entry) {
                Ok(range) => policy.ranges.push(range),
                Err(_)
                    if !entry.is_empty()
                        && entry
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
                {
                    policy.hosts.push(entry)
                }
                Err(_) => {
                    return Err(bad(
                        &format!("webhook_targets.allowed_private[{i}]"),
                        format!("{entry:?} is not an address, a CIDR block or a host name"),
                    ))
                }
            }
        }
        Ok(policy)
    }
}
