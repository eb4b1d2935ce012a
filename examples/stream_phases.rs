//! Where `replay`'s time goes on a stream corpus, phase by phase, single-threaded: reading the
//! event (`parse_event`, bodies checked and kept escaped), decoding the responses, reading their
//! texts (the stream pass), and counting them and the request. Each phase is timed over the
//! whole corpus on its own, after the lines are in memory, in CPU time of this thread (Linux
//! `/proc/thread-self/schedstat`, so a shared machine's other load does not count). A profile
//! without a profiler: the release binary is stripped.
//!
//! ```text
//! cargo run --release --example stream_phases -- CORPUS.jsonl
//! ```

use std::time::Instant;

use chargeback_core::{
    chat_request_tokens, completion_texts, parse_event, Encoding, EngineConfig, ModelTraits, Trace,
};

/// CPU seconds this thread has run (wall seconds where schedstat cannot be read).
fn cpu_secs(started: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or_else(|| started.elapsed().as_secs_f64(), |ns| ns as f64 / 1e9)
}

fn timed<T>(what: &str, bytes: usize, f: impl FnOnce() -> T) -> T {
    let wall = Instant::now();
    let before = cpu_secs(wall);
    let out = std::hint::black_box(f());
    let secs = cpu_secs(wall) - before;
    eprintln!(
        "{what:<44} {secs:7.3} CPU-s {:8.1} MB/s",
        bytes as f64 / 1e6 / secs
    );
    out
}

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "-".into());
    let text = std::fs::read_to_string(&path)?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let bytes = text.len();
    Encoding::O200kBase.warm_up();
    Encoding::Cl100kBase.warm_up();
    timed("serde_json IgnoredAny (the floor)", bytes, || {
        lines
            .iter()
            .filter(|l| serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok())
            .count()
    });
    let events = timed("parse_event (bodies checked, kept escaped)", bytes, || {
        lines
            .iter()
            .filter_map(|l| parse_event(l).ok())
            .collect::<Vec<_>>()
    });
    let decoded = timed("decode the responses (one copy each)", bytes, || {
        events
            .iter()
            .filter_map(|e| e.response.as_ref().map(|b| b.text()))
            .collect::<Vec<_>>()
    });
    let responses: Vec<&str> = decoded.iter().map(|r| &r[..]).collect();
    let response_bytes: usize = responses.iter().map(|r| r.len()).sum();
    eprintln!("  decoded responses: {:.1} MB", response_bytes as f64 / 1e6);
    let texts = timed("completion_texts (the stream pass)", bytes, || {
        responses
            .iter()
            .map(|r| completion_texts(r).0)
            .collect::<Vec<_>>()
    });
    let enc = Encoding::O200kBase;
    let text_bytes: usize = texts
        .iter()
        .flatten()
        .map(|t| t.content.len() + t.arguments.iter().map(String::len).sum::<usize>())
        .sum();
    eprintln!("  generated text: {:.1} MB", text_bytes as f64 / 1e6);
    timed("count the generated texts", bytes, || {
        texts
            .iter()
            .flatten()
            .map(|t| enc.count(&t.content) + t.arguments.iter().map(|a| enc.count(a)).sum::<u64>())
            .sum::<u64>()
    });
    timed("parse and count the requests", bytes, || {
        events
            .iter()
            .filter_map(|e| e.request.as_ref())
            .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.text()).ok())
            .map(|v| chat_request_tokens(&v, ModelTraits::for_model(None)))
            .sum::<u64>()
    });
    let cfg = EngineConfig::default();
    timed("process_event (all of it)", bytes, || {
        lines
            .iter()
            .filter(|l| chargeback_core::process_event(l, &Trace::default(), &cfg).is_ok())
            .count()
    });
    Ok(())
}
