//! Reading ledgers: usage-record JSON lines (the handler's `usage` output), one line at a time.
//! An unreadable line is reported by its position and serde's error category only: its text can
//! hold anything (a wrong file of raw APIM events would hold prompts).

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::{self, BufRead};

use chargeback_core::UsageRecord;

/// Why a line is not a usage record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadLineKind {
    /// The line is not UTF-8 text.
    InvalidUtf8,
    /// serde's category of the JSON error (syntax, data, end of input), and the 1-based column
    /// where it stopped.
    Json(serde_json::error::Category, usize),
}

/// A line that is not a usage record: where it is, never what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The input's name (a file path, `<stdin>`, a blob name).
    pub source: String,
    /// 1-based line number in its input.
    pub line: u64,
    /// Why it was skipped.
    pub kind: BadLineKind,
    /// How many unreadable lines this reader has seen so far, this one included.
    pub ordinal: u64,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            BadLineKind::InvalidUtf8 => write!(
                f,
                "{}:{}: not a usage record (not UTF-8 text)",
                self.source, self.line
            ),
            BadLineKind::Json(category, column) => write!(
                f,
                "{}:{}: not a usage record ({category:?} error at column {column})",
                self.source, self.line
            ),
        }
    }
}

/// What a reading saw, summed over every input read by the same [`LedgerReader`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerCounts {
    /// Non-blank lines read.
    pub rows: u64,
    /// Lines skipped because they are not usage records (counted, reported, never a stop).
    pub unreadable: u64,
    /// Rows whose `requestId` was already taken, with the same billing fields (a redelivery:
    /// only trace fields — partition, sequence number, invocation id, enqueued time — differ).
    pub duplicates_identical: u64,
    /// Rows whose `requestId` was already taken but whose billing fields (tokens, cost,
    /// consumer, model, deployment, status) differ. The first row read still wins.
    pub duplicates_conflicting: u64,
}

impl LedgerCounts {
    /// Every duplicate, identical or conflicting.
    pub fn duplicates(&self) -> u64 {
        self.duplicates_identical + self.duplicates_conflicting
    }
}

/// The one ledger reader: named inputs read as bytes, every line on its own, deduplicated by
/// `requestId` (the first row read wins) across every input it reads.
#[derive(Debug, Default)]
pub struct LedgerReader {
    counts: LedgerCounts,
    seen: HashMap<String, u64>,
}

impl LedgerReader {
    /// A reader that has seen nothing.
    pub fn new() -> LedgerReader {
        LedgerReader::default()
    }

    /// What it has seen so far.
    pub fn counts(&self) -> LedgerCounts {
        self.counts
    }

    /// Reads the input named `source` line by line: `each` gets every record whose `requestId`
    /// is new, `bad` every line that is not a usage record (invalid UTF-8 or bad JSON). Blank
    /// lines are skipped. Fails only when the reader does (the lines before were handed on).
    pub fn read<R: BufRead>(
        &mut self,
        source: &str,
        mut reader: R,
        mut each: impl FnMut(UsageRecord),
        mut bad: impl FnMut(&BadLine),
    ) -> io::Result<()> {
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                return Ok(());
            }
            line_no += 1;
            if buf.trim_ascii().is_empty() {
                continue;
            }
            self.counts.rows += 1;
            match self.parse(&buf) {
                Ok(r) => {
                    if self.is_first(&r) {
                        each(r);
                    }
                }
                Err(kind) => {
                    self.counts.unreadable += 1;
                    bad(&BadLine {
                        source: source.to_string(),
                        line: line_no,
                        kind,
                        ordinal: self.counts.unreadable,
                    });
                }
            }
        }
    }

    fn parse(&self, line: &[u8]) -> Result<UsageRecord, BadLineKind> {
        let text = std::str::from_utf8(line).map_err(|_| BadLineKind::InvalidUtf8)?;
        serde_json::from_str::<UsageRecord>(text)
            .map_err(|e| BadLineKind::Json(e.classify(), e.column()))
    }

    /// True when `r` is the first row of its `requestId`; counts the duplicate otherwise.
    fn is_first(&mut self, r: &UsageRecord) -> bool {
        let billing = billing_fingerprint(r);
        match self.seen.entry(r.request_id.clone()) {
            Entry::Vacant(v) => {
                v.insert(billing);
                true
            }
            Entry::Occupied(o) => {
                if *o.get() == billing {
                    self.counts.duplicates_identical += 1;
                } else {
                    self.counts.duplicates_conflicting += 1;
                }
                false
            }
        }
    }
}

/// A hash of the fields a bill depends on: tokens, cost, consumer, model, deployment, status.
/// Trace fields (partition, sequence number, invocation id, enqueued time) are left out.
fn billing_fingerprint(r: &UsageRecord) -> u64 {
    let fields = serde_json::json!([
        r.prompt_tokens,
        r.completion_tokens,
        r.total_tokens,
        r.cached_tokens,
        r.reasoning_tokens,
        r.cost,
        r.consumer,
        r.model,
        r.deployment,
        r.status_code,
        r.billable,
    ]);
    let mut h = DefaultHasher::new();
    fields.to_string().hash(&mut h);
    h.finish()
}

/// The rows marked `telemetryUndelivered`, each `requestId` once (the first row seen wins), for
/// `chargeback resend`.
#[derive(Debug, Default)]
pub struct Undelivered {
    /// The marked rows, in reading order.
    pub rows: Vec<UsageRecord>,
    /// Marked rows skipped because their `requestId` was already taken.
    pub duplicates: u64,
    seen: HashSet<String>,
}

impl Undelivered {
    /// Takes `r` when it is marked and its `requestId` is new.
    pub fn add(&mut self, r: UsageRecord) {
        if !r.telemetry_undelivered {
            return;
        }
        if self.seen.insert(r.request_id.clone()) {
            self.rows.push(r);
        } else {
            self.duplicates += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, marked: bool) -> String {
        row_with(id, marked, 1, "p-0")
    }

    fn row_with(id: &str, marked: bool, prompt: u64, partition: &str) -> String {
        format!(
            r#"{{"requestId":"{id}","eventTime":"2026-11-02T09:15:00Z","consumer":{{}},"apiOperation":"ChatCompletion","stream":false,"statusCode":200,"billable":true,"promptTokens":{prompt},"completionTokens":1,"totalTokens":2,"cachedTokens":0,"reasoningTokens":0,"countSource":"usage","partitionId":"{partition}","telemetryUndelivered":{marked}}}"#
        )
    }

    fn read_all(inputs: &[(&str, &[u8])]) -> (Vec<String>, Vec<BadLine>, LedgerCounts) {
        let mut reader = LedgerReader::new();
        let (mut ids, mut bad) = (Vec::new(), Vec::new());
        for (name, bytes) in inputs {
            reader
                .read(
                    name,
                    *bytes,
                    |r| ids.push(r.request_id),
                    |b| bad.push(b.clone()),
                )
                .unwrap();
        }
        (ids, bad, reader.counts())
    }

    #[test]
    fn an_unreadable_line_is_reported_by_position_and_the_rest_is_read() {
        let text = format!(
            "{}\n\nnot json \"secret\"\n{}\n",
            row("a", false),
            row("b", true)
        );
        let (ids, bad, counts) = read_all(&[("usage.jsonl", text.as_bytes())]);
        assert_eq!(ids, ["a", "b"]);
        assert_eq!((counts.rows, counts.unreadable), (3, 1));
        assert_eq!(bad.len(), 1);
        assert_eq!((bad[0].line, bad[0].ordinal), (3, 1));
        assert_eq!(bad[0].source, "usage.jsonl");
        assert!(!bad[0].to_string().contains("secret"));
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_counted_skip_with_its_source_and_line_and_the_rest_is_read() {
        let mut bytes = format!("{}\n", row("a", false)).into_bytes();
        bytes.extend_from_slice(b"{\"requestId\":\"\xff\xfe\"}\n");
        bytes.extend_from_slice(format!("{}\n", row("b", false)).as_bytes());
        let (ids, bad, counts) = read_all(&[("day-1.jsonl", &bytes)]);
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(counts.unreadable, 1);
        assert_eq!(bad[0].kind, BadLineKind::InvalidUtf8);
        assert_eq!(
            bad[0].to_string(),
            "day-1.jsonl:2: not a usage record (not UTF-8 text)"
        );
    }

    #[test]
    fn a_redelivery_differing_only_in_trace_fields_is_an_identical_duplicate() {
        let a = row_with("a", false, 5, "p-0");
        let again = row_with("a", false, 5, "p-3");
        let text = format!("{a}\n{again}\n");
        let (ids, _, counts) = read_all(&[("x", text.as_bytes())]);
        assert_eq!(ids, ["a"]);
        assert_eq!(
            (counts.duplicates_identical, counts.duplicates_conflicting),
            (1, 0)
        );
    }

    #[test]
    fn the_same_request_id_with_other_tokens_is_a_conflicting_duplicate_and_the_first_wins() {
        let first = row_with("a", false, 5, "p-0");
        let other = row_with("a", false, 9, "p-0");
        let (ids, _, counts) = read_all(&[
            ("one.jsonl", first.as_bytes()),
            ("two.jsonl", other.as_bytes()),
        ]);
        assert_eq!(ids, ["a"]);
        assert_eq!(
            (counts.duplicates_identical, counts.duplicates_conflicting),
            (0, 1)
        );
        assert_eq!(counts.duplicates(), 1);
    }

    #[test]
    fn marked_rows_are_taken_once_per_request_id() {
        let text = [
            row("a", true),
            row("a", true),
            row("b", false),
            row("c", true),
        ]
        .join("\n");
        let mut undelivered = Undelivered::default();
        let mut reader = LedgerReader::new();
        reader
            .read("x", text.as_bytes(), |r| undelivered.add(r), |_| {})
            .unwrap();
        let ids: Vec<&str> = undelivered
            .rows
            .iter()
            .map(|r| r.request_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(reader.counts().duplicates_identical, 1);
    }
}
