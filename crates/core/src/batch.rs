//! The batch runner: a decoded invocation (or a replay batch) through the core, events spread
//! across cores, results in input order; and the host's response body (`Outputs`, `Logs`,
//! `ReturnValue`).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::deadletter::DeadLetter;
use crate::engine::{process_event, EngineConfig, Outcome, SkipReason, Trace};
use crate::invocation::{Invocation, RawEvent};
use crate::record::UsageRecord;

/// The result of one batch through the core, in input order.
#[derive(Debug, Clone, Default)]
pub struct BatchResult {
    pub events: usize,
    pub records: Vec<UsageRecord>,
    pub dead_letters: Vec<DeadLetter>,
    pub skipped: BTreeMap<SkipReason, usize>,
    /// Billable records without a cost, by reason (`Unpriced::code()`): counted, never guessed.
    pub unpriced: BTreeMap<String, usize>,
}

impl BatchResult {
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

/// What happened to one event of a batch.
#[derive(Debug, Clone)]
pub enum EventResult {
    Record(Box<UsageRecord>),
    Skipped(SkipReason),
    Dead(DeadLetter),
}

/// Runs one event (raw or undecodable) through the core; never panics.
pub fn process_raw(raw: &RawEvent, trace: &Trace, cfg: &EngineConfig) -> EventResult {
    match raw {
        RawEvent::Undecodable { reason, raw } => {
            EventResult::Dead(DeadLetter::new(reason.clone(), raw, trace))
        }
        RawEvent::Text(text) => match process_event(text, trace, cfg) {
            Ok(Outcome::Record(r)) => EventResult::Record(r),
            Ok(Outcome::Skipped(s)) => EventResult::Skipped(s),
            Err(e) => EventResult::Dead(DeadLetter::new(e.to_string(), text, trace)),
        },
    }
}

/// Runs a decoded batch through the core, events spread across cores, results in input order.
pub fn process_invocation(
    inv: &Invocation,
    invocation_id: Option<&str>,
    cfg: &EngineConfig,
) -> BatchResult {
    let results: Vec<EventResult> = inv
        .events
        .par_iter()
        .enumerate()
        .map(|(i, raw)| process_raw(raw, &inv.trace(i, invocation_id), cfg))
        .collect();
    let mut out = BatchResult {
        events: inv.events.len(),
        ..BatchResult::default()
    };
    for r in results {
        match r {
            EventResult::Record(rec) => {
                if let Some(why) = &rec.unpriced {
                    *out.unpriced.entry(why.clone()).or_default() += 1;
                }
                out.records.push(*rec)
            }
            EventResult::Skipped(s) => *out.skipped.entry(s).or_default() += 1,
            EventResult::Dead(d) => out.dead_letters.push(d),
        }
    }
    out
}

/// JSON lines, one object per line, each line ending in `\n`.
pub fn json_lines<T: Serialize>(items: &[T]) -> String {
    let mut s = String::new();
    for item in items {
        if let Ok(line) = serde_json::to_string(item) {
            s.push_str(&line);
            s.push('\n');
        }
    }
    s
}

/// A one-line summary for `Logs` and tracing: counts only, never content.
pub fn summary_line(inv: &Invocation, result: &BatchResult, invocation_id: Option<&str>) -> String {
    let mut s = format!(
        "chargeback: {} events -> {} records, {} dead letters, {} skipped",
        result.events,
        result.records.len(),
        result.dead_letters.len(),
        result.skipped_total()
    );
    if !result.skipped.is_empty() {
        let parts: Vec<String> = result
            .skipped
            .iter()
            .map(|(k, v)| format!("{}={v}", k.as_str()))
            .collect();
        s.push_str(&format!(" ({})", parts.join(", ")));
    }
    if !result.unpriced.is_empty() {
        let parts: Vec<String> = result
            .unpriced
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        s.push_str(&format!("; unpriced {}", parts.join(", ")));
    }
    if let Some(p) = &inv.partition_id {
        s.push_str(&format!("; partition {p}"));
    }
    if let Some((a, b)) = inv.sequence_range() {
        s.push_str(&format!(" seq {a}-{b}"));
    }
    if let Some(r) = inv.retry {
        s.push_str(&format!("; retry {}/{}", r.retry_count, r.max_retry_count));
    }
    if let Some(id) = invocation_id {
        s.push_str(&format!("; invocation {id}"));
    }
    s
}

/// The response body the host expects. Outputs with nothing to write are omitted, so no empty
/// blob is created.
pub fn response_body(
    records: &[UsageRecord],
    dead_letters: &[DeadLetter],
    logs: Vec<String>,
) -> Value {
    let mut outputs = Map::new();
    if !records.is_empty() {
        outputs.insert("usage".into(), Value::String(json_lines(records)));
    }
    if !dead_letters.is_empty() {
        outputs.insert("deadletter".into(), Value::String(json_lines(dead_letters)));
    }
    serde_json::json!({
        "Outputs": outputs,
        "Logs": logs,
        "ReturnValue": null,
    })
}
