//! The parse-only floor: reads JSON-lines events the way `replay` does and parses each into a
//! `serde_json::Value`, single-threaded, and nothing else.
//!
//! ```text
//! cargo run --release --example parse_floor -- CORPUS.jsonl
//! ```

use std::io::BufRead;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "-".into());
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
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
            objects += u64::from(std::hint::black_box(&v).is_object());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "parse_floor: {events} events ({objects} objects), {:.1} MB in {secs:.3}s: {:.0} events/s, {:.1} MB/s",
        bytes as f64 / 1e6,
        events as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    Ok(())
}
