//! The core per event kind: `process_event` on one generated event of each kind (same generator
//! and seed as `examples/corpus.rs`), plus the parse-only floor on the same bytes.
//!
//! `cargo bench -p chargeback-core --bench core`

use chargeback_core::Encoding;
use chargeback_core::{process_event, EngineConfig, Trace};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

#[path = "../../../examples/corpus.rs"]
#[allow(dead_code)]
mod corpus;

use corpus::{Gen, Kind};

fn bench_core(c: &mut Criterion) {
    Encoding::O200kBase.warm_up();
    Encoding::Cl100kBase.warm_up();
    let cfg = EngineConfig::default();
    let trace = Trace::default();
    let mut gen = Gen::new(42);
    let mut group = c.benchmark_group("core");
    for kind in Kind::ALL {
        // A few events per kind, so one outlier does not decide the figure.
        let events: Vec<String> = (0..8).map(|_| gen.event(kind).to_string()).collect();
        let bytes: usize = events.iter().map(String::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(format!("process_event/{}", kind.name()), |b| {
            b.iter(|| {
                for e in &events {
                    let _ = black_box(process_event(black_box(e), &trace, &cfg));
                }
            })
        });
        group.bench_function(format!("parse_floor/{}", kind.name()), |b| {
            b.iter(|| {
                for e in &events {
                    let _ = black_box(serde_json::from_str::<serde_json::Value>(black_box(e)));
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_core
}
criterion_main!(benches);
