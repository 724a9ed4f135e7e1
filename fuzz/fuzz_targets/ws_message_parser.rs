//! Any text a WebSocket client sends: classified, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stablepay_server::protocol::ClientMessage;

fuzz_target!(|text: &str| {
    let message = ClientMessage::parse(text);
    if let ClientMessage::Ping(v) | ClientMessage::Pong(v) = &message {
        assert!(v.get("type").and_then(|t| t.as_str()).is_some());
    }
});
