//! `bpe-openai` (what `chargeback` counts with) against `tiktoken-rs`, single-threaded, on the
//! texts `examples/tokenizer_texts.rs` exports and on pathological inputs.
//!
//! ```text
//! cargo run --release --example tokenizer_compare -- texts.jsonl [--pathological]
//! ```
//!
//! Prints one JSON line per measurement: encoder, input, bytes, seconds, MB/s, tokens; and
//! whether the two agree on every count. Encoder build (load) time is measured separately.
//! With `--pathological`, long single-piece inputs are run too; tiktoken-rs is given inputs of
//! growing size so its super-linear time shows without waiting for minutes.

use std::io::BufRead;
use std::time::Instant;

use chargeback_core::Encoding;
use serde_json::{json, Value};

fn tiktoken(name: &str) -> tiktoken_rs::CoreBPE {
    let built = if name == "cl100k_base" {
        tiktoken_rs::cl100k_base()
    } else {
        tiktoken_rs::o200k_base()
    };
    match built {
        Ok(b) => b,
        Err(e) => {
            eprintln!("tokenizer_compare: cannot build tiktoken-rs {name}: {e}");
            std::process::exit(1);
        }
    }
}

fn report(encoder: &str, input: &str, bytes: usize, secs: f64, tokens: u64) {
    println!(
        "{}",
        json!({"encoder": encoder, "input": input, "bytes": bytes, "seconds": (secs * 1e4).round() / 1e4,
               "mb_per_s": (bytes as f64 / 1e6 / secs * 100.0).round() / 100.0, "tokens": tokens})
    );
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "target/bench/texts.jsonl".into());
    let pathological = args.any(|a| a == "--pathological");

    // Load (build) times, each encoder once.
    let t = Instant::now();
    Encoding::O200kBase.warm_up();
    Encoding::Cl100kBase.warm_up();
    let bpe_load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let tk_o200k = tiktoken("o200k_base");
    let tk_cl100k = tiktoken("cl100k_base");
    let tk_load = t.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"load_seconds": {"bpe-openai": bpe_load, "tiktoken-rs": tk_load}})
    );

    let mut rows: Vec<(Encoding, Vec<String>)> = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(&path)?).lines() {
        let v: Value = match serde_json::from_str(&line?) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let enc = if v["encoding"] == "cl100k_base" {
            Encoding::Cl100kBase
        } else {
            Encoding::O200kBase
        };
        let texts = v["texts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        rows.push((enc, texts));
    }
    let bytes: usize = rows.iter().flat_map(|r| &r.1).map(String::len).sum();

    let t = Instant::now();
    let bpe_counts: Vec<u64> = rows
        .iter()
        .flat_map(|(enc, texts)| texts.iter().map(move |s| enc.count(s)))
        .collect();
    report(
        "bpe-openai",
        "corpus texts",
        bytes,
        t.elapsed().as_secs_f64(),
        bpe_counts.iter().sum(),
    );

    let t = Instant::now();
    let tk_counts: Vec<u64> = rows
        .iter()
        .flat_map(|(enc, texts)| {
            let tk = if *enc == Encoding::Cl100kBase {
                &tk_cl100k
            } else {
                &tk_o200k
            };
            texts
                .iter()
                .map(move |s| tk.encode_ordinary(s).len() as u64)
        })
        .collect();
    report(
        "tiktoken-rs",
        "corpus texts",
        bytes,
        t.elapsed().as_secs_f64(),
        tk_counts.iter().sum(),
    );
    let differ = bpe_counts
        .iter()
        .zip(&tk_counts)
        .filter(|(a, b)| a != b)
        .count();
    println!(
        "{}",
        json!({"texts": bpe_counts.len(), "count_mismatches": differ})
    );

    if pathological {
        let mut rng = fastrand::Rng::with_seed(7);
        let random_unicode: String = std::iter::repeat_with(|| {
            char::from_u32(rng.u32(0x20..0x2FFFF)).filter(|c| !c.is_control())
        })
        .flatten()
        .scan(0usize, |n, c| {
            *n += c.len_utf8();
            (*n <= 200 * 1024).then_some(c)
        })
        .collect();
        let inputs: Vec<(&str, String)> = vec![
            ("1,000,000 spaces", " ".repeat(1_000_000)),
            ("1,000,000 tabs", "\t".repeat(1_000_000)),
            ("1,000,000 x \"a\"", "a".repeat(1_000_000)),
            ("200 KB random Unicode", random_unicode),
        ];
        for (name, text) in &inputs {
            let t = Instant::now();
            let n = Encoding::O200kBase.count(text);
            report("bpe-openai", name, text.len(), t.elapsed().as_secs_f64(), n);
        }
        // tiktoken-rs on growing prefixes of the single-piece inputs: time grows with the square.
        for (name, text) in &inputs {
            for size in [10_000usize, 100_000, 1_000_000] {
                let mut cut = size.min(text.len());
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                let t = Instant::now();
                let piece = &text[..cut];
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    tk_o200k.encode_ordinary(piece).len() as u64
                }));
                let secs = t.elapsed().as_secs_f64();
                let Ok(n) = result else {
                    println!(
                        "{}",
                        json!({"encoder": "tiktoken-rs", "input": format!("{name} (first {cut} bytes)"),
                               "bytes": cut, "seconds": secs, "panicked": true})
                    );
                    break;
                };
                let agree = n == Encoding::O200kBase.count(piece);
                report(
                    "tiktoken-rs",
                    &format!("{name} (first {cut} bytes, same count: {agree})"),
                    cut,
                    secs,
                    n,
                );
                if secs > 5.0 {
                    break;
                }
            }
        }
    }
    Ok(())
}
