//! The parse-only floor: reads JSON-lines events the way `replay` does and parses each,
//! single-threaded, and nothing else — into a `serde_json::Value` (the default), or, with
//! `--ignored-any`, only validated as `serde::de::IgnoredAny` (the least any correct reader does:
//! the floor of issue 16's stream targets); or, with `--parse-event`, read by
//! `chargeback_core::parse_event` (the event's fields, its bodies decoded) and nothing else: the
//! part of `replay`'s time that goes to reading the event before its response is looked at.
//!
//! ```text
//! cargo run --release --example parse_floor -- [--ignored-any | --parse-event] CORPUS.jsonl
//! ```

use std::io::BufRead;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.first().map(String::as_str) {
        Some(m @ ("--ignored-any" | "--parse-event")) => m.to_string(),
        _ => String::new(),
    };
    if !mode.is_empty() {
        args.remove(0);
    }
    let path = args.first().cloned().unwrap_or_else(|| "-".into());
    let reader: Box<dyn BufRead> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(&path)?,
        ))
    };
    let started = Instant::now();
    let (mut events, mut bytes, mut objects) = (0u64, 0u64, 0u64);
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        events += 1;
        bytes += line.len() as u64 + 1;
        if mode == "--ignored-any" {
            let ok = serde_json::from_str::<serde::de::IgnoredAny>(&line).is_ok();
            objects += u64::from(std::hint::black_box(ok));
        } else if mode == "--parse-event" {
            let ev = chargeback_core::parse_event(&line);
            objects += u64::from(std::hint::black_box(&ev).is_ok());
        } else if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
            objects += u64::from(std::hint::black_box(&v).is_object());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "parse_floor {}: {events} events ({objects} objects), {:.1} MB in {secs:.3}s: {:.0} events/s, {:.1} MB/s",
        if mode.is_empty() { "" } else { &mode[1..] },
        bytes as f64 / 1e6,
        events as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    Ok(())
}
