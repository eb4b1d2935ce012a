//! Reading ledgers: usage-record JSON lines (the handler's `usage` output), one line at a time.
//! An unreadable line is reported by its position and serde's error category only: its text can
//! hold anything (a wrong file of raw APIM events would hold prompts).

use std::collections::HashSet;
use std::io::{self, BufRead};

use chargeback_core::UsageRecord;

/// A line that is not a usage record: where it is, never what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number in its file.
    pub line: usize,
    /// 1-based column where serde stopped.
    pub column: usize,
    /// serde's category of the error (syntax, data, end of input).
    pub category: serde_json::error::Category,
    /// How many unreadable lines these counts have seen so far, this one included.
    pub ordinal: u64,
}

/// What a reading saw, summed over every ledger read with the same counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerCounts {
    /// Non-blank lines read.
    pub rows: u64,
    /// Lines that were not usage records.
    pub unreadable: u64,
}

/// Reads one ledger line by line: `each` gets every record, `bad` every unreadable line. Blank
/// lines are skipped. Fails only when the reader does.
pub fn read_ledger<R: BufRead>(
    reader: R,
    counts: &mut LedgerCounts,
    mut each: impl FnMut(UsageRecord),
    mut bad: impl FnMut(BadLine),
) -> io::Result<()> {
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        counts.rows += 1;
        match serde_json::from_str::<UsageRecord>(&line) {
            Ok(r) => each(r),
            Err(e) => {
                counts.unreadable += 1;
                bad(BadLine {
                    line: n + 1,
                    column: e.column(),
                    category: e.classify(),
                    ordinal: counts.unreadable,
                });
            }
        }
    }
    Ok(())
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
        format!(
            r#"{{"requestId":"{id}","eventTime":"2026-11-02T09:15:00Z","consumer":{{}},"apiOperation":"ChatCompletion","stream":false,"statusCode":200,"billable":true,"promptTokens":1,"completionTokens":1,"totalTokens":2,"cachedTokens":0,"reasoningTokens":0,"countSource":"usage","telemetryUndelivered":{marked}}}"#
        )
    }

    #[test]
    fn an_unreadable_line_is_reported_by_position_and_the_rest_is_read() {
        let text = format!(
            "{}\n\nnot json \"secret\"\n{}\n",
            row("a", false),
            row("b", true)
        );
        let mut counts = LedgerCounts::default();
        let (mut ids, mut bad) = (Vec::new(), Vec::new());
        read_ledger(
            text.as_bytes(),
            &mut counts,
            |r| ids.push(r.request_id),
            |b| bad.push(b),
        )
        .unwrap();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(
            counts,
            LedgerCounts {
                rows: 3,
                unreadable: 1
            }
        );
        assert_eq!(bad.len(), 1);
        assert_eq!((bad[0].line, bad[0].ordinal), (3, 1));
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
        read_ledger(
            text.as_bytes(),
            &mut LedgerCounts::default(),
            |r| undelivered.add(r),
            |_| {},
        )
        .unwrap();
        let ids: Vec<&str> = undelivered
            .rows
            .iter()
            .map(|r| r.request_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(undelivered.duplicates, 1);
    }
}
