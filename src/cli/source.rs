//! Command inputs as named byte inputs: file paths, `-` (stdin), blob container URLs (the
//! ledger's container, or a Capture container; feature `blob`) and Event Hubs Capture files
//! (`.avro`); and the `--period/--since/--until` selection of records by `eventTime`.
//!
//! A container is read whole before anything is counted (`chargeback-storage` hands over each
//! blob complete or names it as unreadable), so nothing is half-counted. A SAS signature never
//! appears in a message: containers are shown through `ContainerUrl`'s display, which drops it.

use std::io::{BufRead, Cursor};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use clap::Args;

use chargeback_core::{parse_time, Batch, RawEvent, Trace, UsageRecord, LINES_PER_BATCH};

use super::input_reader;

/// `--period` / `--since` / `--until`: which records count, by their `eventTime` (UTC days,
/// inclusive). With a container URL the listing is narrowed by blob name to the same days plus
/// the backlog days (see docs/blob-ledger.md); the selection itself is always by `eventTime`.
#[derive(Args, Clone, Default)]
pub(crate) struct SelectArgs {
    /// Only records whose eventTime falls in this calendar month (UTC), `YYYY-MM`.
    #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["since", "until"])]
    period: Option<String>,
    /// Only records whose eventTime is on or after this UTC day, `YYYY-MM-DD`.
    #[arg(long, value_name = "YYYY-MM-DD")]
    since: Option<NaiveDate>,
    /// Only records whose eventTime is on or before this UTC day, `YYYY-MM-DD`.
    #[arg(long, value_name = "YYYY-MM-DD")]
    until: Option<NaiveDate>,
}

/// The chosen UTC days (inclusive); no bound means open on that side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
}

impl SelectArgs {
    pub(crate) fn selection(&self) -> Result<Selection> {
        if let Some(p) = &self.period {
            return Selection::period(p);
        }
        if let (Some(s), Some(u)) = (self.since, self.until) {
            if u < s {
                bail!("--until {u} is before --since {s}");
            }
        }
        Ok(Selection {
            since: self.since,
            until: self.until,
        })
    }
}

impl Selection {
    /// A calendar month `YYYY-MM`.
    pub(crate) fn period(p: &str) -> Result<Selection> {
        let first = NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d")
            .ok()
            .filter(|d| p.len() == 7 && d.day() == 1)
            .with_context(|| format!("--period {p:?} is not YYYY-MM"))?;
        let last = first
            .checked_add_months(Months::new(1))
            .and_then(|d| d.pred_opt())
            .with_context(|| format!("--period {p:?} is out of range"))?;
        Ok(Selection {
            since: Some(first),
            until: Some(last),
        })
    }

    /// True when `r`'s `eventTime` is inside the selection; a record without a readable time is
    /// kept only when nothing is selected.
    pub(crate) fn contains(&self, r: &UsageRecord) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        parse_time(&r.event_time).is_some_and(|t| self.contains_time(t))
    }

    fn contains_time(&self, t: DateTime<Utc>) -> bool {
        let day = t.date_naive();
        self.since.is_none_or(|s| day >= s) && self.until.is_none_or(|u| day <= u)
    }

    /// The blob listing window for a container (`None`: list everything under the prefix).
    #[cfg(feature = "blob")]
    fn window(&self) -> Result<Option<chargeback_storage::ListWindow>> {
        let (Some(since), Some(until)) = (self.since, self.until) else {
            // Open-ended: blob names cannot bound it; list everything.
            return Ok(None);
        };
        Ok(Some(chargeback_storage::ListWindow::events_between(
            since, until,
        )?))
    }
}

/// One input, named as messages show it (a path, `<stdin>`, or `CONTAINER/BLOB`).
pub(crate) enum Named {
    File(PathBuf),
    Bytes { name: String, bytes: Vec<u8> },
}

impl Named {
    /// The input as a line reader.
    pub(crate) fn open(self) -> Result<(String, Box<dyn BufRead>)> {
        match self {
            Named::File(p) => input_reader(&p),
            Named::Bytes { name, bytes } => Ok((name, Box::new(Cursor::new(bytes)))),
        }
    }

    /// The input's bytes and name, read whole (for Capture files).
    fn into_bytes(self) -> Result<(String, Vec<u8>)> {
        match self {
            Named::File(p) => {
                let bytes =
                    std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
                Ok((p.display().to_string(), bytes))
            }
            Named::Bytes { name, bytes } => Ok((name, bytes)),
        }
    }
}

/// The inputs of a command, and how many listed blobs could not be read (each already named on
/// stderr).
#[derive(Default)]
pub(crate) struct Gathered {
    pub(crate) inputs: Vec<Named>,
    pub(crate) unreadable_blobs: usize,
}

/// What a container holds for a command: ledger blobs (`usage-…`, windowed by the selection) or
/// Capture files (every `.avro` blob under the URL's prefix).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ledger,
    Capture,
}

/// True when the argument is a blob container URL rather than a path.
pub(crate) fn is_container_url(arg: &Path) -> bool {
    arg.to_str()
        .is_some_and(|s| s.starts_with("https://") || s.starts_with("http://"))
}

/// Turns command arguments into named inputs: paths (and `-`) as they are, stdin when there are
/// none, each container URL read whole. `report`, `statement` and `resend` call this for
/// ledgers (`Kind::Ledger`), `replay` for Capture containers. Fails (exit 1) when a container
/// cannot be listed, or when it listed blobs and none could be read.
pub(crate) fn gather(args: &[PathBuf], kind: Kind, select: &Selection) -> Result<Gathered> {
    let mut out = Gathered::default();
    if args.is_empty() {
        out.inputs.push(Named::File(PathBuf::from("-")));
    }
    for arg in args {
        if is_container_url(arg) {
            read_container(arg, kind, select, &mut out)?;
        } else {
            out.inputs.push(Named::File(arg.clone()));
        }
    }
    Ok(out)
}

#[cfg(not(feature = "blob"))]
fn read_container(arg: &Path, _: Kind, _: &Selection, _: &mut Gathered) -> Result<()> {
    let shown = arg.to_str().and_then(|s| s.split('?').next()).unwrap_or("");
    bail!("{shown}: this build has no blob support (built without the `blob` feature)")
}

#[cfg(feature = "blob")]
fn read_container(arg: &Path, kind: Kind, select: &Selection, out: &mut Gathered) -> Result<()> {
    use chargeback_storage::{fetch_blocking, terminal_progress, ContainerUrl, SourceOptions};
    use std::io::IsTerminal;

    let text = arg.to_str().unwrap_or_default();
    let url = ContainerUrl::parse(text)?;
    let (window, stem) = match kind {
        Kind::Ledger => (select.window()?, chargeback_storage::LEDGER_STEM),
        Kind::Capture => (None, ""),
    };
    let options = SourceOptions {
        progress: terminal_progress(std::io::stderr().is_terminal()),
        ..Default::default()
    };
    let read = fetch_blocking(&url, window.as_ref(), stem, options)?;
    for u in &read.unreadable {
        eprintln!(
            "chargeback: {url}: blob {} could not be read ({}); none of it was counted",
            u.name, u.reason
        );
    }
    if read.blobs.is_empty() && !read.unreadable.is_empty() {
        bail!(
            "{url}: none of the {} listed blobs could be read",
            read.unreadable.len()
        );
    }
    if read.blobs.is_empty() {
        eprintln!("chargeback: {url}: no blobs to read (empty container, prefix or window)");
    }
    out.unreadable_blobs += read.unreadable.len();
    let container = url.container();
    out.inputs.extend(
        read.blobs
            .into_iter()
            .filter(|b| kind == Kind::Ledger || b.name.ends_with(".avro"))
            .map(|b| Named::Bytes {
                name: format!("{container}/{}", b.name),
                bytes: b.bytes,
            }),
    );
    Ok(())
}

/// True when `replay` should read this input as Event Hubs Capture Avro: a local `.avro` path
/// or a blob from a Capture container.
pub(crate) fn is_capture(input: &Named) -> bool {
    match input {
        Named::File(p) => p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("avro")),
        Named::Bytes { .. } => true,
    }
}

/// A Capture file as batches for the core: each record's `Body` is the APIM event, its
/// partition, sequence number and enqueued time go on the trace (the `Offset` has no trace
/// field; the sequence number already orders a partition). Returns the batches and how many
/// records (or whole files) were rejected, each named on stderr by position.
pub(crate) fn capture_batches(input: Named) -> Result<(Vec<Batch>, usize)> {
    let (name, bytes) = input.into_bytes()?;
    let file = match chargeback_capture::read_capture(&bytes, &name) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("chargeback replay: {e}");
            return Ok((Vec::new(), 1));
        }
    };
    for b in &file.bad {
        eprintln!(
            "chargeback replay: {name}: record {} skipped: {}",
            b.index, b.reason
        );
    }
    let batches = file
        .events
        .chunks(LINES_PER_BATCH)
        .map(|chunk| {
            let mut batch = Batch::default();
            for e in chunk {
                batch.events.push(RawEvent::Text(e.body.clone()));
                batch.traces.push(Trace {
                    partition_id: e.partition_id.clone(),
                    sequence_number: Some(e.sequence_number),
                    enqueued_time: Some(e.enqueued_time.clone()),
                    invocation_id: None,
                });
            }
            batch
        })
        .collect();
    Ok((batches, file.bad.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_time(s).expect("a time")
    }

    #[test]
    fn a_period_takes_its_first_and_last_second_and_nothing_around_it() {
        let nov = Selection::period("2026-11").unwrap();
        assert!(nov.contains_time(at("2026-11-01T00:00:00Z")));
        assert!(nov.contains_time(at("2026-11-30T23:59:59.999Z")));
        assert!(!nov.contains_time(at("2026-10-31T23:59:59Z")));
        assert!(!nov.contains_time(at("2026-12-01T00:00:00Z")));
        // An offset time is judged by its UTC day.
        assert!(!nov.contains_time(at("2026-11-30T23:30:00-01:00")));
    }

    #[test]
    fn a_malformed_period_is_refused() {
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "", "2026-11-01"] {
            assert!(Selection::period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_containers_and_everything_else_is_a_path() {
        assert!(is_container_url(Path::new(
            "https://a.blob.core.windows.net/c"
        )));
        assert!(is_container_url(Path::new(
            "http://127.0.0.1:10000/devstoreaccount1/c"
        )));
        assert!(!is_container_url(Path::new("usage.jsonl")));
        assert!(!is_container_url(Path::new("-")));
    }
}
