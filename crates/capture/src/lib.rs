//! Event Hubs Capture Avro files read into APIM events with their trace fields. Pure: bytes in,
//! events out (no I/O, no runtime).
//!
//! Layout:
//! - `file` — [`read_capture`]: the Avro container (null or deflate codec) checked against the
//!   documented Capture schema, each record turned into a [`CapturedEvent`] or a [`BadRecord`].
//! - `path` — [`partition_from_path`]: the partition id from the documented Capture name
//!   `{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}`.
//! - `time` — [`parse_enqueued_time`]: the .NET-style `EnqueuedTimeUtc` text
//!   (`M/d/yyyy h:mm:ss tt`, US culture, UTC) to RFC 3339.
//!
//! Messages never quote an event body (it holds prompt text): records are named by position.

mod file;
mod path;
mod time;

pub use file::{read_capture, BadRecord, CaptureError, CaptureFile, CapturedEvent};
pub use path::partition_from_path;
pub use time::{parse_enqueued_time, TimeError};
