//! Reading `replay` input: JSON-lines APIM events, a JSON array of events, or a whole Functions
//! host request body (also wrapped as `{"body": {...}}`, the shape of the fixtures in
//! `tests/fixtures/host`), turned into batches of raw events with their trace fields.

use std::io::BufRead;

use serde_json::Value;

use rayon::prelude::*;

use crate::batch::{process_raw, EventResult};
use crate::deadletter::DeadLetter;
use crate::engine::{EngineConfig, Trace};
use crate::invocation::{decode_invocation, Invocation, InvocationError, RawEvent};
use crate::record::UsageRecord;

/// How many JSON lines are processed together (in parallel) before output is written.
pub const LINES_PER_BATCH: usize = 512;
/// A batch is also cut once its lines hold this many bytes: large events (long streams) then
/// come in smaller batches, which keeps the working set, and the page faults of touching it,
/// small.
pub const BYTES_PER_BATCH: usize = 4 << 20;

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplayInputError {
    #[error("{source_name}: cannot read")]
    Io {
        source_name: String,
        #[source]
        err: std::io::Error,
    },
    #[error("{source_name}: not JSON lines, a JSON array of events, nor a host request body")]
    Shape {
        source_name: String,
        #[source]
        err: InvocationError,
    },
}

/// A batch of events ready for the core.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<RawEvent>,
    pub traces: Vec<Trace>,
    /// Where the batch was read from, and the 1-based line of each event (dead letters carry both).
    pub source: String,
    pub lines: Vec<u64>,
    /// Bytes of the JSON lines in `events`.
    bytes: usize,
}

impl Batch {
    fn is_full(&self) -> bool {
        self.events.len() >= LINES_PER_BATCH || self.bytes >= BYTES_PER_BATCH
    }
}

fn is_host_document(v: &Value) -> bool {
    v.as_object().is_some_and(|o| {
        o.keys()
            .any(|k| k.eq_ignore_ascii_case("Data") || k == "body")
    })
}

fn from_document(doc: &Value, source_name: &str, line: u64) -> Result<Batch, ReplayInputError> {
    let body = doc
        .get("body")
        .filter(|b| is_host_document(b))
        .unwrap_or(doc);
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let inv: Invocation = decode_invocation(&bytes).map_err(|err| ReplayInputError::Shape {
        source_name: source_name.to_string(),
        err,
    })?;
    let traces = (0..inv.events.len()).map(|i| inv.trace(i, None)).collect();
    Ok(Batch {
        lines: vec![line; inv.events.len()],
        events: inv.events,
        traces,
        source: source_name.to_string(),
        bytes: bytes.len(),
    })
}

/// Reads an input and calls `sink` with each batch, in input order. JSON lines are streamed in
/// batches of at most [`LINES_PER_BATCH`] lines and about [`BYTES_PER_BATCH`] bytes; a
/// whole-document input is one batch.
pub fn read_batches<R: BufRead>(
    mut reader: R,
    source_name: &str,
    mut sink: impl FnMut(Batch),
) -> Result<(), ReplayInputError> {
    let io_err = |err| ReplayInputError::Io {
        source_name: source_name.to_string(),
        err,
    };
    // Find the first non-empty line to decide the shape.
    let mut first_bytes = Vec::new();
    let mut line_no = 0u64;
    loop {
        first_bytes.clear();
        if reader.read_until(b'\n', &mut first_bytes).map_err(io_err)? == 0 {
            return Ok(());
        }
        line_no += 1;
        if !first_bytes.trim_ascii().is_empty() {
            break;
        }
    }
    let first_line = line_no;
    let new_batch = || Batch {
        source: source_name.to_string(),
        ..Batch::default()
    };
    let first = match String::from_utf8(first_bytes) {
        Ok(text) => text,
        Err(e) => {
            // Not text: a dead letter, and the rest is read as JSON lines.
            let mut batch = new_batch();
            push_event(&mut batch, not_utf8(e.into_bytes()), line_no);
            return read_lines(reader, batch, line_no, sink).map_err(io_err);
        }
    };
    match serde_json::from_str::<Value>(first.trim()) {
        Ok(v) if is_host_document(&v) || v.is_array() => {
            let mut rest = String::new();
            reader.read_to_string(&mut rest).map_err(io_err)?;
            let whole = if rest.trim().is_empty() {
                v
            } else {
                serde_json::from_str(&format!("{first}{rest}")).map_err(|e| {
                    ReplayInputError::Shape {
                        source_name: source_name.to_string(),
                        err: InvocationError::NotJson(e),
                    }
                })?
            };
            sink(from_document(&whole, source_name, first_line)?);
            return Ok(());
        }
        Ok(_) => {}
        Err(_) if first.trim_start().starts_with(['{', '[']) => {
            // Possibly a pretty-printed document spanning lines.
            let mut rest = String::new();
            reader.read_to_string(&mut rest).map_err(io_err)?;
            let text = format!("{first}{rest}");
            if let Ok(doc) = serde_json::from_str::<Value>(&text) {
                if is_host_document(&doc) || doc.is_array() {
                    sink(from_document(&doc, source_name, first_line)?);
                    return Ok(());
                }
            }
            // Not a document: treat as JSON lines (bad lines become dead letters).
            let mut batch = new_batch();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                push_line(&mut batch, line.to_string(), first_line + i as u64);
                if batch.is_full() {
                    sink(std::mem::take(&mut batch));
                }
            }
            if !batch.events.is_empty() {
                sink(batch);
            }
            return Ok(());
        }
        Err(_) => {}
    }
    let mut batch = new_batch();
    push_line(&mut batch, first, first_line);
    read_lines(reader, batch, first_line, sink).map_err(io_err)
}

/// The JSON lines after `line_no`, each on its own: a line that is not UTF-8 is a dead letter.
fn read_lines<R: BufRead>(
    mut reader: R,
    mut batch: Batch,
    mut line_no: u64,
    mut sink: impl FnMut(Batch),
) -> std::io::Result<()> {
    // Each line is read straight into the buffer that becomes its event: no second copy.
    let mut capacity = 1024;
    while let Some(buf) = next_line(&mut reader, capacity)? {
        line_no += 1;
        // The next line is probably about as long (a huge one-off line is not carried over).
        capacity = (buf.len() + buf.len() / 8).max(1024);
        if buf.trim_ascii().is_empty() {
            continue;
        }
        match String::from_utf8(buf) {
            Ok(line) => push_line(&mut batch, line, line_no),
            Err(e) => push_event(&mut batch, not_utf8(e.into_bytes()), line_no),
        }
        if batch.is_full() {
            let source = batch.source.clone();
            sink(std::mem::replace(
                &mut batch,
                Batch {
                    source,
                    ..Batch::default()
                },
            ));
        }
    }
    if !batch.events.is_empty() {
        sink(batch);
    }
    Ok(())
}

/// The next line with its `\n`, `None` at the end. A line already whole in the reader's buffer
/// (the common case: the buffer is larger than APIM's events) is copied once into a buffer of
/// its exact size; a longer one grows from `capacity`, the caller's guess.
fn next_line<R: BufRead>(reader: &mut R, capacity: usize) -> std::io::Result<Option<Vec<u8>>> {
    let available = reader.fill_buf()?;
    if available.is_empty() {
        return Ok(None);
    }
    if let Some(end) = memchr::memchr(b'\n', available) {
        let line = available[..=end].to_vec();
        reader.consume(end + 1);
        return Ok(Some(line));
    }
    let mut buf = Vec::with_capacity(capacity);
    reader.read_until(b'\n', &mut buf)?;
    Ok(Some(buf))
}

fn not_utf8(bytes: Vec<u8>) -> RawEvent {
    RawEvent::Undecodable {
        reason: "line is not UTF-8 text".into(),
        raw: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn push_event(batch: &mut Batch, event: RawEvent, line_no: u64) {
    if let RawEvent::Undecodable { raw, .. } = &event {
        batch.bytes += raw.len();
    }
    batch.events.push(event);
    batch.traces.push(Trace::default());
    batch.lines.push(line_no);
}

fn push_line(batch: &mut Batch, mut line: String, line_no: u64) {
    let end = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(end);
    batch.bytes += line.len();
    push_event(batch, RawEvent::Text(line), line_no);
}

/// What a replay saw, summed over its batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    pub events: u64,
    pub records: u64,
    /// Events that are not billable or not inference (no record written).
    pub skipped: u64,
    pub dead_letters: u64,
}

/// Runs one batch through the core, its events spread across rayon's pool; the records and dead
/// letters come back in input order and are added to `counts`.
pub fn run_batch(
    batch: &Batch,
    cfg: &EngineConfig,
    counts: &mut ReplayCounts,
) -> (Vec<UsageRecord>, Vec<DeadLetter>) {
    let results: Vec<EventResult> = batch
        .events
        .par_iter()
        .zip(batch.traces.par_iter())
        .map(|(raw, trace)| process_raw(raw, trace, cfg))
        .collect();
    let mut records: Vec<UsageRecord> = Vec::new();
    let mut dead: Vec<DeadLetter> = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        counts.events += 1;
        match r {
            EventResult::Record(rec) => records.push(*rec),
            EventResult::Skipped(_) => counts.skipped += 1,
            EventResult::Dead(mut d) => {
                d.source = Some(batch.source.clone());
                d.line = batch.lines.get(i).copied();
                dead.push(d);
            }
        }
    }
    counts.records += records.len() as u64;
    counts.dead_letters += dead.len() as u64;
    (records, dead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_batch_keeps_input_order_and_counts_every_event() {
        let text = concat!(
            r#"{"requestId":"a","statusCode":200,"response":"{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}"}"#,
            "\n",
            "not json\n",
            r#"{"requestId":"b","statusCode":429}"#,
            "\n",
            r#"{"requestId":"c","statusCode":200,"response":"{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}"}"#,
            "\n"
        );
        let mut batches = Vec::new();
        read_batches(text.as_bytes(), "test", |b| batches.push(b)).unwrap();
        let mut counts = ReplayCounts::default();
        let (records, dead) = run_batch(&batches[0], &EngineConfig::default(), &mut counts);
        let ids: Vec<&str> = records.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (dead[0].source.as_deref(), dead[0].line),
            (Some("test"), Some(2))
        );
        assert_eq!(
            counts,
            ReplayCounts {
                events: 4,
                records: 2,
                skipped: 1,
                dead_letters: 1
            }
        );
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_dead_letter_with_its_file_and_line_and_the_rest_is_read() {
        let good = r#"{"requestId":"a","statusCode":200,"response":"{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}"}"#;
        for bad_first in [false, true] {
            let mut bytes = Vec::new();
            if !bad_first {
                bytes.extend_from_slice(format!("{good}\n").as_bytes());
            }
            bytes.extend_from_slice(b"{\"requestId\":\"\xff\xfe\"}\n");
            bytes.extend_from_slice(format!("{}\n", good.replace("\"a\"", "\"b\"")).as_bytes());
            let mut batches = Vec::new();
            read_batches(&bytes[..], "day.jsonl", |b| batches.push(b)).unwrap();
            let mut counts = ReplayCounts::default();
            let mut ids = Vec::new();
            let mut dead = Vec::new();
            for b in &batches {
                let (r, d) = run_batch(b, &EngineConfig::default(), &mut counts);
                ids.extend(r.into_iter().map(|r| r.request_id));
                dead.extend(d);
            }
            let expect: &[&str] = if bad_first { &["b"] } else { &["a", "b"] };
            assert_eq!(ids, expect);
            assert_eq!(dead.len(), 1);
            assert_eq!(dead[0].reason, "line is not UTF-8 text");
            let line = if bad_first { 1 } else { 2 };
            assert_eq!(
                (dead[0].source.as_deref(), dead[0].line),
                (Some("day.jsonl"), Some(line))
            );
        }
    }
}
