//! Exports exactly the texts the tokenizer path counts, for the Python `tiktoken` baseline.
//!
//! ```text
//! cargo run --release --example tokenizer_texts -- CORPUS.jsonl > texts.jsonl
//! ```
//!
//! For every event that `chargeback` counts with its tokenizer (`countSource: tokenizer`, plain
//! role/content chat messages as `examples/corpus.rs --mix tokenizer` writes them), one line:
//! `{"encoding": "o200k_base", "texts": [...], "counts": [...]}` — the string values of every
//! request message and the generated text of every choice, with `chargeback`'s count of each.
//! The export checks itself: the counts plus the chat formula's fixed overheads (3 per message,
//! 1 per name, 3 reply priming) must equal the record's `totalTokens`, or it exits non-zero.

use std::io::{BufRead, BufWriter, Write};

use chargeback_core::completion_texts;
use chargeback_core::parse_event;
use chargeback_core::CountSource;
use chargeback_core::Encoding;
use chargeback_core::{process_event, EngineConfig, Outcome, Trace};
use serde_json::{json, Value};

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "-".into());
    let reader: Box<dyn BufRead> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(std::fs::File::open(&path)?))
    };
    let cfg = EngineConfig::default();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let (mut events, mut texts_n, mut bytes, mut mismatches, mut other) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    for line in reader.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let Ok(Outcome::Record(rec)) = process_event(&line, &Trace::default(), &cfg) else {
            other += 1;
            continue;
        };
        if rec.count_source != CountSource::Tokenizer {
            other += 1;
            continue;
        }
        let Some(enc) = [Encoding::O200kBase, Encoding::Cl100kBase]
            .into_iter()
            .find(|e| Some(e.name()) == rec.encoding.as_deref())
        else {
            other += 1;
            continue;
        };
        let Ok(ev) = parse_event(&line) else {
            other += 1;
            continue;
        };
        let request: Value = ev
            .request
            .as_ref()
            .and_then(|r| serde_json::from_str(&r.text()).ok())
            .unwrap_or(Value::Null);
        let mut texts: Vec<String> = Vec::new();
        let mut overhead: u64 = 3;
        for m in request["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            overhead += 3;
            for (key, value) in m.as_object().into_iter().flatten() {
                if let Value::String(s) = value {
                    texts.push(s.clone());
                }
                if key == "name" {
                    overhead += 1;
                }
            }
        }
        if let Some(body) = &ev.response {
            for choice in completion_texts(&body.text()).0 {
                texts.push(choice.content);
                texts.extend(choice.arguments);
            }
        }
        let counts: Vec<u64> = texts.iter().map(|t| enc.count(t)).collect();
        if counts.iter().sum::<u64>() + overhead != rec.total_tokens {
            mismatches += 1;
        }
        events += 1;
        texts_n += texts.len() as u64;
        bytes += texts.iter().map(|t| t.len() as u64).sum::<u64>();
        let row = json!({"encoding": enc.name(), "texts": texts, "counts": counts});
        writeln!(out, "{row}")?;
    }
    out.flush()?;
    eprintln!(
        "tokenizer_texts: {events} tokenizer-path events, {texts_n} texts, {:.1} MB of text; \
         {other} other events skipped; {mismatches} events whose text counts + chat overheads \
         differ from the record",
        bytes as f64 / 1e6
    );
    if mismatches > 0 {
        std::process::exit(1);
    }
    Ok(())
}
