//! One 100-event mixed host batch through the axum handler in-process (`tower::ServiceExt::oneshot`
//! on `chargeback_handler::router`): decode, the core on rayon's pool, the response body. Also the decode of
//! that batch alone, by the one-pass path and by the general `serde_json` path.
//!
//! `cargo bench -p chargeback-handler --bench handler` (for p50/p99 of the same request, run
//! `cargo run --release --example loadtest -- inprocess`).

use axum::body::Body;
use axum::http::Request;
use chargeback_core::Encoding;
use chargeback_core::EngineConfig;
use chargeback_core::{decode_invocation, decode_invocation_general};
use chargeback_handler::{router, AppState, DEFAULT_MAX_BODY_BYTES};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[path = "../../../examples/corpus.rs"]
#[allow(dead_code)]
mod corpus;

/// A host invocation body (`dataType: string`) holding `n` mixed events.
pub fn invocation(n: usize, seed: u64) -> Vec<u8> {
    let mut gen = corpus::Gen::new(seed);
    let mix = [
        corpus::Kind::Chat,
        corpus::Kind::Chat,
        corpus::Kind::Chat,
        corpus::Kind::StreamUsage,
        corpus::Kind::StreamUsage,
        corpus::Kind::Embeddings,
        corpus::Kind::Responses,
        corpus::Kind::ToolStream,
        corpus::Kind::StreamText,
        corpus::Kind::Truncated,
    ];
    let events: Vec<String> = (0..n)
        .map(|i| gen.event(mix[i % mix.len()]).to_string())
        .collect();
    let seqs: Vec<usize> = (0..n).collect();
    serde_json::to_vec(&serde_json::json!({
        "Data": {"events": serde_json::to_string(&events).unwrap_or_default()},
        "Metadata": {
            "PartitionContext": "{\"PartitionId\":\"0\"}",
            "SequenceNumberArray": serde_json::to_string(&seqs).unwrap_or_default(),
        }
    }))
    .unwrap_or_default()
}

fn bench_handler(c: &mut Criterion) {
    Encoding::O200kBase.warm_up();
    Encoding::Cl100kBase.warm_up();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let app = router(
        AppState::new(EngineConfig::default()),
        DEFAULT_MAX_BODY_BYTES,
    );
    let body = bytes_of(invocation(100, 7));
    let mut group = c.benchmark_group("handler");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("post_100_event_mixed_batch", |b| {
        b.iter(|| {
            let app = app.clone();
            let body = body.clone();
            rt.block_on(async move {
                let req = Request::post("/ChargebackEventHubTrigger")
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .expect("a request");
                let resp = app.oneshot(req).await.expect("a response");
                assert!(resp.status().is_success());
                let _ = resp.into_body().collect().await;
            })
        })
    });
    group.bench_function("decode_one_pass", |b| {
        b.iter(|| decode_invocation(&body).map(|inv| inv.events.len()))
    });
    group.bench_function("decode_general", |b| {
        b.iter(|| decode_invocation_general(&body).map(|inv| inv.events.len()))
    });
    group.finish();
}

fn bytes_of(v: Vec<u8>) -> axum::body::Bytes {
    axum::body::Bytes::from(v)
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(8));
    targets = bench_handler
}
criterion_main!(benches);
