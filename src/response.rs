//! What a logged response says: its usage object (the truth, DESIGN 4.1), model, error code, and —
//! only when there is no usage — the generated text of every choice, for fallback counting.
//!
//! Handles non-streamed JSON (chat, completions, embeddings, Responses API), chat and legacy
//! completions SSE streams (Azure's `prompt_filter_results` first chunk, content-filter annotation
//! chunks, `[DONE]`, the `include_usage` chunk, usage on any chunk) and Responses API streams
//! (typed events; usage only in `response.completed|incomplete|failed`). A body that does not
//! parse whole (APIM cut it) is marked `damaged`, and a usage object in its surviving tail is
//! still found.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::operation::operation_from_object;
use crate::partial_json::{find_last_object_after_key, parse_prefix};
use crate::record::ApiOperation;
use crate::sse;

/// Token counts from a usage object, normalised across the chat and Responses spellings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt: u64,
    pub completion: u64,
    pub cached: u64,
    pub reasoning: u64,
}

#[derive(Debug, Default, Deserialize)]
struct Details {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct UsageJson {
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
    fn normalise(self) -> Option<Usage> {
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
struct ErrorJson {
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
struct DocHead<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    object: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<UsageJson>,
    #[serde(default)]
    error: Option<ErrorJson>,
}

/// The facts of one stream chunk. A stream that shows its usage is read with this alone (the
/// choices are skipped unread); the text-collecting reader builds one from its own fields.
#[derive(Deserialize)]
struct ChunkHead<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    object: Option<Cow<'a, str>>,
    #[serde(default, borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<UsageJson>,
    #[serde(default, borrow)]
    response: Option<DocHead<'a>>,
}

fn non_empty(s: Option<Cow<'_, str>>) -> Option<String> {
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
/// is read for its facts only (its texts are not needed); a JSON document's texts are read on
/// demand by [`completion_texts`], since a document almost always carries its usage.
pub fn read_response(body: &str) -> (ResponseFacts, Option<(Vec<ChoiceText>, bool)>) {
    if !sse::looks_like_sse(body) {
        return (analyze(body), None);
    }
    scan_stream(body, !shows_usage_object(body))
}

/// True when the last 64 KiB of the body have a `"usage"` key whose value is an object (a
/// stream's usage is in its last chunk or terminal event). Only a hint: it decides whether the
/// single stream pass also collects the texts; a wrong guess costs a second pass or some
/// unneeded text, never a wrong count.
fn shows_usage_object(body: &str) -> bool {
    const TAIL: usize = 64 * 1024;
    let bytes = body.as_bytes();
    let bytes = &bytes[bytes.len().saturating_sub(TAIL)..];
    memchr::memmem::rfind_iter(bytes, b"\"usage\"").any(|at| {
        let rest = bytes[at + 7..].trim_ascii_start();
        rest.strip_prefix(b":")
            .is_some_and(|r| r.trim_ascii_start().starts_with(b"{"))
    })
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

fn push_content(target: &mut String, content: &Value) {
    match content {
        Value::String(s) => target.push_str(s),
        Value::Array(parts) => {
            for p in parts {
                if let Some(t) = p.get("text").and_then(Value::as_str) {
                    target.push_str(t);
                } else if let Some(t) = p.get("refusal").and_then(Value::as_str) {
                    target.push_str(t);
                }
            }
        }
        _ => {}
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

#[derive(Default)]
struct StreamChoice {
    content: String,
    tool_args: BTreeMap<u64, String>,
    function_args: String,
}

/// One pass over an event stream: usage, model and operation (the facts) and, when `collect`,
/// the generated text of every choice. A chunk that is not JSON marks both damaged; a `usage`
/// or `response` object of the wrong shape marks only the facts damaged (the texts are still
/// read).
fn scan_stream(body: &str, collect: bool) -> (ResponseFacts, Option<(Vec<ChoiceText>, bool)>) {
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
            let Ok(v) = serde_json::from_str::<lenient::Chunk<'_>>(data) else {
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

/// What one stream chunk (sent as `event`, if the stream names its events) says about usage,
/// model and operation.
fn chunk_facts(facts: &mut ResponseFacts, chunk: ChunkHead<'_>, event: Option<&str>) {
    let kind = event.or(chunk.kind.as_deref());
    if facts.operation.is_none() {
        facts.operation = match kind {
            Some(k) if k.starts_with("response.") => Some(ApiOperation::Responses),
            _ => chunk.object.as_deref().and_then(operation_from_object),
        };
    }
    if let Some(resp) = chunk.response {
        if facts.model.is_none() {
            facts.model = non_empty(resp.model);
        }
        let terminal = matches!(
            kind,
            Some("response.completed" | "response.incomplete" | "response.failed")
        );
        if terminal {
            if let Some(u) = resp.usage.and_then(UsageJson::normalise) {
                facts.usage = Some(u);
                facts.usage_from_stream = true;
            }
        }
    }
    if facts.model.is_none() {
        facts.model = non_empty(chunk.model);
    }
    if let Some(u) = chunk.usage.and_then(UsageJson::normalise) {
        facts.usage = Some(u);
        facts.usage_from_stream = true;
    }
}

/// Appends one stream chunk's generated text to its choice (or Responses output).
fn chunk_texts(
    choices: &mut BTreeMap<u64, StreamChoice>,
    v: &lenient::Chunk<'_>,
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

/// Borrowing, lenient readers for stream chunks: the single stream pass reads only the fields it
/// needs, without building a `serde_json::Value` per chunk (`usage` and `response` are kept as
/// raw JSON text and read by the typed usage readers). Every reader has `Value`'s semantics:
/// a field of the wrong type reads as absent (like `Value::as_str` / `as_u64` / `as_array`), a
/// repeated key keeps its last value, and every other value is still fully parsed (`Skip`), so a
/// chunk is rejected exactly when `serde_json::from_str::<Value>` would reject it.
mod lenient {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;

    /// Any JSON value, parsed and discarded.
    pub struct Skip;

    struct SkipVisitor;

    impl<'de> Visitor<'de> for SkipVisitor {
        type Value = Skip;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
            Ok(Skip)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
            Ok(Skip)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
            Ok(Skip)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
            Ok(Skip)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
            Ok(Skip)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
            Ok(Skip)
        }
        fn visit_none<E: de::Error>(self) -> Result<Skip, E> {
            Ok(Skip)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
            Skip::deserialize(d)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
            while seq.next_element::<Skip>()?.is_some() {}
            Ok(Skip)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
            while map.next_key::<Key>()?.is_some() {
                map.next_value::<Skip>()?;
            }
            Ok(Skip)
        }
    }

    impl<'de> Deserialize<'de> for Skip {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Skip, D::Error> {
            d.deserialize_any(SkipVisitor)
        }
    }

    /// The keys the readers look at; any other key is `Other`.
    #[derive(PartialEq, Eq)]
    pub enum Key {
        Type,
        OutputIndex,
        Delta,
        Choices,
        Index,
        Text,
        Content,
        Refusal,
        ToolCalls,
        Function,
        FunctionCall,
        Arguments,
        Model,
        Object,
        Usage,
        Response,
        Other,
    }

    struct KeyVisitor;

    impl Visitor<'_> for KeyVisitor {
        type Value = Key;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object key")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
            Ok(match v {
                "type" => Key::Type,
                "output_index" => Key::OutputIndex,
                "delta" => Key::Delta,
                "choices" => Key::Choices,
                "index" => Key::Index,
                "text" => Key::Text,
                "content" => Key::Content,
                "refusal" => Key::Refusal,
                "tool_calls" => Key::ToolCalls,
                "function" => Key::Function,
                "function_call" => Key::FunctionCall,
                "arguments" => Key::Arguments,
                "model" => Key::Model,
                "object" => Key::Object,
                "usage" => Key::Usage,
                "response" => Key::Response,
                _ => Key::Other,
            })
        }
    }

    impl<'de> Deserialize<'de> for Key {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
            d.deserialize_str(KeyVisitor)
        }
    }

    /// Declares a reader for one JSON shape: `$accept` handles that shape; everything else is
    /// parsed with `Skip` and reads as the default.
    macro_rules! reader {
        ($name:ident<$de:lifetime>, $val:ty, $expect:literal, { $($accept:tt)* }) => {
            impl<$de> Deserialize<$de> for $name<$de> {
                fn deserialize<D: Deserializer<$de>>(d: D) -> Result<Self, D::Error> {
                    struct V;
                    impl<$de> Visitor<$de> for V {
                        type Value = $val;
                        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                            f.write_str($expect)
                        }
                        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$val, E> {
                            Ok(Default::default())
                        }
                        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$val, E> {
                            Ok(Default::default())
                        }
                        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$val, E> {
                            Ok(Default::default())
                        }
                        fn visit_unit<E: de::Error>(self) -> Result<$val, E> {
                            Ok(Default::default())
                        }
                        fn visit_none<E: de::Error>(self) -> Result<$val, E> {
                            Ok(Default::default())
                        }
                        $($accept)*
                    }
                    d.deserialize_any(V)
                }
            }
        };
    }

    /// `Value::as_str`.
    #[derive(Default)]
    pub struct Str<'a>(pub Option<Cow<'a, str>>);

    reader!(Str<'de>, Str<'de>, "a string", {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Str<'de>, E> {
            Ok(Str(None))
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
            Ok(Str(Some(Cow::Borrowed(v))))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
            Ok(Str(Some(Cow::Owned(v.to_owned()))))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Str<'de>, A::Error> {
            SkipVisitor.visit_seq(seq).map(|_| Str(None))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Str<'de>, A::Error> {
            SkipVisitor.visit_map(map).map(|_| Str(None))
        }
    });

    /// `Value::as_u64`.
    #[derive(Default)]
    pub struct U64<'a>(pub Option<u64>, std::marker::PhantomData<&'a ()>);

    reader!(U64<'de>, U64<'de>, "an unsigned integer", {
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<U64<'de>, E> {
            Ok(U64(Some(v), std::marker::PhantomData))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<U64<'de>, E> {
            Ok(U64::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<U64<'de>, A::Error> {
            SkipVisitor.visit_seq(seq).map(|_| U64::default())
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<U64<'de>, A::Error> {
            SkipVisitor.visit_map(map).map(|_| U64::default())
        }
    });

    /// An array of `T` (`Value::as_array`), `None` for any other value.
    pub struct Seq<'a, T>(pub Option<Vec<T>>, std::marker::PhantomData<&'a ()>);

    impl<T> Default for Seq<'_, T> {
        fn default() -> Self {
            Seq(None, std::marker::PhantomData)
        }
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Seq<'de, T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(std::marker::PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = Seq<'de, T>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an array")
                }
                fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                    Ok(Seq::default())
                }
                fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                    Ok(Seq::default())
                }
                fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                    Ok(Seq::default())
                }
                fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                    Ok(Seq::default())
                }
                fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                    Ok(Seq::default())
                }
                fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                    Ok(Seq::default())
                }
                fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                    Ok(Seq::default())
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    let mut items = Vec::new();
                    while let Some(item) = seq.next_element::<T>()? {
                        items.push(item);
                    }
                    Ok(Seq(Some(items), std::marker::PhantomData))
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                    SkipVisitor.visit_map(map).map(|_| Seq::default())
                }
            }
            d.deserialize_any(V(std::marker::PhantomData))
        }
    }

    /// Declares an object reader: fields by key (last one wins), any non-object reads as the
    /// default (every field absent).
    macro_rules! object {
        ($name:ident { $($field:ident : $ty:ty = $key:ident),* $(,)? }) => {
            #[derive(Default)]
            pub struct $name<'a> {
                $(pub $field: $ty,)*
                _borrow: std::marker::PhantomData<&'a ()>,
            }

            reader!($name<'de>, $name<'de>, "an object", {
                fn visit_u64<E: de::Error>(self, _: u64) -> Result<$name<'de>, E> {
                    Ok(Default::default())
                }
                fn visit_str<E: de::Error>(self, _: &str) -> Result<$name<'de>, E> {
                    Ok(Default::default())
                }
                fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<$name<'de>, A::Error> {
                    SkipVisitor.visit_seq(seq).map(|_| Default::default())
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$name<'de>, A::Error> {
                    let mut out = $name::default();
                    while let Some(key) = map.next_key::<Key>()? {
                        match key {
                            $(Key::$key => out.$field = map.next_value()?,)*
                            _ => {
                                map.next_value::<Skip>()?;
                            }
                        }
                    }
                    Ok(out)
                }
            });
        };
    }

    /// Present (with any value, `null` included) or absent, like `Value::get`.
    pub struct Present<T>(pub Option<T>);

    impl<T> Default for Present<T> {
        fn default() -> Self {
            Present(None)
        }
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Present<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            T::deserialize(d).map(|t| Present(Some(t)))
        }
    }

    object!(Part { text: Str<'a> = Text, refusal: Str<'a> = Refusal });
    object!(Function { arguments: Str<'a> = Arguments });
    object!(Call { index: U64<'a> = Index, function: Function<'a> = Function });
    object!(Delta {
        content: Content<'a> = Content,
        refusal: Str<'a> = Refusal,
        tool_calls: Seq<'a, Call<'a>> = ToolCalls,
        function_call: Function<'a> = FunctionCall,
    });
    object!(Choice {
        index: U64<'a> = Index,
        text: Str<'a> = Text,
        delta: Present<Delta<'a>> = Delta,
    });
    object!(Chunk {
        kind: Str<'a> = Type,
        output_index: U64<'a> = OutputIndex,
        delta: Str<'a> = Delta,
        choices: Seq<'a, Choice<'a>> = Choices,
        model: Str<'a> = Model,
        object: Str<'a> = Object,
        usage: Raw<'a> = Usage,
        response: Raw<'a> = Response,
    });

    impl<'a> Chunk<'a> {
        /// The chunk's facts, as the facts-only reader would have read them; `None` when its
        /// `usage` or `response` has a shape that reader rejects (the chunk counts as damaged).
        pub fn head(&self) -> Option<super::ChunkHead<'a>> {
            let usage = match self.usage.0 {
                None => None,
                Some(r) => Some(super::UsageJson::deserialize(r).ok()?),
            };
            let response = match self.response.0 {
                None => None,
                Some(r) => Some(super::DocHead::deserialize(r).ok()?),
            };
            Some(super::ChunkHead {
                model: self.model.0.clone(),
                object: self.object.0.clone(),
                kind: self.kind.0.clone(),
                usage,
                response,
            })
        }
    }

    /// Any value, kept as its JSON text (borrowed) to be read by a typed reader afterwards;
    /// `null` reads as absent, like `Option`.
    #[derive(Default)]
    pub struct Raw<'a>(pub Option<&'a serde_json::value::RawValue>);

    impl<'de> Deserialize<'de> for Raw<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let raw = <&'de serde_json::value::RawValue>::deserialize(d)?;
            Ok(Raw((raw.get() != "null").then_some(raw)))
        }
    }

    /// A message content: a string, or an array of parts (`text` or `refusal`).
    #[derive(Default)]
    pub enum Content<'a> {
        #[default]
        None,
        Text(Cow<'a, str>),
        Parts(Vec<Part<'a>>),
    }

    reader!(
        Content<'de>,
        Content<'de>,
        "a string or an array of parts",
        {
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Content<'de>, E> {
                Ok(Content::None)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Content<'de>, E> {
                Ok(Content::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Content<'de>, E> {
                Ok(Content::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content<'de>, A::Error> {
                let mut parts = Vec::new();
                while let Some(p) = seq.next_element::<Part<'de>>()? {
                    parts.push(p);
                }
                Ok(Content::Parts(parts))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Content<'de>, A::Error> {
                SkipVisitor.visit_map(map).map(|_| Content::None)
            }
        }
    );

    impl Content<'_> {
        /// `push_content`: the string, or each part's `text` (else its `refusal`).
        pub fn push_to(&self, target: &mut String) {
            match self {
                Content::None => {}
                Content::Text(s) => target.push_str(s),
                Content::Parts(parts) => {
                    for p in parts {
                        if let Some(t) = p.text.0.as_deref().or(p.refusal.0.as_deref()) {
                            target.push_str(t);
                        }
                    }
                }
            }
        }
    }
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
