//! What clients may send on the sockets (`/ws/payments/{id}`, `/ws/display`, `/ws/monitor`):
//! `{"type":"ping"}` (answered with `pong`) and `{"type":"pong"}` (an answer to the server's
//! heartbeat). Anything else is parsed no further: valid JSON of another type is logged and refused
//! with an `error` message, and text that is not JSON is refused the same way. Parsing never fails.

use std::time::{Duration, Instant};

use serde_json::Value;

/// How much of a client's non-JSON text the message log keeps.
pub const LOGGED_TEXT: usize = 200;

/// Messages a client may send on one socket per [`MESSAGE_WINDOW`]; more closes the socket (1008).
pub const MESSAGE_BURST: u32 = 20;
/// See [`MESSAGE_BURST`].
pub const MESSAGE_WINDOW: Duration = Duration::from_secs(10);

/// What one socket's client may still send in the current window.
#[derive(Debug)]
pub struct MessageBudget {
    window_start: Instant,
    used: u32,
}

impl Default for MessageBudget {
    fn default() -> Self {
        Self {
            window_start: Instant::now(),
            used: 0,
        }
    }
}

impl MessageBudget {
    /// Counts one message; `false` when the client is over its budget.
    pub fn spend(&mut self) -> bool {
        if self.window_start.elapsed() >= MESSAGE_WINDOW {
            *self = Self::default();
        }
        self.used += 1;
        self.used <= MESSAGE_BURST
    }
}

/// A client message.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `{"type":"ping"}`: answer with a pong.
    Ping(Value),
    /// `{"type":"pong"}`: the client is alive.
    Pong(Value),
    /// JSON, but not a message the server knows.
    Unknown(Value),
    /// Not JSON at all: its first [`LOGGED_TEXT`] characters, for the message log.
    Invalid(String),
}

impl ClientMessage {
    /// Classifies `text`.
    pub fn parse(text: &str) -> Self {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return ClientMessage::Invalid(text.chars().take(LOGGED_TEXT).collect());
        };
        match value.get("type").and_then(Value::as_str) {
            Some("ping") => ClientMessage::Ping(value),
            Some("pong") => ClientMessage::Pong(value),
            _ => ClientMessage::Unknown(value),
        }
    }

    /// The message as the message log keeps it: the JSON, or for text that is not JSON an
    /// `invalid_message` holding the start of the text.
    pub fn logged(&self) -> Value {
        match self {
            ClientMessage::Ping(v) | ClientMessage::Pong(v) | ClientMessage::Unknown(v) => {
                v.clone()
            }
            ClientMessage::Invalid(text) => {
                serde_json::json!({ "type": "invalid_message", "data": { "text": text } })
            }
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
        assert_eq!(
            ClientMessage::parse("ping"),
            ClientMessage::Invalid("ping".into())
        );
        assert_eq!(
            ClientMessage::parse(""),
            ClientMessage::Invalid(String::new())
        );
        let long = "x".repeat(1000);
        assert_eq!(
            ClientMessage::parse(&long).logged()["data"]["text"]
                .as_str()
                .unwrap()
                .len(),
            LOGGED_TEXT
        );
    }

    #[test]
    fn a_client_flooding_a_socket_is_over_budget() {
        let mut budget = super::MessageBudget::default();
        for _ in 0..super::MESSAGE_BURST {
            assert!(budget.spend());
        }
        assert!(!budget.spend());
    }
}
