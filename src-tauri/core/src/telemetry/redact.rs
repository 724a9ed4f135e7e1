//! Endpoint URLs as they may be shown: `scheme://host:port`, without paths, queries or user info,
//! which may carry a provider's key.

/// `scheme://host[:port]` of a URL: never shows paths or query strings, which may carry API keys.
pub fn redact_endpoint(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    if scheme.is_empty() {
        host.to_string()
    } else {
        format!("{scheme}://{host}")
    }
}

/// `text` (an error message) with every URL in it shown as [`redact_endpoint`] shows it (scheme,
/// host and port): HTTP clients put the URL they called, provider key and all, in their errors.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = ["http://", "https://", "ws://", "wss://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || "()\"'<>,;[]{}".contains(c))
            .unwrap_or(tail.len());
        out.push_str(&redact_endpoint(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}
