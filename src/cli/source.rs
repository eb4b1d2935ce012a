//! Command inputs: file paths, `-` (stdin), blob container URLs (the ledger's container or a
//! Capture container; feature `blob`) and Event Hubs Capture files (`.avro`). [`read_ledgers`] is
//! the one reading path of the ledger commands (`report`, `resend`, `statement`).
//!
//! A container's blobs are read in name order with a bounded number in flight
//! (`chargeback-storage`); each blob reaches the ledger reader whole or not at all (an unreadable
//! blob is named on stderr, and none of it is counted). A SAS signature never appears in a
//! message: containers are shown through `ContainerUrl`'s display, which drops it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use chargeback_billing::{BadLine, LedgerCounts, LedgerReader};
use chargeback_capture::{read_capture, BadRecord, CaptureError};
use chargeback_core::{Batch, RawEvent, Trace, UsageRecord, LINES_PER_BATCH};

use super::exit::{Outcome, Outcomes};
use super::select::Selection;
use super::{input_reader, inputs_or_stdin};

/// What a container holds for a command: ledger blobs (`usage-…`, listed by the selection's
/// days) or Capture files (every `.avro` blob under the URL's prefix).
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

/// True when `replay` reads this path as an Event Hubs Capture file.
pub(crate) fn is_capture_file(arg: &Path) -> bool {
    arg.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("avro"))
}

/// What [`read_ledgers`] saw.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LedgerRead {
    /// Lines, unreadable lines and duplicates, over every input.
    pub(crate) counts: LedgerCounts,
    /// Records (each the first of its requestId) whose eventTime is outside the selection: not
    /// handed on, not counted.
    pub(crate) outside: u64,
    /// Listed blobs that could not be read (each named on stderr; none of it counted).
    pub(crate) unreadable_blobs: u64,
}

impl LedgerRead {
    /// The exit outcomes of the reading itself: rejects (3) for skipped lines and unreadable
    /// blobs. The command adds its own.
    pub(crate) fn outcomes(&self) -> Outcomes {
        let mut o = Outcomes::default();
        o.count(
            Outcome::Rejects,
            self.counts.unreadable,
            "unreadable lines skipped",
        );
        o.count(
            Outcome::Rejects,
            self.unreadable_blobs,
            "blobs could not be read",
        );
        o
    }
}

/// Reads ledgers — files, `-` (stdin; also when `inputs` is empty) and container URLs, in the
/// order given — through one [`LedgerReader`] (deduplicated by requestId across all of them, the
/// first row read wins) and hands each record inside `select` to `each`. `prefix` (the command,
/// `chargeback report`) starts every stderr line: the first five unreadable lines by input and
/// line (a blob is `CONTAINER/BLOB`), each unreadable blob, and, with a selection, how many
/// records were outside it. Fails (exit 1) when an input cannot be opened, a container cannot
/// be listed, or none of a container's listed blobs could be read.
pub(crate) fn read_ledgers(
    inputs: &[PathBuf],
    select: &Selection,
    prefix: &str,
    mut each: impl FnMut(UsageRecord),
) -> Result<LedgerRead> {
    let mut reader = LedgerReader::new();
    let mut read = LedgerRead::default();
    let mut outside = 0u64;
    let mut keep = |r: UsageRecord| {
        if select.contains(&r) {
            each(r)
        } else {
            outside += 1;
        }
    };
    let report = |b: &BadLine| {
        if b.ordinal <= 5 {
            eprintln!("{prefix}: {b}");
        }
    };
    for arg in &inputs_or_stdin(inputs) {
        if is_container_url(arg) {
            read.unreadable_blobs +=
                each_blob(arg, Kind::Ledger, select, prefix, |name, bytes| {
                    // A byte slice cannot fail to read.
                    let _ = reader.read(name, bytes, &mut keep, report);
                })?;
        } else {
            let (name, input) = input_reader(arg)?;
            reader
                .read(&name, input, &mut keep, report)
                .with_context(|| format!("cannot read {name}"))?;
        }
    }
    read.counts = reader.counts();
    read.outside = outside;
    if !select.is_everything() {
        eprintln!(
            "{prefix}: {} records outside the period {select} not counted",
            read.outside
        );
    }
    Ok(read)
}

/// Reads the container `arg` and hands each blob to `each` as `(CONTAINER/BLOB, bytes)`, in
/// name order: ledger blobs of the selection's listing window, or every `.avro` blob of a
/// Capture container. Unreadable blobs are named on stderr; returns how many. Fails when the
/// container cannot be listed, or when it listed blobs and none could be read.
#[cfg(feature = "blob")]
pub(crate) fn each_blob(
    arg: &Path,
    kind: Kind,
    select: &Selection,
    prefix: &str,
    mut each: impl FnMut(&str, &[u8]),
) -> Result<u64> {
    use chargeback_storage::{
        fetch_each_blocking, terminal_progress, ContainerUrl, ListWindow, SourceOptions,
        LEDGER_STEM,
    };
    use std::io::IsTerminal;

    let url = ContainerUrl::parse(arg.to_str().unwrap_or_default())?;
    let window = match (kind, select.bounds()) {
        (Kind::Ledger, Some((since, until))) => Some(ListWindow::events_between(since, until)?),
        _ => None,
    };
    let stem = if kind == Kind::Ledger {
        LEDGER_STEM
    } else {
        ""
    };
    let options = SourceOptions {
        progress: terminal_progress(std::io::stderr().is_terminal()),
        ..Default::default()
    };
    let container = url.container().to_string();
    let mut unreadable = 0u64;
    let listed = fetch_each_blocking(&url, window.as_ref(), stem, options, |got| match got {
        Ok(b) if kind == Kind::Ledger || is_capture_file(Path::new(&b.name)) => {
            each(&format!("{container}/{}", b.name), &b.bytes)
        }
        Ok(_) => {}
        Err(u) => {
            unreadable += 1;
            eprintln!(
                "{prefix}: {url}: blob {} could not be read ({}); none of it was counted",
                u.name, u.reason
            );
        }
    })?;
    if listed == 0 {
        eprintln!("{prefix}: {url}: no blobs to read (empty container, prefix or window)");
    } else if unreadable == listed as u64 {
        anyhow::bail!("{url}: none of the {listed} listed blobs could be read");
    }
    Ok(unreadable)
}

/// Without the `blob` feature (the Functions package), a container URL is refused.
#[cfg(not(feature = "blob"))]
pub(crate) fn each_blob(
    arg: &Path,
    _: Kind,
    _: &Selection,
    _: &str,
    _: impl FnMut(&str, &[u8]),
) -> Result<u64> {
    let shown = arg.to_str().and_then(|s| s.split('?').next()).unwrap_or("");
    anyhow::bail!("{shown}: this build has no blob support (built without the `blob` feature)")
}

/// A Capture file as batches for the core, named `name` (its path or `CONTAINER/BLOB`: the
/// partition comes from it): each record's `Body` is an APIM event, its partition, sequence
/// number and enqueued time go on the trace, and its 1-based position in the file stands for
/// the line in dead letters. Also gives the records that could not be taken.
pub(crate) fn capture_batches(
    name: &str,
    bytes: &[u8],
) -> Result<(Vec<Batch>, Vec<BadRecord>), CaptureError> {
    let file = read_capture(bytes, name)?;
    let batches = file
        .events
        .chunks(LINES_PER_BATCH)
        .map(|chunk| {
            let mut batch = Batch::default();
            batch.source = name.to_string();
            for e in chunk {
                batch.events.push(RawEvent::Text(e.body.clone()));
                batch.lines.push(e.index as u64 + 1);
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
    Ok((batches, file.bad))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(is_capture_file(Path::new(
            "ns/hub/0/2026/11/02/09/00/00.AVRO"
        )));
        assert!(!is_capture_file(Path::new("events.jsonl")));
    }
}
