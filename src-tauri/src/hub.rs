//! Terminal mode's link to a hub: the hub's origin ([`HubOrigin`], parsed once from what the owner
//! typed), pairing this app as a named counter with a code from the hub (`POST
//! /api/v1/counters/pair`), and the link kept in the shell settings ([`HubLink`]).
//!
//! The link holds the counter's cashier-role key and the hub's push key. The key never goes to a
//! window through the settings ([`HubView`] is what the UI sees); the windows get it only through
//! `session_token`, like the per-launch keys of local mode.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stablepay_core::access::ApiKey;
use tauri::{AppHandle, Runtime, Url};

use crate::settings::ShellSettings;

/// How long pairing waits for the hub before giving up.
const PAIR_TIMEOUT: Duration = Duration::from_secs(10);

/// A hub's origin, e.g. `https://hub.shop.lan` or `http://127.0.0.1:8080`: http or https, a host,
/// no user, path, query or fragment. Kept in its serialized form (no trailing slash), which is what
/// a window's origin is compared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct HubOrigin(String);

impl HubOrigin {
    /// Parses what the owner typed; the error says what is wrong with it.
    pub(crate) fn parse(input: &str) -> Result<Self, String> {
        let input = input.trim();
        let url = Url::parse(input).map_err(|e| {
            format!("{input:?} is not a hub address like https://hub.shop.lan ({e})")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "the hub address {input:?} must start with http:// or https://"
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("the hub address {input:?} names no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "the hub address {input:?} must not carry a user name or password"
            ));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "the hub address {input:?} must be the server's address alone, with no path (like https://hub.shop.lan)"
            ));
        }
        Ok(Self(url.origin().ascii_serialization()))
    }

    /// `scheme://host[:port]`, without a trailing slash.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HubOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for HubOrigin {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<HubOrigin> for String {
    fn from(o: HubOrigin) -> Self {
        o.0
    }
}

/// This app paired as a counter of a hub: where, as which counter, and the keys it got.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct HubLink {
    /// The hub's origin.
    pub url: HubOrigin,
    /// The counter's id on the hub (`ctr_…`).
    pub counter_id: String,
    /// The counter's name, carried by its sales.
    pub counter_name: String,
    /// The counter's cashier-role key (never shown to the UI).
    pub token: String,
    /// The public key the hub signs socket messages with (hex).
    pub push_key: String,
}

impl fmt::Debug for HubLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubLink")
            .field("url", &self.url)
            .field("counter_id", &self.counter_id)
            .field("counter_name", &self.counter_name)
            .finish_non_exhaustive()
    }
}

/// What the UI sees of the link: no key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct HubView {
    /// The hub's origin.
    pub url: String,
    /// The counter's id on the hub.
    pub counter_id: String,
    /// The counter's name.
    pub counter_name: String,
}

impl From<&HubLink> for HubView {
    fn from(link: &HubLink) -> Self {
        Self {
            url: link.url.to_string(),
            counter_id: link.counter_id.clone(),
            counter_name: link.counter_name.clone(),
        }
    }
}

/// The hub's answer to a pairing.
#[derive(Deserialize)]
struct Paired {
    id: String,
    name: String,
    token: String,
    push_key: String,
}

/// The API's error body: `{"error": {"code", "message"}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

/// Pairs this app with the hub at `origin` as the counter `name`, with the six-digit `code` the
/// hub's owner was given. The error is the hub's own message (a wrong or expired code, a bad name),
/// or says that the hub cannot be reached.
pub(crate) async fn pair(origin: &HubOrigin, code: &str, name: &str) -> Result<HubLink, String> {
    let client = reqwest::Client::builder()
        .timeout(PAIR_TIMEOUT)
        // A hub that sends elsewhere (http to https, say) is named by the address it sends to: the
        // windows will be kept on the origin stored here.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let answer = client
        .post(format!("{origin}/api/v1/counters/pair"))
        .json(&serde_json::json!({ "code": code.trim(), "name": name.trim() }))
        .send()
        .await
        .map_err(|e| format!("cannot reach the hub at {origin}: {}", cause(&e)))?;
    let status = answer.status();
    if status.is_redirection() {
        let to = answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("another address");
        return Err(format!(
            "the hub at {origin} sends to {to}: use that address"
        ));
    }
    if status != reqwest::StatusCode::CREATED {
        let message = answer
            .json::<ErrorBody>()
            .await
            .ok()
            .map(|b| b.error.message);
        return Err(message
            .unwrap_or_else(|| format!("{origin} answered {status}: is it a StablePay hub?")));
    }
    let paired: Paired = answer
        .json()
        .await
        .map_err(|e| format!("the hub at {origin} answered the pairing unreadably: {e}"))?;
    ApiKey::parse(&paired.token)
        .map_err(|e| format!("the hub at {origin} gave a key this app cannot use: {e}"))?;
    let hex_key =
        !paired.push_key.is_empty() && paired.push_key.chars().all(|c| c.is_ascii_hexdigit());
    if !hex_key {
        return Err(format!("the hub at {origin} gave no push key"));
    }
    Ok(HubLink {
        url: origin.clone(),
        counter_id: paired.id,
        counter_name: paired.name,
        token: paired.token,
        push_key: paired.push_key,
    })
}

/// Forgets the link and restarts the app on its in-process server (local mode). Without a link,
/// nothing happens.
pub(crate) fn detach<R: Runtime>(app: &AppHandle<R>) -> Result<(), String> {
    let mut settings = ShellSettings::load(app);
    let Some(link) = settings.hub.take() else {
        return Ok(());
    };
    settings.save(app)?;
    tracing::info!(hub = %link.url, counter = %link.counter_id, "detached from the hub");
    app.request_restart();
    Ok(())
}

/// The innermost cause of a request failure (reqwest's own message names only the URL).
fn cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    if e.is_timeout() {
        format!("no answer in {} s", PAIR_TIMEOUT.as_secs())
    } else {
        source.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn a_hub_address_is_kept_as_its_origin() {
        for (typed, origin) in [
            ("https://hub.shop.lan", "https://hub.shop.lan"),
            ("https://hub.shop.lan/", "https://hub.shop.lan"),
            (" http://127.0.0.1:8080 ", "http://127.0.0.1:8080"),
            ("https://Hub.Shop.LAN:443/", "https://hub.shop.lan"),
        ] {
            assert_eq!(HubOrigin::parse(typed).unwrap().as_str(), origin);
        }
    }

    #[test]
    fn a_hub_address_with_a_path_or_another_scheme_is_refused_with_a_reason() {
        for (typed, reason) in [
            ("hub.shop.lan", "not a hub address"),
            ("ftp://hub.shop.lan", "http:// or https://"),
            ("https://hub.shop.lan/pos", "no path"),
            ("https://hub.shop.lan/?a=1", "no path"),
            ("https://hub.shop.lan/#/display", "no path"),
            ("https://owner:pw@hub.shop.lan", "user name"),
            ("file:///etc/passwd", "http:// or https://"),
        ] {
            let e = HubOrigin::parse(typed).unwrap_err();
            assert!(e.contains(reason), "{typed}: {e}");
        }
    }

    #[test]
    fn the_link_never_prints_its_key() {
        let link = HubLink {
            url: HubOrigin::parse("https://hub.shop.lan").unwrap(),
            counter_id: "ctr_1".into(),
            counter_name: "Counter 1".into(),
            token: "secret-cashier-key-0123456789".into(),
            push_key: "ab".into(),
        };
        assert!(!format!("{link:?}").contains("secret"));
        let view = serde_json::to_value(HubView::from(&link)).unwrap();
        assert!(!view.to_string().contains("secret"));
    }

    /// A one-request HTTP server on loopback that answers `status` with `body`.
    async fn hub_answering(status: &'static str, body: &'static str) -> HubOrigin {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0; 8192];
            let _ = socket.read(&mut request).await;
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
        });
        HubOrigin::parse(&format!("http://{addr}")).unwrap()
    }

    #[tokio::test]
    async fn pairing_keeps_the_counter_and_its_keys() {
        let hub = hub_answering(
            "201 Created",
            r#"{"id":"ctr_0123","name":"Counter 1","token":"k_cashier_0123456789abcdef0123456789","push_key":"0a1b2c"}"#,
        )
        .await;
        let link = pair(&hub, "123456", "Counter 1").await.unwrap();
        assert_eq!(link.counter_id, "ctr_0123");
        assert_eq!(link.counter_name, "Counter 1");
        assert_eq!(link.token, "k_cashier_0123456789abcdef0123456789");
        assert_eq!(link.url, hub);
    }

    #[tokio::test]
    async fn a_refused_code_gives_the_hubs_own_message() {
        let hub = hub_answering(
            "403 Forbidden",
            r#"{"error":{"code":"pairing_refused","message":"This pairing code is wrong or has expired."}}"#,
        )
        .await;
        let e = pair(&hub, "000000", "Counter 1").await.unwrap_err();
        assert_eq!(e, "This pairing code is wrong or has expired.");
    }

    #[tokio::test]
    async fn a_hub_that_is_not_there_is_named() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let hub = HubOrigin::parse(&format!("http://{addr}")).unwrap();
        let e = pair(&hub, "123456", "Counter 1").await.unwrap_err();
        assert!(
            e.starts_with(&format!("cannot reach the hub at http://{addr}")),
            "{e}"
        );
    }
}
