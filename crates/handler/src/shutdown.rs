//! Shutdown: SIGTERM/SIGINT stop accepting connections; in-flight invocations answer within the
//! drain cap (telemetry included), just before it at the latest.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use crate::conn::{serve_connections, DEFAULT_HEADER_TIMEOUT};
use crate::routes::{router, AppState, DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_BYTES};

/// Default bound on the shutdown drain (finishing in-flight invocations after SIGTERM/SIGINT).
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(30);
/// Shutdown coordination: once a signal arrives, the instant by which every in-flight invocation
/// must have answered.
#[derive(Debug)]
pub(crate) struct ShutdownState {
    answer_by: watch::Sender<Option<Instant>>,
}

impl Default for ShutdownState {
    fn default() -> Self {
        ShutdownState {
            answer_by: watch::Sender::new(None),
        }
    }
}

impl ShutdownState {
    /// Starts the drain: in-flight invocations answer by `at` at the latest.
    pub(crate) fn begin(&self, at: Instant) {
        self.answer_by.send_replace(Some(at));
    }

    /// Resolves at the answer-by instant of a shutdown; never resolves while none is under way.
    pub(crate) async fn answer_by(&self) {
        let mut rx = self.answer_by.subscribe();
        let at = loop {
            if let Some(at) = *rx.borrow_and_update() {
                break at;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::time::sleep_until(at.into()).await;
    }
}

/// How long before the drain cap in-flight invocations answer, so their responses get out.
pub(crate) fn answer_margin(drain: Duration) -> Duration {
    (drain / 5).min(Duration::from_secs(2))
}
/// Resolves when SIGTERM or SIGINT arrives.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received: finishing in-flight invocations"),
        _ = term => tracing::info!("SIGTERM received: finishing in-flight invocations"),
    }
}
/// How the server runs: the body cap, the read timeouts, the shutdown drain.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Largest invocation body accepted (`CHARGEBACK_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Time to send a request's headers (`CHARGEBACK_HEADER_TIMEOUT_SECS`).
    pub header_timeout: Duration,
    /// Time to send a request's whole body once its headers are in
    /// (`CHARGEBACK_BODY_TIMEOUT_SECS`).
    pub body_timeout: Duration,
    /// Bound on finishing in-flight invocations after SIGTERM/SIGINT (`CHARGEBACK_DRAIN_SECS`).
    pub drain: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            drain: DEFAULT_DRAIN,
        }
    }
}

/// Binds `addr` and serves until SIGTERM/SIGINT, with a drain cap: after SIGTERM/SIGINT no
/// connection is accepted, in-flight invocations (telemetry included) answer within the drain,
/// and the function returns `Ok` — also when the cap cut the drain short (those invocations are
/// re-delivered by the host).
pub async fn serve_with_drain(
    addr: SocketAddr,
    state: AppState,
    options: ServeOptions,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "chargeback custom handler listening");
    serve_listener(listener, state, options, shutdown_signal()).await
}

/// Serves on `listener` until `signal` resolves, then drains as [`serve_with_drain`] does.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    state: AppState,
    options: ServeOptions,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let drain = options.drain;
    let state = state.with_body_timeout(options.body_timeout);
    let shutdown = state.shutdown.clone();
    let stats = state.stats.clone();
    let signalled = Arc::new(Notify::new());
    let notify = signalled.clone();
    let app = router(state, options.max_body_bytes);
    let server = serve_connections(listener, app, options.header_timeout, async move {
        signal.await;
        shutdown.begin(Instant::now() + drain.saturating_sub(answer_margin(drain)));
        notify.notify_one();
    });
    tokio::pin!(server);
    tokio::select! {
        done = &mut server => return done,
        () = signalled.notified() => {}
    }
    let started = Instant::now();
    tracing::info!(
        in_flight = stats.in_flight.load(Ordering::Relaxed),
        drain_ms = u64::try_from(drain.as_millis()).unwrap_or(u64::MAX),
        "stopped accepting connections; draining in-flight invocations"
    );
    match tokio::time::timeout(drain, server).await {
        Ok(done) => {
            tracing::info!(
                ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "drained: every in-flight invocation answered"
            );
            done
        }
        Err(_) => {
            tracing::warn!(
                in_flight = stats.in_flight.load(Ordering::Relaxed),
                "drain cap reached with invocations unanswered; exiting (the host re-delivers them)"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_margin_is_a_fifth_of_the_drain_at_most_two_seconds() {
        assert_eq!(
            answer_margin(Duration::from_secs(30)),
            Duration::from_secs(2)
        );
        assert_eq!(
            answer_margin(Duration::from_secs(1)),
            Duration::from_millis(200)
        );
    }
}
