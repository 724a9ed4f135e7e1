//! What clients may send on the sockets (`/ws/payments/{id}`, `/ws/display`, `/ws/monitor`):
//! `{"type":"ping"}` (answered with `pong`) and `{"type":"pong"}` (an answer to the server's
//! heartbeat). Anything else is parsed no further: valid JSON of another type is logged and refused
//! with an `error` message, and text that is not JSON is refused the same way. Parsing never fails.

use serde_json::Value;

/// A client message.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `{"type":"ping"}`: answer with a pong.
    Ping(Value),
    /// `{"type":"pong"}`: the client is alive.
    Pong(Value),
    /// JSON, but not a message the server knows.
    Unknown(Value),
    /// Not JSON at all.
    Invalid,
}

impl ClientMessage {
    /// Classifies `text`.
    pub fn parse(text: &str) -> Self {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return ClientMessage::Invalid;
        };
        match value.get("type").and_then(Value::as_str) {
            Some("ping") => ClientMessage::Ping(value),
            Some("pong") => ClientMessage::Pong(value),
            _ => ClientMessage::Unknown(value),
        }
    }

    /// The JSON, when there was any (for the message log).
    pub fn json(&self) -> Option<&Value> {
        match self {
            ClientMessage::Ping(v) | ClientMessage::Pong(v) | ClientMessage::Unknown(v) => Some(v),
            ClientMessage::Invalid => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_pongs_and_everything_else_are_told_apart() {
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"ping"}"#),
            ClientMessage::Ping(_)
        ));
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"pong","x":1}"#),
            ClientMessage::Pong(_)
        ));
        assert!(matches!(
            ClientMessage::parse(r#"{"type":"subscribe"}"#),
            ClientMessage::Unknown(_)
        ));
        assert!(matches!(
            ClientMessage::parse(r#"[1,2]"#),
            ClientMessage::Unknown(_)
        ));
        assert_eq!(ClientMessage::parse("ping"), ClientMessage::Invalid);
        assert_eq!(ClientMessage::parse(""), ClientMessage::Invalid);
    }
}
