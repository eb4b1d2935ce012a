//! The routes: readiness, the trigger, JSON 404s; the shared state and its counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
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
use http_body_util::{BodyExt, Collected, LengthLimitError, Limited};
use serde_json::json;

use crate::delivery::{deliver, settle, Invoked};
use crate::shutdown::ShutdownState;
use crate::trim;

/// The function folder name; the host posts to `/{name}`.
pub(crate) const FUNCTION_NAME: &str = "ChargebackEventHubTrigger";

/// Default cap on an invocation body: 100 events × 200 KB, escaped twice, with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
/// Default time a client has to send a request's whole body once its headers are in: ample for
/// the largest body over loopback (256 MiB arrive in well under a second), short enough that a
/// client trickling bytes cannot hold a connection.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// Bound on reading an invocation's body ([`DEFAULT_BODY_TIMEOUT`]).
    pub(crate) body_timeout: Duration,
}

impl AppState {
    /// State with telemetry off (see [`AppState::with_telemetry`]).
    pub fn new(cfg: EngineConfig) -> AppState {
        AppState {
            cfg: Arc::new(cfg),
            stats: Arc::new(Stats::default()),
            telemetry: None,
            shutdown: Arc::new(ShutdownState::default()),
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }

    /// Bounds the time to read an invocation's body: a slower client gets a 408 and its
    /// connection is closed.
    pub fn with_body_timeout(mut self, timeout: Duration) -> AppState {
        self.body_timeout = timeout;
        self
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
        .route(
            &format!("/{FUNCTION_NAME}"),
            post(move |state, headers, body| invoke(state, headers, body, max_body_bytes)),
        )
        .fallback(not_found)
        // The trigger reads its body itself (see `read_body`); no other route takes one.
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

/// The body, at most `limit` bytes: a larger `Content-Length` is refused before anything is
/// read, and a body without one (chunked) is cut off as soon as it passes the limit; both answer
/// 413 with the JSON error shape of every other rejection. A body not received within `timeout`
/// answers 408 and closes the connection.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    (limit, timeout): (usize, Duration),
) -> Result<Collected<Bytes>, Response> {
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body is larger than the {limit}-byte limit (CHARGEBACK_MAX_BODY_BYTES)"
            ),
        )
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let read = tokio::time::timeout(timeout, Limited::new(body, limit).collect());
    let Ok(read) = read.await else {
        // The connection is closed after this answer: the rest of the body is never read.
        let mut answer = error_response(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within {} s (CHARGEBACK_BODY_TIMEOUT_SECS)",
                timeout.as_secs_f64()
            ),
        );
        answer.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return Err(answer);
    };
    match read {
        Ok(collected) => Ok(collected),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(error_response(
            StatusCode::BAD_REQUEST,
            "cannot read the request body".into(),
        )),
    }
}

async fn invoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
    limit: usize,
) -> Response {
    let body = match read_body(&headers, body, (limit, state.body_timeout)).await {
        Ok(bytes) => bytes,
        Err(answer) => return answer,
    };
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
    body: Collected<Bytes>,
    invocation_id: Option<String>,
) -> Result<(Invocation, BatchResult), Response> {
    let cfg = state.cfg.clone();
    let id = invocation_id.clone();
    let work = on_cores(move || {
        // The body is joined, decoded and freed on one thread, and so are the events' texts: a
        // large block freed by the thread that allocated it goes back to the allocator at once
        // (see `trim`).
        let body = body.to_bytes();
        let (len, decoded) = (body.len(), decode_invocation(&body));
        drop(body);
        let done = decoded.map(|mut inv| {
            let result = process_invocation(&inv, id.as_deref(), &cfg);
            inv.events = Vec::new();
            (inv, result)
        });
        (len, done)
    })
    .await;
    if let Some((len, _)) = &work {
        trim::after_batch(*len);
    }
    match work.map(|(_, done)| done) {
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

    async fn post_to_trigger(body: Body, content_length: Option<&str>) -> (StatusCode, String) {
        use tower::ServiceExt;
        let app = router(AppState::new(EngineConfig::default()), 16);
        let mut req = axum::http::Request::post(format!("/{FUNCTION_NAME}"))
            .header("content-type", "application/json");
        if let Some(n) = content_length {
            req = req.header("content-length", n);
        }
        let resp = app.oneshot(req.body(body).unwrap()).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn a_content_length_over_the_limit_is_refused_with_json_before_the_body_is_read() {
        // The body never arrives: a stream that would wait forever proves nothing was read.
        let never = Body::new(Chunks(Vec::new(), true));
        let (status, body) = post_to_trigger(never, Some("1000000")).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(
            v["error"].as_str().unwrap().contains("16-byte limit"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_chunked_body_passing_the_limit_is_refused_with_json() {
        let chunks = vec![
            Bytes::from_static(b"0123456789\"]"),
            Bytes::from_static(b"[\"0123456789"),
        ];
        let (status, body) = post_to_trigger(Body::new(Chunks(chunks, false)), None).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body.starts_with("{\"error\":"), "{body}");
    }

    /// A body of chunks (popped from the end), then its end — or, when `hang`, a body that
    /// never yields anything.
    struct Chunks(Vec<Bytes>, bool);

    impl axum::body::HttpBody for Chunks {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            if self.1 {
                return std::task::Poll::Pending;
            }
            std::task::Poll::Ready(self.0.pop().map(|b| Ok(http_body::Frame::data(b))))
        }
    }
}
