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
pub const BYTES_PER_BATCH: usize = 16 << 20;

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplayInputError {
    #[error("{source_name}: cannot read: {err}")]
    Io {
        source_name: String,
        #[source]
        err: std::io::Error,
    },
    #[error(
        "{source_name}: not JSON lines, a JSON array of events, nor a host request body: {err}"
    )]
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

fn from_document(doc: &Value, source_name: &str) -> Result<Batch, ReplayInputError> {
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
        events: inv.events,
        traces,
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
    let io_err = |err| io_error(source_name, err);
    // The first non-empty line decides the shape.
    let Some(first) = first_line(&mut reader).map_err(io_err)? else {
        return Ok(());
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
            sink(from_document(&whole, source_name)?);
            Ok(())
        }
        Err(_) if first.trim_start().starts_with(['{', '[']) => {
            // Possibly a pretty-printed document spanning lines.
            let mut rest = String::new();
            reader.read_to_string(&mut rest).map_err(io_err)?;
            document_or_lines(&format!("{first}{rest}"), source_name, sink)
        }
        _ => stream_lines(first, reader, source_name, sink),
    }
}

fn io_error(source_name: &str, err: std::io::Error) -> ReplayInputError {
    ReplayInputError::Io {
        source_name: source_name.to_string(),
        err,
    }
}

/// The first line that is not blank; `None` at the end of the input.
fn first_line(reader: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut first = String::new();
    loop {
        first.clear();
        if reader.read_line(&mut first)? == 0 {
            return Ok(None);
        }
        if !first.trim().is_empty() {
            return Ok(Some(first));
        }
    }
}

/// A whole text that did not parse line by line: a document spanning lines, else JSON lines
/// (bad lines become dead letters).
fn document_or_lines(
    text: &str,
    source_name: &str,
    mut sink: impl FnMut(Batch),
) -> Result<(), ReplayInputError> {
    if let Ok(doc) = serde_json::from_str::<Value>(text) {
        if is_host_document(&doc) || doc.is_array() {
            sink(from_document(&doc, source_name)?);
            return Ok(());
        }
    }
    let mut batch = Batch::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        push_line(&mut batch, line.to_string());
        if batch.is_full() {
            sink(std::mem::take(&mut batch));
        }
    }
    if !batch.events.is_empty() {
        sink(batch);
    }
    Ok(())
}

/// JSON lines from `first` on, streamed in batches. Each line is read straight into the buffer
/// that becomes its event: no second copy.
fn stream_lines<R: BufRead>(
    first: String,
    mut reader: R,
    source_name: &str,
    mut sink: impl FnMut(Batch),
) -> Result<(), ReplayInputError> {
    let io_err = |err| io_error(source_name, err);
    let mut batch = Batch::default();
    push_line(&mut batch, first);
    let mut capacity = 1024;
    loop {
        let mut buf = Vec::with_capacity(capacity);
        if reader.read_until(b'\n', &mut buf).map_err(io_err)? == 0 {
            break;
        }
        // The next line is probably about as long (a huge one-off line is not carried over).
        capacity = (buf.len() + buf.len() / 8).max(1024);
        let line = String::from_utf8(buf)
            .map_err(|e| io_err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        if line.trim().is_empty() {
            continue;
        }
        push_line(&mut batch, line);
        if batch.is_full() {
            sink(std::mem::take(&mut batch));
        }
    }
    if !batch.events.is_empty() {
        sink(batch);
    }
    Ok(())
}

fn push_line(batch: &mut Batch, mut line: String) {
    let end = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(end);
    batch.bytes += line.len();
    batch.events.push(RawEvent::Text(line));
    batch.traces.push(Trace::default());
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
    for r in results {
        counts.events += 1;
        match r {
            EventResult::Record(rec) => records.push(*rec),
            EventResult::Skipped(_) => counts.skipped += 1,
            EventResult::Dead(d) => dead.push(d),
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
            counts,
            ReplayCounts {
                events: 4,
                records: 2,
                skipped: 1,
                dead_letters: 1
            }
        );
    }
}
