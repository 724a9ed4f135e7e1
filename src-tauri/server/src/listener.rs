//! The HTTP listener. axum's own `serve` offers no timeouts, so connections are accepted here:
//!
//! - at most `server.max_connections` at once (a connection over the cap is closed at once);
//! - a client that has not sent its request headers within `server.header_read_timeout_ms` is
//!   dropped (a half-sent request no longer holds a connection);
//! - HTTP/1.1 with upgrades (WebSockets) and HTTP/2;
//! - each request carries the peer's address (`ConnectInfo`), as axum's serve would give it;
//! - on shutdown, no new connections; the open ones finish (at most [`DRAIN`]);
//! - with TLS ([`crate::tls`]), HTTPS and WSS on the same port. The first byte of a connection tells
//!   a TLS handshake from plain HTTP: plain HTTP is still served to peers on this computer (the
//!   desktop app's own windows, a local reverse proxy: loopback traffic cannot be read or changed
//!   from the network), and anyone else is redirected to `https://` (308) and served nothing else.
//!   The handshake must finish within the header-read timeout too.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{header, Request, Response, StatusCode},
    Router,
};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long open connections may take to finish on shutdown.
pub const DRAIN: Duration = Duration::from_secs(10);

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// The listener's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Time a client has to send its request headers.
    pub header_read_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` completes; over TLS too when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<TcpListener> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = limits.max_connections, "connection refused: too many open");
            drop(stream);
            continue;
        };
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let service = TowerToHyperService::new(service);
        let watcher = graceful.watcher();
        match tls.clone() {
            // Plain HTTP: the connection is all the task holds (10,000 sockets are 10,000 tasks).
            None => {
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let connection = watcher.watch(connection);
                tokio::spawn(async move {
                    ended(peer, connection.await);
                    drop(slot);
                });
            }
            Some(acceptor) => {
                let builder = builder.clone();
                tokio::spawn(async move {
                    let timeout = limits.header_read_timeout;
                    if let Some(served) =
                        sniffed(stream, peer, acceptor, timeout, &builder, watcher, service).await
                    {
                        ended(peer, served);
                    }
                    drop(slot);
                });
            }
        }
    }
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after {DRAIN:?}; closing them");
    }
    // Still bound: a server reloading in place takes it over, so connections made meanwhile wait
    // in its backlog instead of being refused. Dropped, it closes.
    Ok(listener)
}

type Served = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn ended(peer: SocketAddr, served: Served) {
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// A connection to a TLS server: a handshake is served over TLS, plain HTTP from this computer as
/// it is, plain HTTP from elsewhere only a redirect. `None` when the client sent nothing usable in
/// time. Each branch's connection is boxed, so a connection's task holds only what it uses.
async fn sniffed<S>(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    timeout: Duration,
    builder: &auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    service: S,
) -> Option<Served>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match first_byte(&stream, timeout).await? {
        TLS_HANDSHAKE => {
            let Ok(Ok(stream)) =
                tokio::time::timeout(timeout, Box::pin(acceptor.accept(stream))).await
            else {
                tracing::debug!(%peer, "TLS handshake failed or timed out");
                return None;
            };
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            Some(Box::pin(watcher.watch(connection)).await)
        }
        _ if peer.ip().is_loopback() => {
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            Some(Box::pin(watcher.watch(connection)).await)
        }
        _ => {
            let redirect = hyper::service::service_fn(|r: Request<Incoming>| async move {
                Ok::<_, std::convert::Infallible>(to_https(&r))
            });
            let connection = builder
                .serve_connection(TokioIo::new(stream), redirect)
                .into_owned();
            Some(Box::pin(watcher.watch(connection)).await)
        }
    }
}

/// The first byte a client sends, without consuming it; `None` when it sends nothing in time.
async fn first_byte(stream: &TcpStream, within: Duration) -> Option<u8> {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(within, stream.peek(&mut byte)).await {
        Ok(Ok(1)) => Some(byte[0]),
        _ => None,
    }
}

/// The answer to plain HTTP from the network on a TLS server: the same URL over `https://`.
fn to_https<B>(request: &Request<B>) -> Response<Body> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', '@', ' ', '\\']));
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut response = Response::new(Body::from(
        "This StablePay server speaks HTTPS only: use https:// instead of http://\n",
    ));
    match host.and_then(|h| header::HeaderValue::from_str(&format!("https://{h}{path}")).ok()) {
        Some(location) => {
            *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
            response.headers_mut().insert(header::LOCATION, location);
        }
        None => *response.status_mut() = StatusCode::BAD_REQUEST,
    }
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_from_the_network_is_sent_to_the_same_url_over_https() {
        let request = Request::builder()
            .uri("/display?x=1")
            .header(header::HOST, "192.168.1.20:8080")
            .body(())
            .unwrap();
        let response = to_https(&request);
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            response.headers()[header::LOCATION],
            "https://192.168.1.20:8080/display?x=1"
        );
        let no_host = Request::builder().uri("/").body(()).unwrap();
        assert_eq!(to_https(&no_host).status(), StatusCode::BAD_REQUEST);
        let odd_host = Request::builder()
            .uri("/")
            .header(header::HOST, "evil.example/phish")
            .body(())
            .unwrap();
        assert_eq!(to_https(&odd_host).status(), StatusCode::BAD_REQUEST);
    }
}
