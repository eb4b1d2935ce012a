//! chargeback-core: one APIM log event in, one usage record out — pure, no async, no network.
//!
//! Layout (the path of an event, in order):
//! - `invocation` — the Functions host's request body → raw events and their trace fields
//!   (the one-pass decoder lives in [`nested_json`]).
//! - `event` — one raw event (v2 or legacy v1) → a normalised [`ApimEvent`], its request and
//!   response kept still escaped as a [`Body`] (`body`: decoded once, or in windows).
//! - `engine` — the decisions: billable or not, operation, model, usage or fallback count,
//!   price (with `chargeback_pricing`: the deployment's type, the rate at the call's date) →
//!   an [`Outcome`]; `count` does the fallback counting with `prompt` (the request
//!   formula) and `tokenizer` (tiktoken encodings).
//! - `response` — what a logged response says: usage, model, error code, generated texts
//!   (non-streamed JSON in `response`, event streams in `stream`, reading [`sse`] chunks
//!   with the borrowing readers of `chunk`, or the faster `scan` for Azure's chat chunks; a
//!   stream's usage is read from its end by `tail`); cut bodies are read by [`partial_json`].
//! - `operation` — the API operation from a path, an operation id or a response `object`.
//! - `record` — the [`UsageRecord`], the ledger row.
//! - `batch` — many events through the core on rayon's pool, results in input order, and the
//!   host's response body; `deadletter` keeps what could not be read, secrets removed by `chargeback-redact`.
//! - `replay` — JSON-lines / array / host-body input read in batches for `chargeback replay`.
//! - `bounds` — the values no real call can have (a status outside 100..=599, an impossible
//!   token count): such an event is a dead letter, never a bill.
//! - `time` — the one timestamp reader; `lenient` — numbers given as strings.
//! - [`differential`] — checks that the fast stream paths read what the general ones read (for
//!   tests and fuzz targets).
//!
//! The contracts these modules implement are written down in the repository's `docs/`
//! (`event-schema.md`, `record.md`, `counting.md`, `host-protocol.md`).

#![warn(unreachable_pub)]

mod batch;
mod body;
mod bounds;
mod chunk;
mod count;
mod deadletter;
pub mod differential;
mod engine;
mod event;
mod invocation;
mod lenient;
pub mod nested_json;
mod operation;
pub mod partial_json;
mod prompt;
mod record;
mod replay;
mod response;
mod scan;
pub mod sse;
mod stream;
mod tail;
mod time;
mod tokenizer;

pub use batch::{
    json_lines, process_invocation, process_raw, response_body, summary_line, BatchResult,
    EventResult,
};
pub use body::Body;
pub use bounds::{Impossible, Problem, MAX_TOKENS_PER_CALL};
/// The pricing crate, re-exported so users of the core name one version of it.
pub use chargeback_pricing as pricing;
pub use chargeback_pricing::{Cost, DeploymentType, PriceSheet};
pub use deadletter::{DeadLetter, DEADLETTER_RAW_LIMIT};
pub use engine::{process_event, EngineConfig, Outcome, SkipReason, Trace};
pub use event::{key_fingerprint, parse_event, ApimEvent, EventError, Schema};
pub use invocation::{
    decode_invocation, decode_invocation_general, Invocation, InvocationError, RawEvent,
    RetryContext,
};
pub use lenient::lenient_u64;
pub use prompt::{
    chat_messages_tokens, chat_request_tokens, image_tokens, tool_definitions_tokens, ModelTraits,
};
pub use record::{ApiOperation, Consumer, CountSource, UsageRecord};
pub use replay::{
    read_batches, run_batch, Batch, ReplayCounts, ReplayInputError, BYTES_PER_BATCH,
    LINES_PER_BATCH,
};
pub use response::{analyze, completion_texts, ChoiceText, ResponseFacts, Usage};
pub use time::{item_time, normalize_time, parse_time};
pub use tokenizer::Encoding;
