//! What a logged response says: its usage object (the truth, `docs/counting.md`), model, error code, and —
//! only when there is no usage — the generated text of every choice, for fallback counting.
//!
//! Handles non-streamed JSON (chat, completions, embeddings, Responses API), chat and legacy
//! completions SSE streams (Azure's `prompt_filter_results` first chunk, content-filter annotation
//! chunks, `[DONE]`, the `include_usage` chunk, usage on any chunk) and Responses API streams
//! (typed events; usage only in `response.completed|incomplete|failed`). A body that does not
//! parse whole (APIM cut it) is marked `damaged`, and a usage object in its surviving tail is
//! still found.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use crate::body::{boundary_at_or_after, decode, objects_after_key, usage_key, Body};
use crate::chunk;
use crate::operation::operation_from_object;
use crate::partial_json::{find_last_object_after_key, parse_prefix};
use crate::record::ApiOperation;
use crate::sse;
use crate::stream::scan_stream;
use crate::tail::{facts_from_escaped_tail, facts_from_tail};

/// Token counts from a usage object, normalised across the chat and Responses spellings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt: u64,
    pub completion: u64,
    pub cached: u64,
    pub reasoning: u64,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Details {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UsageJson {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<Details>,
    #[serde(default)]
    input_tokens_details: Option<Details>,
    #[serde(default)]
    completion_tokens_details: Option<Details>,
    #[serde(default)]
    output_tokens_details: Option<Details>,
}

impl UsageJson {
    pub(crate) fn normalise(self) -> Option<Usage> {
        let prompt = self.prompt_tokens.or(self.input_tokens);
        let completion = self.completion_tokens.or(self.output_tokens);
        if prompt.is_none() && completion.is_none() && self.total_tokens.is_none() {
            return None;
        }
        let prompt = prompt.unwrap_or_else(|| {
            self.total_tokens
                .unwrap_or(0)
                .saturating_sub(completion.unwrap_or(0))
        });
        let pick = |a: &Option<Details>, b: &Option<Details>, f: fn(&Details) -> Option<u64>| {
            a.as_ref()
                .and_then(f)
                .or_else(|| b.as_ref().and_then(f))
                .unwrap_or(0)
        };
        Some(Usage {
            prompt,
            completion: completion.unwrap_or(0),
            cached: pick(
                &self.prompt_tokens_details,
                &self.input_tokens_details,
                |d| d.cached_tokens,
            ),
            reasoning: pick(
                &self.completion_tokens_details,
                &self.output_tokens_details,
                |d| d.reasoning_tokens,
            ),
        })
    }
}

fn usage_from_value(v: Value) -> Option<Usage> {
    UsageJson::deserialize(v)
        .ok()
        .and_then(UsageJson::normalise)
}

/// The facts about a response that decide billing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseFacts {
    pub usage: Option<Usage>,
    /// The usage came from a streamed chunk or a Responses stream terminal event.
    pub usage_from_stream: bool,
    pub model: Option<String>,
    pub operation: Option<ApiOperation>,
    pub is_stream: bool,
    /// `error.code` (or `error.innererror.code`) of an error response, e.g. `content_filter`.
    pub error_code: Option<String>,
    /// The body did not parse whole: APIM truncated it, or it is not what we expected.
    pub damaged: bool,
}

#[derive(Deserialize)]
pub(crate) struct ErrorJson {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    innererror: Option<Box<ErrorJson>>,
}

impl ErrorJson {
    fn code(&self) -> Option<String> {
        let own = match &self.code {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        // "content_filter" may sit on the error or on its inner error.
        match (&own, &self.innererror) {
            (Some(c), _) if c == "content_filter" => own,
            (_, Some(inner)) if inner.code().as_deref() == Some("content_filter") => inner.code(),
            _ => own.or_else(|| self.innererror.as_ref().and_then(|i| i.code())),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct DocHead<'a> {
    #[serde(default, borrow)]
    pub(crate) model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(crate) object: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) usage: Option<UsageJson>,
    #[serde(default)]
    pub(crate) error: Option<ErrorJson>,
}

/// The facts of one stream chunk. A stream that shows its usage is read with this alone (the
/// choices are skipped unread); the text-collecting reader builds one from its own fields.
#[derive(Deserialize)]
pub(crate) struct ChunkHead<'a> {
    #[serde(default, borrow)]
    pub(crate) model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(crate) object: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "type")]
    pub(crate) kind: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(crate) usage: Option<UsageJson>,
    #[serde(default, borrow)]
    pub(crate) response: Option<DocHead<'a>>,
}

pub(crate) fn non_empty(s: Option<Cow<'_, str>>) -> Option<String> {
    s.filter(|m| !m.is_empty()).map(Cow::into_owned)
}

fn string_after_key(text: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let pos = text.find(&needle)?;
    let rest = text[pos + needle.len()..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let mut de = serde_json::Deserializer::from_str(rest);
    String::deserialize(&mut de).ok().filter(|s| !s.is_empty())
}

/// Reads the facts of a logged response body (JSON document or event stream).
pub fn analyze(body: &str) -> ResponseFacts {
    if sse::looks_like_sse(body) {
        return scan_stream(body, false).0;
    }
    match serde_json::from_str::<DocHead<'_>>(body) {
        Ok(doc) => ResponseFacts {
            usage: doc.usage.and_then(UsageJson::normalise),
            usage_from_stream: false,
            operation: doc.object.as_deref().and_then(operation_from_object),
            model: non_empty(doc.model),
            is_stream: false,
            error_code: doc.error.as_ref().and_then(ErrorJson::code),
            damaged: false,
        },
        Err(_) => {
            // Cut in the middle: the head still has model/object, the tail may have usage.
            let usage = find_last_object_after_key(body, "usage").and_then(usage_from_value);
            let error_code = find_last_object_after_key(body, "error")
                .and_then(|v| ErrorJson::deserialize(v).ok())
                .and_then(|e| e.code());
            ResponseFacts {
                usage,
                usage_from_stream: false,
                operation: string_after_key(body, "object")
                    .as_deref()
                    .and_then(operation_from_object),
                model: string_after_key(body, "model"),
                is_stream: false,
                error_code,
                damaged: true,
            }
        }
    }
}

/// Reads a logged response once: its facts and, for an event stream without usage, the
/// generated texts of every choice, read in the same pass. A stream that shows a usage object
/// near its end is read from its tail (`tail`): the usage chunk and the first chunks only, and
/// its texts are not read (they are not needed). A JSON document's texts are read on demand by
/// [`completion_texts`], since a document almost always carries its usage.
///
/// When the facts come from the tail, `damaged` is `false`: whether a chunk in the middle is
/// damaged only matters to a fallback count, and a call with a usage is never counted.
pub(crate) fn read_response(body: &str) -> (ResponseFacts, StreamTexts) {
    if !sse::looks_like_sse(body) {
        return (analyze(body), None);
    }
    if shows_usage_object(body) {
        if let Some(facts) = facts_from_tail(body) {
            return (facts, None);
        }
    }
    scan_stream(body, true)
}

/// Generated texts read with a stream's facts, and whether the body was damaged.
type StreamTexts = Option<(Vec<ChoiceText>, bool)>;

/// [`read_response`] of a body's decoded text, read from the escaped form where it can be: a
/// stream that shows a usage object near its end is read from its tail (`tail::facts_from_
/// escaped_tail`), decoding only the windows it reads. Anything else is decoded once and read
/// as decoded text.
pub(crate) fn read_body(body: &Body<'_>) -> (ResponseFacts, StreamTexts) {
    if let Some(raw) = body.as_escaped() {
        if escaped_looks_like_sse(raw) && escaped_shows_usage_object(body, raw) {
            if let Some(facts) = facts_from_escaped_tail(raw) {
                return (facts, None);
            }
            // No chunk carries a usage after all: the full pass.
            return scan_stream(&body.text(), true);
        }
    }
    read_response(&body.text())
}

/// [`sse::looks_like_sse`] of escaped text, from a decoded prefix long enough to decide.
fn escaped_looks_like_sse(raw: &str) -> bool {
    const PREFIX: usize = 64;
    let end = boundary_at_or_after(raw, PREFIX);
    let head = decode(raw.get(..end).unwrap_or_default());
    // "event:" is the longest start `looks_like_sse` tests.
    let decided = head
        .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
        .len()
        >= "event:".len();
    if decided || end == raw.len() {
        sse::looks_like_sse(&head)
    } else {
        sse::looks_like_sse(&decode(raw))
    }
}

/// The last 64 KiB this far back from the end are where a stream's usage is looked for first.
const USAGE_TAIL: usize = 64 * 1024;

/// True when the last 64 KiB of the body have a `"usage"` key whose value is an object (a
/// stream's usage is in its last chunk or terminal event). Only a hint: it decides whether the
/// tail lookup is tried before the full pass; a wrong guess costs time, never a wrong count.
fn shows_usage_object(body: &str) -> bool {
    let bytes = body.as_bytes();
    let bytes = &bytes[bytes.len().saturating_sub(USAGE_TAIL)..];
    // A forward search: memchr's is vectorised, its reverse search is not.
    memchr::memmem::find_iter(bytes, b"\"usage\"").any(|at| {
        let rest = bytes[at + 7..].trim_ascii_start();
        rest.strip_prefix(b":")
            .is_some_and(|r| r.trim_ascii_start().starts_with(b"{"))
    })
}

/// [`shows_usage_object`] of escaped text (also a hint; its 64 KiB are escaped bytes), from
/// what the bounds check saw when it has looked.
fn escaped_shows_usage_object(body: &Body<'_>, raw: &str) -> bool {
    let from = raw.len().saturating_sub(USAGE_TAIL);
    match body.last_usage_object() {
        Some(last) => last.is_some_and(|at| at >= from),
        None => objects_after_key(&raw.as_bytes()[from..], usage_key())
            .next()
            .is_some(),
    }
}

/// The generated text of one choice (or one Responses output): content plus the arguments of
/// every tool or function call, each joined across the whole stream before it is counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChoiceText {
    pub content: String,
    pub arguments: Vec<String>,
}

/// Generated texts, in choice order, and whether the body was damaged.
pub fn completion_texts(body: &str) -> (Vec<ChoiceText>, bool) {
    if sse::looks_like_sse(body) {
        // Collecting, the scan always returns the texts.
        scan_stream(body, true).1.unwrap_or_default()
    } else {
        match parse_prefix(body) {
            Some((v, repaired)) => (document_texts(&v), repaired),
            None => (Vec::new(), true),
        }
    }
}

/// A message content (a string, or parts with `text` or `refusal`) appended to `target`; read by
/// the same reader as a stream chunk's content.
fn push_content(target: &mut String, content: &Value) {
    if let Ok(c) = chunk::Content::deserialize(content) {
        c.push_to(target);
    }
}

fn document_texts(v: &Value) -> Vec<ChoiceText> {
    let mut out = Vec::new();
    if let Some(choices) = v.get("choices").and_then(Value::as_array) {
        for c in choices {
            let mut t = ChoiceText::default();
            if let Some(text) = c.get("text").and_then(Value::as_str) {
                t.content.push_str(text);
            }
            if let Some(m) = c.get("message") {
                if let Some(content) = m.get("content") {
                    push_content(&mut t.content, content);
                }
                if let Some(r) = m.get("refusal").and_then(Value::as_str) {
                    t.content.push_str(r);
                }
                if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
                    for call in calls {
                        if let Some(a) = call.pointer("/function/arguments").and_then(Value::as_str)
                        {
                            t.arguments.push(a.to_owned());
                        }
                    }
                }
                if let Some(a) = m
                    .pointer("/function_call/arguments")
                    .and_then(Value::as_str)
                {
                    t.arguments.push(a.to_owned());
                }
            }
            out.push(t);
        }
    }
    if let Some(output) = v.get("output").and_then(Value::as_array) {
        for item in output {
            let mut t = ChoiceText::default();
            if let Some(content) = item.get("content") {
                push_content(&mut t.content, content);
            }
            if let Some(a) = item.get("arguments").and_then(Value::as_str) {
                t.arguments.push(a.to_owned());
            }
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_usage_with_cached_and_reasoning_details_is_read() {
        let body = r#"{"object":"chat.completion","model":"o3-mini-2025-01-31","choices":[],
          "usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,
          "prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{"reasoning_tokens":256}}}"#;
        let f = analyze(body);
        assert_eq!(
            f.usage,
            Some(Usage {
                prompt: 1200,
                completion: 300,
                cached: 1024,
                reasoning: 256
            })
        );
        assert_eq!(f.operation, Some(ApiOperation::ChatCompletion));
        assert_eq!(f.model.as_deref(), Some("o3-mini-2025-01-31"));
        assert!(!f.usage_from_stream && !f.is_stream && !f.damaged);
    }

    #[test]
    fn responses_usage_uses_input_and_output_spellings() {
        let body = r#"{"object":"response","model":"gpt-4.1","usage":{"input_tokens":50,"input_tokens_details":{"cached_tokens":0},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":4},"total_tokens":70}}"#;
        let f = analyze(body);
        assert_eq!(
            f.usage,
            Some(Usage {
                prompt: 50,
                completion: 20,
                cached: 0,
                reasoning: 4
            })
        );
        assert_eq!(f.operation, Some(ApiOperation::Responses));
    }

    #[test]
    fn a_content_filter_error_code_is_found_on_the_error_or_its_inner_error() {
        let body = r#"{"error":{"message":"filtered","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}"#;
        assert_eq!(analyze(body).error_code.as_deref(), Some("content_filter"));
        let body = r#"{"error":{"code":"BadRequest","innererror":{"code":"content_filter"}}}"#;
        assert_eq!(analyze(body).error_code.as_deref(), Some("content_filter"));
    }

    #[test]
    fn a_stream_with_a_usage_chunk_reports_stream_usage() {
        let body = concat!(
            "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\",\"role\":\"assistant\"},\"index\":0}],\"model\":\"gpt-4o-2024-11-20\",\"object\":\"chat.completion.chunk\",\"usage\":null}\n\n",
            "data: {\"choices\":[],\"model\":\"gpt-4o-2024-11-20\",\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}\n\n",
            "data: [DONE]\n\n"
        );
        let f = analyze(body);
        assert!(f.is_stream && f.usage_from_stream);
        assert_eq!(f.usage.map(|u| u.prompt), Some(9));
        assert_eq!(f.model.as_deref(), Some("gpt-4o-2024-11-20"));
        assert_eq!(f.operation, Some(ApiOperation::ChatCompletion));
    }

    #[test]
    fn stream_texts_join_content_and_tool_arguments_per_choice() {
        let body = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"Hello\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\" there\"}}]}\n\n",
            "data: [DONE]\n\n"
        );
        let (texts, damaged) = completion_texts(body);
        assert!(!damaged);
        assert_eq!(texts.len(), 2);
        assert_eq!(texts[0].arguments, vec!["{\"city\":\"Paris\"}".to_string()]);
        assert_eq!(texts[1].content, "Hello there");
    }

    #[test]
    fn a_stream_without_usage_is_read_once_for_both_its_facts_and_its_texts() {
        let body = concat!(
            "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\",\"role\":\"assistant\"},\"index\":0}],\"model\":\"gpt-4o-2024-11-20\",\"object\":\"chat.completion.chunk\"}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"index\":0}],\"model\":\"gpt-4o-2024-11-20\",\"object\":\"chat.completion.chunk\"}\n\n",
            "data: [DONE]\n\n"
        );
        let (facts, texts) = read_response(body);
        assert_eq!(facts, analyze(body));
        assert_eq!(facts.model.as_deref(), Some("gpt-4o-2024-11-20"));
        assert_eq!(facts.operation, Some(ApiOperation::ChatCompletion));
        assert_eq!(texts, Some(completion_texts(body)));
        assert_eq!(completion_texts(body).0[0].content, "Hello");
    }

    #[test]
    fn a_stream_that_shows_its_usage_is_read_for_its_facts_only() {
        let body = concat!(
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"index\":0}],\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"usage\":null}\n\n",
            "data: {\"choices\":[],\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"usage\": {\"prompt_tokens\":9,\"completion_tokens\":1,\"total_tokens\":10}}\n\n",
            "data: [DONE]\n\n"
        );
        let (facts, texts) = read_response(body);
        assert_eq!(facts.usage.map(|u| (u.prompt, u.completion)), Some((9, 1)));
        assert_eq!(texts, None);
        // `"usage":null` alone is not a usage object: the texts are collected.
        let no_usage = body.split_inclusive("\n\n").next().unwrap_or_default();
        assert!(read_response(no_usage).1.is_some());
    }

    #[test]
    fn a_usage_object_of_the_wrong_shape_damages_the_facts_but_not_the_texts() {
        let body = concat!(
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"index\":0}],\"object\":\"chat.completion.chunk\"}\n\n",
            "data: {\"choices\":[],\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":\"nine\"}}\n\n",
        );
        let (facts, _) = read_response(body);
        assert!(facts.damaged);
        assert_eq!(facts.usage, None);
        let (texts, damaged) = completion_texts(body);
        assert!(!damaged);
        assert_eq!(texts[0].content, "Hi");
    }

    #[test]
    fn a_responses_stream_takes_usage_only_from_its_terminal_event() {
        let body = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":\"gpt-4.1-2025-04-14\",\"usage\":null}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"Hi\"}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"model\":\"gpt-4.1-2025-04-14\",\"usage\":{\"input_tokens\":11,\"output_tokens\":2,\"total_tokens\":13}}}\n\n"
        );
        let f = analyze(body);
        assert_eq!(
            f.usage,
            Some(Usage {
                prompt: 11,
                completion: 2,
                cached: 0,
                reasoning: 0
            })
        );
        assert_eq!(f.operation, Some(ApiOperation::Responses));
        assert_eq!(f.model.as_deref(), Some("gpt-4.1-2025-04-14"));
        let (texts, _) = completion_texts(body);
        assert_eq!(texts[0].content, "Hi");
    }

    #[test]
    fn a_response_cut_in_the_middle_still_yields_the_usage_in_its_tail() {
        let body = "{\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"message\":{\"content\":\"aaaa\n\n\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}";
        let f = analyze(body);
        assert!(f.damaged);
        assert_eq!(f.usage.map(|u| u.completion), Some(7));
        assert_eq!(f.model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(f.operation, Some(ApiOperation::ChatCompletion));
    }
}
