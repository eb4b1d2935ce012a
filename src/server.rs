//! The custom-handler HTTP edge (axum): `GET /` readiness and `POST /ChargebackEventHubTrigger`.
//!
//! The handler decodes the host's invocation, runs the batch through the core on rayon's pool
//! (one thread per core; CPU work never runs on the async I/O threads), sends the records to Application
//! Insights when telemetry is on, and answers the host's JSON. A request that is not an
//! invocation gets a 400 with a JSON error.
//!
//! Delivery semantics (DESIGN 5): the ledger (`usage` output) is the durable truth. Records
//! Application Insights did not take make the handler answer 503 so the host re-delivers the
//! batch (it discards the Outputs of a failed attempt, so nothing is written twice) — except on
//! the host's last retry, or when the invocation carries no `RetryContext` (no retry policy, no
//! second chance): then those rows are marked `telemetryUndelivered` in the ledger and the
//! answer is 200, for `chargeback resend` later.
//!
//! Shutdown on SIGTERM/SIGINT stops accepting connections and lets in-flight invocations finish,
//! telemetry included, within a drain cap; an invocation whose telemetry would outlast the cap
//! is answered (as if its delivery had failed) just before it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::{watch, Notify};

use crate::engine::EngineConfig;
use crate::host::{
    decode_invocation, process_invocation, response_body, summary_line, RetryContext,
};
use crate::record::UsageRecord;
use crate::telemetry::{AppInsights, DeliveryReport};

/// The function folder name; the host posts to `/{name}`.
pub const FUNCTION_NAME: &str = "ChargebackEventHubTrigger";

/// Default cap on an invocation body: 100 events × 200 KB, escaped twice, with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// Default bound on the shutdown drain (finishing in-flight invocations after SIGTERM/SIGINT).
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(30);

/// The host's function timeout (`host.json` `functionTimeout`): an invocation's telemetry never
/// retries past it (minus [`FUNCTION_TIMEOUT_MARGIN`]), whatever the telemetry budget says.
pub const HOST_FUNCTION_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Time kept between the end of telemetry retries and the host's function timeout.
pub const FUNCTION_TIMEOUT_MARGIN: Duration = Duration::from_secs(30);

/// Counters since start, for the readiness endpoint and logs.
#[derive(Debug, Default)]
pub struct Stats {
    pub invocations: AtomicU64,
    pub events: AtomicU64,
    pub records: AtomicU64,
    pub dead_letters: AtomicU64,
    pub skipped: AtomicU64,
    pub rejected_requests: AtomicU64,
    /// Invocations being processed now.
    pub in_flight: AtomicU64,
    /// Records Application Insights accepted.
    pub telemetry_accepted: AtomicU64,
    /// Records marked `telemetryUndelivered` in the ledger (last retry, no retry policy,
    /// permanently refused, or cut short by shutdown on a last attempt).
    pub telemetry_marked: AtomicU64,
    /// Invocations answered 503 so the host re-delivers the batch.
    pub host_retries_requested: AtomicU64,
}

/// Shutdown coordination: once a signal arrives, the instant by which every in-flight invocation
/// must have answered.
#[derive(Debug)]
pub struct ShutdownState {
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
    pub fn begin(&self, at: Instant) {
        self.answer_by.send_replace(Some(at));
    }

    /// True once a shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.answer_by.borrow().is_some()
    }

    /// Resolves at the answer-by instant of a shutdown; never resolves while none is under way.
    async fn answer_by(&self) {
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
pub fn answer_margin(drain: Duration) -> Duration {
    (drain / 5).min(Duration::from_secs(2))
}

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<EngineConfig>,
    pub stats: Arc<Stats>,
    /// The Application Insights sink; `None`: telemetry off, the ledger only.
    pub telemetry: Option<AppInsights>,
    pub shutdown: Arc<ShutdownState>,
}

impl AppState {
    /// State with telemetry off (see [`AppState::with_telemetry`]).
    pub fn new(cfg: EngineConfig) -> AppState {
        AppState {
            cfg: Arc::new(cfg),
            stats: Arc::new(Stats::default()),
            telemetry: None,
            shutdown: Arc::new(ShutdownState::default()),
        }
    }

    /// Sends every invocation's records to `sink` before answering.
    pub fn with_telemetry(mut self, sink: AppInsights) -> AppState {
        self.telemetry = Some(sink);
        self
    }
}

/// Decrements `in_flight` when an invocation ends, however it ends.
struct InFlight(Arc<Stats>);

impl InFlight {
    fn enter(stats: &Arc<Stats>) -> InFlight {
        stats.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(stats.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The router: readiness, the trigger, and JSON 404s for anything else.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/", get(ready))
        .route(&format!("/{FUNCTION_NAME}"), post(invoke))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

async fn ready(State(state): State<AppState>) -> Json<serde_json::Value> {
    let s = &state.stats;
    Json(json!({
        "status": "ready",
        "invocations": s.invocations.load(Ordering::Relaxed),
        "events": s.events.load(Ordering::Relaxed),
        "records": s.records.load(Ordering::Relaxed),
        "deadLetters": s.dead_letters.load(Ordering::Relaxed),
        "skipped": s.skipped.load(Ordering::Relaxed),
        "inFlight": s.in_flight.load(Ordering::Relaxed),
        "telemetry": if state.telemetry.is_some() { "on" } else { "off" },
        "telemetryAccepted": s.telemetry_accepted.load(Ordering::Relaxed),
        "telemetryMarked": s.telemetry_marked.load(Ordering::Relaxed),
        "hostRetriesRequested": s.host_retries_requested.load(Ordering::Relaxed),
    }))
}

async fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        format!("no such route: the Functions host posts invocations to /{FUNCTION_NAME}"),
    )
}

fn error_response(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Runs CPU-bound batch work on rayon's pool and awaits it; `None` if it panicked. The pool has
/// one thread per core and also splits each batch's events, so concurrent requests never put
/// more threads than cores on the work (a blocking-pool thread per request did, and was measured
/// slower under load). The panic is caught here: unwinding into rayon would abort.
pub async fn on_cores<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let _ = done.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
    });
    result.await.ok()?.ok()
}

async fn invoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let _in_flight = InFlight::enter(&state.stats);
    let started = Instant::now();
    let invocation_id = headers
        .get("x-azure-functions-invocationid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cfg = state.cfg.clone();
    let id = invocation_id.clone();
    let work = on_cores(move || {
        decode_invocation(&body).map(|inv| {
            let result = process_invocation(&inv, id.as_deref(), &cfg);
            (inv, result)
        })
    })
    .await;
    let (inv, result) = match work {
        Some(Ok(done)) => done,
        Some(Err(e)) => {
            state
                .stats
                .rejected_requests
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "rejected a request that is not a host invocation");
            return error_response(StatusCode::BAD_REQUEST, e.to_string());
        }
        None => {
            // A panic in the core: answer 500 so the host retries the batch rather than lose it.
            tracing::error!(invocation_id = ?invocation_id, "batch processing failed (panic)");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "batch processing failed; the host should retry".into(),
            );
        }
    };
    let s = &state.stats;
    s.invocations.fetch_add(1, Ordering::Relaxed);
    s.events.fetch_add(result.events as u64, Ordering::Relaxed);
    s.records
        .fetch_add(result.records.len() as u64, Ordering::Relaxed);
    s.dead_letters
        .fetch_add(result.dead_letters.len() as u64, Ordering::Relaxed);
    s.skipped
        .fetch_add(result.skipped_total() as u64, Ordering::Relaxed);

    let summary = summary_line(&inv, &result, invocation_id.as_deref());
    tracing::info!(
        invocation_id = invocation_id.as_deref().unwrap_or(""),
        partition = inv.partition_id.as_deref().unwrap_or(""),
        events = result.events,
        records = result.records.len(),
        dead_letters = result.dead_letters.len(),
        skipped = result.skipped_total(),
        "invocation processed"
    );
    for d in &result.dead_letters {
        tracing::warn!(
            reason = %d.reason,
            partition = d.partition_id.as_deref().unwrap_or(""),
            sequence_number = d.sequence_number,
            "event dead-lettered"
        );
    }
    let mut records = result.records;
    let mut logs = vec![summary];
    if let (Some(sink), false) = (&state.telemetry, records.is_empty()) {
        let report = deliver(&state, sink, &records, invocation_id.as_deref(), started).await;
        logs.push(report.summary());
        s.telemetry_accepted
            .fetch_add(report.accepted as u64, Ordering::Relaxed);
        match telemetry_verdict(&report, inv.retry) {
            Verdict::Delivered => {}
            Verdict::HostRetry => {
                s.host_retries_requested.fetch_add(1, Ordering::Relaxed);
                let message = format!(
                    "{}; answering 503 so the host re-delivers the batch{}",
                    report.summary(),
                    retry_note(inv.retry)
                );
                tracing::warn!(
                    invocation_id = invocation_id.as_deref().unwrap_or(""),
                    undelivered = report.undelivered.len(),
                    "telemetry undelivered: answering 503 so the host re-delivers the batch"
                );
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({ "error": message, "Logs": logs, "ReturnValue": null })),
                )
                    .into_response();
            }
            Verdict::MarkInLedger(why) => {
                report.mark_undelivered(&mut records);
                let marked = report.not_delivered().len();
                s.telemetry_marked
                    .fetch_add(marked as u64, Ordering::Relaxed);
                let line = format!(
                    "telemetry: {marked} records marked telemetryUndelivered in the ledger ({why}); \
                     resend them with `chargeback resend`"
                );
                tracing::warn!(
                    invocation_id = invocation_id.as_deref().unwrap_or(""),
                    marked,
                    "{line}"
                );
                logs.push(line);
            }
        }
    }
    let body = response_body(&records, &result.dead_letters, logs);
    (StatusCode::OK, Json(body)).into_response()
}

/// What the handler does with an invocation after its telemetry was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Everything accepted: 200 with the ledger as is.
    Delivered,
    /// Retriable failures and the host will try again: 503, nothing written.
    HostRetry,
    /// 200 with the ledger, the records not accepted marked `telemetryUndelivered` (the reason).
    MarkInLedger(&'static str),
}

/// The delivery rule of DESIGN 5 as a pure function of the report and the host's retry state.
pub fn telemetry_verdict(report: &DeliveryReport, retry: Option<RetryContext>) -> Verdict {
    if report.is_complete() {
        return Verdict::Delivered;
    }
    if !report.needs_host_retry() {
        return Verdict::MarkInLedger("refused permanently by ingestion");
    }
    match retry {
        Some(r) if !r.is_last() => Verdict::HostRetry,
        Some(_) => Verdict::MarkInLedger("last host retry"),
        None => Verdict::MarkInLedger("no retry policy on the invocation"),
    }
}

fn retry_note(retry: Option<RetryContext>) -> String {
    retry
        .map(|r| format!(" (retry {}/{})", r.retry_count, r.max_retry_count))
        .unwrap_or_default()
}

/// Sends `records` within the telemetry budget, the host's function timeout and, once a shutdown
/// has begun, the drain's answer-by instant (then every record counts as undelivered; ingestion
/// dedupes nothing, but readers dedupe on `TokenInfoId`).
async fn deliver(
    state: &AppState,
    sink: &AppInsights,
    records: &[UsageRecord],
    invocation_id: Option<&str>,
    started: Instant,
) -> DeliveryReport {
    let host_bound = started + HOST_FUNCTION_TIMEOUT.saturating_sub(FUNCTION_TIMEOUT_MARGIN);
    let deadline = sink.deadline_from_now().min(host_bound);
    tokio::select! {
        report = sink.send(records, invocation_id, deadline) => report,
        () = state.shutdown.answer_by() => {
            tracing::warn!(
                records = records.len(),
                "telemetry cut short by the shutdown drain cap; the records count as undelivered"
            );
            DeliveryReport {
                records: records.len(),
                undelivered: (0..records.len()).collect(),
                last_error: Some("cut short by shutdown".into()),
                ..DeliveryReport::default()
            }
        }
    }
}

/// Resolves when SIGTERM or SIGINT arrives.
pub async fn shutdown_signal() {
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

/// Binds and serves until a shutdown signal, then drains in-flight invocations (at most
/// [`DEFAULT_DRAIN`]).
pub async fn serve(
    addr: SocketAddr,
    state: AppState,
    max_body_bytes: usize,
) -> std::io::Result<()> {
    serve_with_drain(addr, state, max_body_bytes, DEFAULT_DRAIN).await
}

/// [`serve`] with a drain cap: after SIGTERM/SIGINT no connection is accepted, in-flight
/// invocations (telemetry included) answer within `drain`, and the function returns `Ok` —
/// also when the cap cut the drain short (those invocations are re-delivered by the host).
pub async fn serve_with_drain(
    addr: SocketAddr,
    state: AppState,
    max_body_bytes: usize,
    drain: Duration,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "chargeback custom handler listening");
    serve_listener(listener, state, max_body_bytes, drain, shutdown_signal()).await
}

/// Serves on `listener` until `signal` resolves, then drains as [`serve_with_drain`] does.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    state: AppState,
    max_body_bytes: usize,
    drain: Duration,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shutdown = state.shutdown.clone();
    let stats = state.stats.clone();
    let signalled = Arc::new(Notify::new());
    let notify = signalled.clone();
    let server =
        axum::serve(listener, router(state, max_body_bytes)).with_graceful_shutdown(async move {
            signal.await;
            shutdown.begin(Instant::now() + drain.saturating_sub(answer_margin(drain)));
            notify.notify_one();
        });
    let server = std::future::IntoFuture::into_future(server);
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

    fn report(records: usize, undelivered: Vec<usize>, dropped: Vec<usize>) -> DeliveryReport {
        DeliveryReport {
            records,
            accepted: records - undelivered.len() - dropped.len(),
            undelivered,
            dropped,
            ..DeliveryReport::default()
        }
    }

    fn retry(count: i64, max: i64) -> Option<RetryContext> {
        Some(RetryContext {
            retry_count: count,
            max_retry_count: max,
        })
    }

    #[tokio::test]
    async fn batch_work_runs_on_the_pool_and_a_panic_in_it_is_caught_not_fatal() {
        assert_eq!(on_cores(|| 41 + 1).await, Some(42));
        let panicked: Option<u32> = on_cores(|| panic!("a core bug")).await;
        assert_eq!(panicked, None);
        assert_eq!(on_cores(|| "still serving").await, Some("still serving"));
    }

    #[test]
    fn a_complete_delivery_is_simply_delivered() {
        assert_eq!(
            telemetry_verdict(&report(3, vec![], vec![]), retry(0, 5)),
            Verdict::Delivered
        );
    }

    #[test]
    fn undelivered_records_ask_the_host_to_retry_unless_it_is_the_last_chance() {
        let r = report(3, vec![1], vec![]);
        assert_eq!(telemetry_verdict(&r, retry(4, 5)), Verdict::HostRetry);
        assert_eq!(
            telemetry_verdict(&r, retry(5, 5)),
            Verdict::MarkInLedger("last host retry")
        );
        assert!(matches!(
            telemetry_verdict(&r, None),
            Verdict::MarkInLedger(_)
        ));
        assert_eq!(telemetry_verdict(&r, retry(9, -1)), Verdict::HostRetry);
    }

    #[test]
    fn permanently_refused_records_never_cause_a_host_retry() {
        assert!(matches!(
            telemetry_verdict(&report(3, vec![], vec![0, 2]), retry(0, 5)),
            Verdict::MarkInLedger(_)
        ));
    }

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
