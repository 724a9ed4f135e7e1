//! What a failed JSON-RPC call means, decided by JSON-RPC error code, HTTP status and method — never
//! by the message alone where a code says more. Public BSC endpoints answer in many dialects:
//! `bsc-dataseed` refuses `eth_getLogs` with `-32005 limit exceeded`, providers rate-limit with HTTP
//! 429 (and `Retry-After`) or `-32005`, and nodes refuse large log ranges with `-32005` or `-32602`
//! and a message about the range or the result size.

use std::time::Duration;

use alloy::transports::{RpcError, TransportError, TransportErrorKind};

/// The method whose range refusals the watcher handles by shrinking the range.
pub(crate) const GET_LOGS: &str = "eth_getLogs";

/// One failed call, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// `eth_getLogs` only: the block range or its result is too large; ask for less.
    RangeRefused,
    /// Too many requests: back off from this endpoint (for `Retry-After`, when it says).
    RateLimited(Option<Duration>),
    /// The endpoint does not serve this method (or this block tag).
    MethodUnavailable,
    /// The block, transaction or receipt asked for is not there (yet): some nodes say so with an
    /// error instead of `null`.
    NotFound,
    /// The node ran the call and it reverted (`eth_call`): an answer, not a failing endpoint.
    Reverted,
    /// No answer in time.
    TimedOut,
    /// Anything else: connection refused, server error, a malformed answer.
    Failed,
}

/// Messages that mean "ask for a smaller range" on `eth_getLogs`.
const RANGE_MESSAGES: &[&str] = &[
    "block range",
    "range too large",
    "range is too large",
    "exceed maximum block range",
    "query returned more than",
    "too many results",
    "too many logs",
    "response size",
    "result set too large",
    "max results",
];

/// Messages that mean "slow down".
const RATE_MESSAGES: &[&str] = &[
    "rate limit",
    "too many requests",
    "limit exceeded",
    "request count exceeded",
    "exceeded the quota",
    "capacity exceeded",
    "throttled",
];

/// Messages that mean "this endpoint does not serve that".
const UNAVAILABLE_MESSAGES: &[&str] = &[
    "method not found",
    "does not exist",
    "not supported",
    "unsupported method",
    "not available",
    "is disabled",
    "not allowed",
    "invalid block tag",
    "unknown block",
];

fn mentions(message: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| message.contains(n))
}

/// Classifies the error of a call to `method`.
pub(crate) fn classify(method: &str, error: &TransportError) -> Fault {
    let logs = method == GET_LOGS;
    match error {
        RpcError::ErrorResp(payload) => {
            let message = payload.message.to_ascii_lowercase();
            match payload.code {
                _ if logs && mentions(&message, RANGE_MESSAGES) => Fault::RangeRefused,
                -32601 => Fault::MethodUnavailable,
                3 => Fault::Reverted,
                _ if message.contains("execution reverted") => Fault::Reverted,
                -32000 | -32001 if message.contains("not found") => Fault::NotFound,
                -32005 | -32029 | -32090 => Fault::RateLimited(None),
                _ if mentions(&message, RATE_MESSAGES) => Fault::RateLimited(None),
                _ if mentions(&message, UNAVAILABLE_MESSAGES) => Fault::MethodUnavailable,
                _ => Fault::Failed,
            }
        }
        RpcError::Transport(kind) => match kind.as_http_error() {
            Some(http) => match http.status {
                429 => Fault::RateLimited(kind.retry_after()),
                413 if logs => Fault::RangeRefused,
                405 | 501 => Fault::MethodUnavailable,
                503 if kind.retry_after().is_some() => Fault::RateLimited(kind.retry_after()),
                _ => Fault::Failed,
            },
            None if matches!(kind, TransportErrorKind::Custom(e) if e.to_string().contains("429")) => {
                Fault::RateLimited(None)
            }
            None => Fault::Failed,
        },
        _ => Fault::Failed,
    }
}

#[cfg(test)]
mod tests {
    use alloy::rpc::json_rpc::ErrorPayload;

    use super::*;

    fn rpc_error(code: i64, message: &str) -> TransportError {
        RpcError::ErrorResp(ErrorPayload {
            code,
            message: message.to_string().into(),
            data: None,
        })
    }

    #[test]
    fn bsc_dataseed_refusing_logs_is_a_rate_limit_not_a_range_refusal() {
        let e = rpc_error(-32005, "limit exceeded");
        assert_eq!(classify(GET_LOGS, &e), Fault::RateLimited(None));
        assert_eq!(
            classify("eth_getBlockByNumber", &e),
            Fault::RateLimited(None)
        );
    }

    #[test]
    fn a_range_refusal_counts_only_for_get_logs() {
        let e = rpc_error(-32005, "query returned more than 10000 results");
        assert_eq!(classify(GET_LOGS, &e), Fault::RangeRefused);
        let e = rpc_error(-32602, "exceed maximum block range: 5000");
        assert_eq!(classify(GET_LOGS, &e), Fault::RangeRefused);
        assert_eq!(classify("eth_getBlockByNumber", &e), Fault::Failed);
    }

    #[test]
    fn http_429_is_a_rate_limit_with_its_retry_after() {
        let e = TransportErrorKind::http_error_with_retry_after(
            429,
            "Too Many Requests".into(),
            Some(Duration::from_secs(7)),
        );
        assert_eq!(
            classify(GET_LOGS, &e),
            Fault::RateLimited(Some(Duration::from_secs(7)))
        );
        let e = TransportErrorKind::http_error(429, String::new());
        assert_eq!(classify("eth_chainId", &e), Fault::RateLimited(None));
    }

    #[test]
    fn an_unknown_method_or_block_tag_is_unavailable_not_a_failure() {
        assert_eq!(
            classify(
                GET_LOGS,
                &rpc_error(-32601, "the method eth_getLogs does not exist")
            ),
            Fault::MethodUnavailable
        );
        assert_eq!(
            classify(
                "eth_getBlockByNumber",
                &rpc_error(-32602, "invalid block tag finalized")
            ),
            Fault::MethodUnavailable
        );
    }

    #[test]
    fn a_header_not_found_error_means_not_there_yet() {
        assert_eq!(
            classify(
                "eth_getBlockByNumber",
                &rpc_error(-32000, "header not found")
            ),
            Fault::NotFound
        );
    }

    #[test]
    fn a_reverted_call_is_an_answer_not_a_failing_endpoint() {
        assert_eq!(
            classify("eth_call", &rpc_error(-32000, "execution reverted")),
            Fault::Reverted
        );
        assert_eq!(
            classify("eth_call", &rpc_error(3, "reverted")),
            Fault::Reverted
        );
    }

    #[test]
    fn server_errors_and_unknown_codes_are_plain_failures() {
        let e = TransportErrorKind::http_error(502, "bad gateway".into());
        assert_eq!(classify(GET_LOGS, &e), Fault::Failed);
        assert_eq!(
            classify("eth_call", &rpc_error(-32000, "out of gas")),
            Fault::Failed
        );
    }
}
