//! Event streams: one pass over a chat, completions or Responses API stream for its facts and,
//! when needed, the generated text of every choice.

use std::collections::BTreeMap;

use crate::chunk;
use crate::operation::operation_from_object;
use crate::record::ApiOperation;
use crate::response::{non_empty, ChoiceText, ChunkHead, ResponseFacts, Usage, UsageJson};
use crate::scan;
use crate::sse;

#[derive(Default)]
struct StreamChoice {
    content: String,
    tool_args: BTreeMap<u64, String>,
    function_args: String,
}

/// Which chunk readers a collecting pass uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readers {
    /// The `scan` scanner, the serde reader for whatever the scanner does not read.
    Fast,
    /// The serde reader alone (the reference the scanner is checked against).
    SerdeOnly,
}

/// Generated texts and whether they were damaged.
pub(crate) type Texts = (Vec<ChoiceText>, bool);

/// One pass over an event stream: usage, model and operation (the facts) and, when `collect`,
/// the generated text of every choice. A chunk that is not JSON marks both damaged; a `usage`
/// or `response` object of the wrong shape marks only the facts damaged (the texts are still
/// read).
pub(crate) fn scan_stream(body: &str, collect: bool) -> (ResponseFacts, Option<Texts>) {
    scan_stream_with(body, collect, Readers::Fast)
}

/// [`scan_stream`] with the chosen chunk readers.
pub(crate) fn scan_stream_with(
    body: &str,
    collect: bool,
    readers: Readers,
) -> (ResponseFacts, Option<Texts>) {
    let mut facts = ResponseFacts {
        is_stream: true,
        ..ResponseFacts::default()
    };
    let mut texts_damaged = false;
    let mut choices: BTreeMap<u64, StreamChoice> = BTreeMap::new();
    for ev in sse::events(body) {
        let data = ev.data.trim();
        if data == "[DONE]" || data.is_empty() {
            continue;
        }
        if collect {
            let Some(v) = read_chunk(data, readers) else {
                texts_damaged = true;
                facts.damaged = true;
                continue;
            };
            let kind = ev.event.or(v.kind.0.as_deref());
            match v.head() {
                Some(head) => chunk_facts(&mut facts, head, ev.event),
                None => facts.damaged = true,
            }
            chunk_texts(&mut choices, &v, kind);
        } else {
            let Ok(head) = serde_json::from_str::<ChunkHead<'_>>(data) else {
                facts.damaged = true;
                continue;
            };
            chunk_facts(&mut facts, head, ev.event);
        }
    }
    if !collect {
        return (facts, None);
    }
    let texts = choices
        .into_values()
        .map(|c| {
            let mut arguments: Vec<String> = c.tool_args.into_values().collect();
            if !c.function_args.is_empty() {
                arguments.push(c.function_args);
            }
            ChoiceText {
                content: c.content,
                arguments,
            }
        })
        .collect();
    (facts, Some((texts, texts_damaged)))
}

/// One chunk (its trimmed `data`) read by the chosen readers: with `Fast`, Azure's chat
/// chunks by the scanner and anything else by the serde reader. `None` when it does not parse.
pub(crate) fn read_chunk(data: &str, readers: Readers) -> Option<chunk::Chunk<'_>> {
    if readers == Readers::Fast {
        if let Some(c) = scan::scan_chunk(data) {
            return Some(c);
        }
    }
    serde_json::from_str(data).ok()
}

/// What one stream chunk (sent as `event`, if the stream names its events) says about usage,
/// model and operation: the first chunk to name an operation or a model sets it, and every
/// chunk that carries a usage replaces the one before (the last one wins).
pub(crate) fn chunk_facts(facts: &mut ResponseFacts, chunk: ChunkHead<'_>, event: Option<&str>) {
    let kind = event.or(chunk.kind.as_deref());
    if facts.operation.is_none() {
        facts.operation = match kind {
            Some(k) if k.starts_with("response.") => Some(ApiOperation::Responses),
            _ => chunk.object.as_deref().and_then(operation_from_object),
        };
    }
    if facts.model.is_none() {
        if let Some(resp) = &chunk.response {
            facts.model = non_empty(resp.model.clone());
        }
    }
    if facts.model.is_none() {
        facts.model = non_empty(chunk.model.clone());
    }
    if let Some(u) = chunk_usage(chunk, event) {
        facts.usage = Some(u);
        facts.usage_from_stream = true;
    }
}

/// The usage one chunk carries: its own `usage`, else the `response.usage` of a Responses
/// stream's terminal event (`response.completed|incomplete|failed`).
pub(crate) fn chunk_usage(chunk: ChunkHead<'_>, event: Option<&str>) -> Option<Usage> {
    let terminal = matches!(
        event.or(chunk.kind.as_deref()),
        Some("response.completed" | "response.incomplete" | "response.failed")
    );
    let own = chunk.usage.and_then(UsageJson::normalise);
    own.or_else(|| {
        let resp = chunk.response.filter(|_| terminal)?;
        resp.usage.and_then(UsageJson::normalise)
    })
}

/// Appends one stream chunk's generated text to its choice (or Responses output).
fn chunk_texts(
    choices: &mut BTreeMap<u64, StreamChoice>,
    v: &chunk::Chunk<'_>,
    kind: Option<&str>,
) {
    match kind {
        Some("response.output_text.delta" | "response.refusal.delta") => {
            let idx = v.output_index.0.unwrap_or(0);
            if let Some(d) = v.delta.0.as_deref() {
                choices.entry(idx).or_default().content.push_str(d);
            }
        }
        Some("response.function_call_arguments.delta") => {
            let idx = v.output_index.0.unwrap_or(0);
            if let Some(d) = v.delta.0.as_deref() {
                choices.entry(idx).or_default().function_args.push_str(d);
            }
        }
        Some(k) if k.starts_with("response.") => {}
        _ => {
            let Some(list) = v.choices.0.as_deref() else {
                return;
            };
            for c in list {
                let idx = c.index.0.unwrap_or(0);
                let entry = choices.entry(idx).or_default();
                if let Some(t) = c.text.0.as_deref() {
                    entry.content.push_str(t);
                }
                let Some(delta) = &c.delta.0 else {
                    continue;
                };
                delta.content.push_to(&mut entry.content);
                if let Some(r) = delta.refusal.0.as_deref() {
                    entry.content.push_str(r);
                }
                if let Some(calls) = delta.tool_calls.0.as_deref() {
                    for (n, call) in calls.iter().enumerate() {
                        let ti = call.index.0.unwrap_or(n as u64);
                        if let Some(a) = call.function.arguments.0.as_deref() {
                            entry.tool_args.entry(ti).or_default().push_str(a);
                        }
                    }
                }
                if let Some(a) = delta.function_call.arguments.0.as_deref() {
                    entry.function_args.push_str(a);
                }
            }
        }
    }
}
