//! Connections: the accept loop serving the router over HTTP/1 with hyper's header read timeout
//! (`axum::serve` sets no timer, so a client that never finishes its headers was held forever),
//! and the stop: on the signal no connection is accepted, open ones finish their request and close.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Default time a client has to send a request's headers, counted from the connection's start or
/// the end of its previous response (so it also closes idle keep-alive connections). The host
/// posts from the same machine and sends its headers at once.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `signal` resolves; then stops accepting and waits for the
/// open connections to finish (the caller bounds that wait).
pub(crate) async fn serve_connections(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    tokio::pin!(signal);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut signal => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: the next accept may succeed; back off a
                // moment rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // A header timeout, a client gone mid-request: the connection is closed.
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
