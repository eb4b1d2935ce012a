//! Checks that the fast stream paths read what the general ones read: the differential tests,
//! property tests and fuzz targets call these. The billing path does not.
//!
//! The general path is the full pass over every chunk with the serde chunk reader. A record
//! uses a stream's facts (usage, model, operation; `damaged` only when there is no usage) and,
//! when there is no usage, its texts; so the fast path must give exactly those. For a whole
//! event, the general path decodes its bodies when it reads the event; the fast path keeps them
//! escaped and decodes only what it reads, and both must give the same record or refusal.

use crate::engine::{process_event, process_event_decoded, EngineConfig, Trace};
use crate::response::{read_response, ResponseFacts};
use crate::scan::scan_chunk;
use crate::sse;
use crate::stream::{scan_stream_with, Readers};

/// `Err` (saying what differs) when the chunk scanner reads `data` (one chunk's JSON text)
/// otherwise than the serde chunk reader. "Not mine" always agrees.
pub fn chunk_readers_agree(data: &str) -> Result<(), String> {
    let Some(fast) = scan_chunk(data) else {
        return Ok(());
    };
    match serde_json::from_str::<crate::chunk::Chunk<'_>>(data) {
        Err(e) => Err(format!(
            "the scanner read a chunk serde rejects ({e}): {fast:?}"
        )),
        Ok(general) => {
            let (f, g) = (format!("{fast:?}"), format!("{general:?}"));
            if f == g {
                Ok(())
            } else {
                Err(format!("scanner: {f}\nserde:   {g}"))
            }
        }
    }
}

/// `Err` when the way a logged response is read for a record (tail lookup, chunk scanner)
/// gives other facts or texts than the general full pass, in what a record uses. Bodies that are
/// not event streams are read by one path only and always agree.
pub fn stream_paths_agree(body: &str) -> Result<(), String> {
    if !sse::looks_like_sse(body) {
        return Ok(());
    }
    let (general, general_texts) = scan_stream_with(body, true, Readers::SerdeOnly);
    let (fast, fast_texts) = read_response(body);
    if fast.usage.is_some() {
        // `damaged` is not read once there is a usage (see `read_response`).
        let general = ResponseFacts {
            damaged: false,
            ..general
        };
        return same("facts", &fast, &general);
    }
    same("facts", &fast, &general)?;
    same("texts", &fast_texts, &general_texts)
}

/// `Err` when one raw event gives another record, skip or refusal with its bodies kept escaped
/// (as `process_event` reads it) than with its bodies decoded when it is read.
pub fn event_paths_agree(raw: &str) -> Result<(), String> {
    let cfg = EngineConfig::default();
    let shown = |r: Result<crate::engine::Outcome, crate::event::EventError>| match r {
        Ok(outcome) => Ok(outcome),
        Err(e) => Err(e.to_string()),
    };
    same(
        "outcome",
        &shown(process_event(raw, &Trace::default(), &cfg)),
        &shown(process_event_decoded(raw, &Trace::default(), &cfg)),
    )
}

fn same<T: PartialEq + std::fmt::Debug>(what: &str, fast: &T, general: &T) -> Result<(), String> {
    if fast == general {
        Ok(())
    } else {
        Err(format!("{what}: fast {fast:?}\n general {general:?}"))
    }
}

/// Every chunk of an event stream through [`chunk_readers_agree`].
pub fn stream_chunks_agree(body: &str) -> Result<(), String> {
    for ev in sse::events(body) {
        chunk_readers_agree(ev.data.trim())?;
    }
    Ok(())
}

/// True when the chunk scanner reads `data` itself (rather than leaving it to serde).
pub fn chunk_is_scanned(data: &str) -> bool {
    scan_chunk(data).is_some()
}
