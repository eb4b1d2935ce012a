//! The routes: readiness, the trigger, JSON 404s; the shared state and its counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chargeback_appinsights::AppInsights;
use chargeback_core::{
    decode_invocation, process_invocation, response_body, summary_line, BatchResult, EngineConfig,
    Invocation,
};
use serde_json::json;

use crate::delivery::{deliver, settle, Invoked};
use crate::shutdown::ShutdownState;

/// The function folder name; the host posts to `/{name}`.
pub(crate) const FUNCTION_NAME: &str = "ChargebackEventHubTrigger";

/// Default cap on an invocation body: 100 events × 200 KB, escaped twice, with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
/// Counters since start, for the readiness endpoint and logs.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) invocations: AtomicU64,
    pub(crate) events: AtomicU64,
    pub(crate) records: AtomicU64,
    pub(crate) dead_letters: AtomicU64,
    pub(crate) skipped: AtomicU64,
    /// Invocations being processed now.
    pub(crate) in_flight: AtomicU64,
    /// Records Application Insights accepted.
    pub(crate) telemetry_accepted: AtomicU64,
    /// Records marked `telemetryUndelivered` in the ledger (last retry, no retry policy,
    /// permanently refused, or cut short by shutdown on a last attempt).
    pub(crate) telemetry_marked: AtomicU64,
    /// Invocations answered 503 so the host re-delivers the batch.
    pub(crate) host_retries_requested: AtomicU64,
}

impl Stats {
    /// Counts one processed batch.
    fn count_batch(&self, result: &BatchResult) {
        self.invocations.fetch_add(1, Ordering::Relaxed);
        self.events
            .fetch_add(result.events as u64, Ordering::Relaxed);
        self.records
            .fetch_add(result.records.len() as u64, Ordering::Relaxed);
        self.dead_letters
            .fetch_add(result.dead_letters.len() as u64, Ordering::Relaxed);
        self.skipped
            .fetch_add(result.skipped_total() as u64, Ordering::Relaxed);
    }
}

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    pub(crate) cfg: Arc<EngineConfig>,
    pub(crate) stats: Arc<Stats>,
    /// The Application Insights sink; `None`: telemetry off, the ledger only.
    pub(crate) telemetry: Option<AppInsights>,
    pub(crate) shutdown: Arc<ShutdownState>,
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
pub(crate) async fn on_cores<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
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
    let id = invocation_id.as_deref();
    let (inv, result) = match run_batch(&state, body, invocation_id.clone()).await {
        Ok(done) => done,
        Err(answer) => return answer,
    };
    state.stats.count_batch(&result);
    log_batch(&inv, &result, id);
    let mut logs = vec![summary_line(&inv, &result, id)];
    let BatchResult {
        mut records,
        dead_letters,
        ..
    } = result;
    if let (Some(sink), false) = (&state.telemetry, records.is_empty()) {
        let report = deliver(&state.shutdown, sink, &records, id, started).await;
        let call = Invoked {
            id,
            retry: inv.retry,
        };
        if let Some(retry_answer) = settle(&state.stats, &report, call, &mut records, &mut logs) {
            return retry_answer;
        }
    }
    let body = response_body(&records, &dead_letters, logs);
    (StatusCode::OK, Json(body)).into_response()
}

/// Decodes the body and runs the batch on the cores; `Err` is the answer to give instead (400
/// for a body that is not an invocation, 500 when the core panicked, so the host retries).
async fn run_batch(
    state: &AppState,
    body: Bytes,
    invocation_id: Option<String>,
) -> Result<(Invocation, BatchResult), Response> {
    let cfg = state.cfg.clone();
    let id = invocation_id.clone();
    let work = on_cores(move || {
        decode_invocation(&body).map(|inv| {
            let result = process_invocation(&inv, id.as_deref(), &cfg);
            (inv, result)
        })
    })
    .await;
    match work {
        Some(Ok(done)) => Ok(done),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "rejected a request that is not a host invocation");
            Err(error_response(StatusCode::BAD_REQUEST, e.to_string()))
        }
        None => {
            // A panic in the core: answer 500 so the host retries the batch rather than lose it.
            tracing::error!(invocation_id = ?invocation_id, "batch processing failed (panic)");
            Err(error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "batch processing failed; the host should retry".into(),
            ))
        }
    }
}

/// The invocation's log lines: counts, and each dead letter's reason and position.
fn log_batch(inv: &Invocation, result: &BatchResult, invocation_id: Option<&str>) {
    tracing::info!(
        invocation_id = invocation_id.unwrap_or(""),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batch_work_runs_on_the_pool_and_a_panic_in_it_is_caught_not_fatal() {
        assert_eq!(on_cores(|| 41 + 1).await, Some(42));
        let panicked: Option<u32> = on_cores(|| panic!("a core bug")).await;
        assert_eq!(panicked, None);
        assert_eq!(on_cores(|| "still serving").await, Some("still serving"));
    }
}
