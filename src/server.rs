//! The custom-handler HTTP edge (axum): `GET /` readiness and `POST /ChargebackEventHubTrigger`.
//!
//! The handler decodes the host's invocation, runs the batch through the core on the blocking
//! pool (CPU work never runs on the async I/O threads), and answers the host's JSON. A request
//! that is not an invocation gets a 400 with a JSON error. Shutdown on SIGTERM/SIGINT stops
//! accepting connections and lets in-flight invocations finish.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::engine::EngineConfig;
use crate::host::{decode_invocation, process_invocation, response_body, summary_line};

/// The function folder name; the host posts to `/{name}`.
pub const FUNCTION_NAME: &str = "ChargebackEventHubTrigger";

/// Default cap on an invocation body: 100 events × 200 KB, escaped twice, with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// Counters since start, for the readiness endpoint and logs.
#[derive(Debug, Default)]
pub struct Stats {
    pub invocations: AtomicU64,
    pub events: AtomicU64,
    pub records: AtomicU64,
    pub dead_letters: AtomicU64,
    pub skipped: AtomicU64,
    pub rejected_requests: AtomicU64,
}

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<EngineConfig>,
    pub stats: Arc<Stats>,
}

impl AppState {
    pub fn new(cfg: EngineConfig) -> AppState {
        AppState {
            cfg: Arc::new(cfg),
            stats: Arc::new(Stats::default()),
        }
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

async fn invoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let invocation_id = headers
        .get("x-azure-functions-invocationid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cfg = state.cfg.clone();
    let id = invocation_id.clone();
    let work = tokio::task::spawn_blocking(move || {
        decode_invocation(&body).map(|inv| {
            let result = process_invocation(&inv, id.as_deref(), &cfg);
            (inv, result)
        })
    })
    .await;
    let (inv, result) = match work {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            state
                .stats
                .rejected_requests
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "rejected a request that is not a host invocation");
            return error_response(StatusCode::BAD_REQUEST, e.to_string());
        }
        Err(e) => {
            // A panic in the core: answer 500 so the host retries the batch rather than lose it.
            tracing::error!(error = %e, invocation_id = ?invocation_id, "batch processing failed");
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
    let body = response_body(&result.records, &result.dead_letters, vec![summary]);
    (StatusCode::OK, Json(body)).into_response()
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

/// Binds and serves until a shutdown signal, then drains in-flight invocations.
pub async fn serve(
    addr: SocketAddr,
    state: AppState,
    max_body_bytes: usize,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "chargeback custom handler listening");
    axum::serve(listener, router(state, max_body_bytes))
        .with_graceful_shutdown(shutdown_signal())
        .await
}
