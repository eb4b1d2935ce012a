//! Properties that hold for any input: the core never panics, counts are additive over the
//! pre-tokenizer split, record totals are prompt + completion, and the borrowing stream reader
//! reads exactly what a `serde_json::Value` walk of the same chunks reads.

use std::collections::BTreeMap;

use chargeback_core::nested_json::string_of_string_array;
use chargeback_core::parse_event;
use chargeback_core::partial_json::parse_prefix;
use chargeback_core::sse;
use chargeback_core::Encoding;
use chargeback_core::{analyze, completion_texts, ChoiceText};
use chargeback_core::{decode_invocation, decode_invocation_general, process_invocation};
use chargeback_core::{process_event, EngineConfig, Outcome, Trace};
use proptest::prelude::*;
use serde_json::{json, Value};

fn cfg() -> EngineConfig {
    EngineConfig {
        record_non_billable: true,
        ..EngineConfig::default()
    }
}

/// Text with the characters that matter to the pre-tokenizer: letters of several scripts,
/// digits, whitespace runs, punctuation, contractions, emoji.
fn texty() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-zA-Z]{1,12}",
            "[0-9]{1,7}",
            "[ \t\n\r]{1,6}",
            "[.,;:!?'\"(){}<>/\\\\-]{1,3}",
            Just("'s".to_string()),
            Just("'LL".to_string()),
            "[äöüßéèçñ]{1,4}",
            "[а-я]{1,8}",
            "[一-龥]{1,8}",
            "[ぁ-ん]{1,6}",
            Just("👍🏽".to_string()),
            Just("<|endoftext|>".to_string()),
            any::<char>().prop_map(String::from),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

/// A JSON value with the shapes stream chunks have, and the wrong types in the same places.
fn chunk_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0u64..5).prop_map(Value::from),
        (-3i64..0).prop_map(Value::from),
        Just(json!(1.5)),
        texty().prop_map(Value::from),
    ];
    let keys = prop_oneof![
        Just("type"),
        Just("output_index"),
        Just("delta"),
        Just("choices"),
        Just("index"),
        Just("text"),
        Just("content"),
        Just("refusal"),
        Just("tool_calls"),
        Just("function"),
        Just("function_call"),
        Just("arguments"),
        Just("response.output_text.delta"),
        Just("other"),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

fn chunk_kind() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("response.output_text.delta")),
        Just(Some("response.refusal.delta")),
        Just(Some("response.function_call_arguments.delta")),
        Just(Some("response.created")),
        Just(Some("chat")),
    ]
}

/// The reference reading of stream texts: the `serde_json::Value` walk the engine used before the
/// borrowing reader replaced it.
fn reference_stream_texts(body: &str) -> (Vec<ChoiceText>, bool) {
    #[derive(Default)]
    struct C {
        content: String,
        tool_args: BTreeMap<u64, String>,
        function_args: String,
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
    let mut damaged = false;
    let mut choices: BTreeMap<u64, C> = BTreeMap::new();
    for ev in sse::events(body) {
        let data = ev.data.trim();
        if data == "[DONE]" || data.is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            damaged = true;
            continue;
        };
        let kind = ev.event.or_else(|| v.get("type").and_then(Value::as_str));
        match kind {
            Some("response.output_text.delta" | "response.refusal.delta") => {
                let idx = v.get("output_index").and_then(Value::as_u64).unwrap_or(0);
                if let Some(d) = v.get("delta").and_then(Value::as_str) {
                    choices.entry(idx).or_default().content.push_str(d);
                }
            }
            Some("response.function_call_arguments.delta") => {
                let idx = v.get("output_index").and_then(Value::as_u64).unwrap_or(0);
                if let Some(d) = v.get("delta").and_then(Value::as_str) {
                    choices.entry(idx).or_default().function_args.push_str(d);
                }
            }
            Some(k) if k.starts_with("response.") => {}
            _ => {
                let Some(list) = v.get("choices").and_then(Value::as_array) else {
                    continue;
                };
                for c in list {
                    let idx = c.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let entry = choices.entry(idx).or_default();
                    if let Some(t) = c.get("text").and_then(Value::as_str) {
                        entry.content.push_str(t);
                    }
                    let Some(delta) = c.get("delta") else {
                        continue;
                    };
                    if let Some(content) = delta.get("content") {
                        push_content(&mut entry.content, content);
                    }
                    if let Some(r) = delta.get("refusal").and_then(Value::as_str) {
                        entry.content.push_str(r);
                    }
                    if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                        for (n, call) in calls.iter().enumerate() {
                            let ti = call
                                .get("index")
                                .and_then(Value::as_u64)
                                .unwrap_or(n as u64);
                            if let Some(a) =
                                call.pointer("/function/arguments").and_then(Value::as_str)
                            {
                                entry.tool_args.entry(ti).or_default().push_str(a);
                            }
                        }
                    }
                    if let Some(a) = delta
                        .pointer("/function_call/arguments")
                        .and_then(Value::as_str)
                    {
                        entry.function_args.push_str(a);
                    }
                }
            }
        }
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
    (texts, damaged)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_core_never_panics_on_arbitrary_text(raw in ".{0,400}") {
        let _ = process_event(&raw, &Trace::default(), &cfg());
        let _ = parse_event(&raw);
        let _ = analyze(&raw);
        let _ = completion_texts(&raw);
        let _ = parse_prefix(&raw);
    }

    #[test]
    fn the_core_never_panics_on_events_with_arbitrary_bodies(
        request in prop_oneof![texty(), chunk_value().prop_map(|v| v.to_string())],
        response in prop_oneof![
            texty(),
            chunk_value().prop_map(|v| v.to_string()),
            prop::collection::vec(chunk_value(), 0..5).prop_map(|cs| {
                cs.iter().map(|c| format!("data: {c}\n\n")).collect::<String>()
            }),
        ],
        cut in 0usize..2000,
        status in prop_oneof![Just(200u16), Just(400), Just(429), Just(500)],
        model in prop_oneof![Just("gpt-4o"), Just("gpt-4"), Just("gpt-35-turbo-0301"), Just("nonsense")],
    ) {
        let mut cut = cut.min(response.len());
        while !response.is_char_boundary(cut) {
            cut -= 1;
        }
        for body in [response.as_str(), &response[..cut]] {
            let ev = json!({
                "requestId": "prop", "statusCode": status, "model": model,
                "path": format!("/openai/deployments/{model}/chat/completions"),
                "request": request, "response": body,
            });
            let _ = process_event(&ev.to_string(), &Trace::default(), &cfg());
        }
    }

    #[test]
    fn the_host_decoder_never_panics_and_accounts_for_every_event(events in prop::collection::vec(".{0,200}", 0..6)) {
        let body = json!({"Data": {"events": serde_json::to_string(&events).unwrap_or_default()}}).to_string();
        let inv = decode_invocation(body.as_bytes());
        prop_assert!(inv.is_ok());
        if let Ok(inv) = inv {
            let r = process_invocation(&inv, None, &cfg());
            prop_assert_eq!(r.records.len() + r.dead_letters.len() + r.skipped_total(), inv.events.len());
        }
        let _ = decode_invocation(events.concat().as_bytes());
    }

    #[test]
    fn the_one_pass_batch_decoder_reads_back_any_events_the_host_encodes(
        events in prop::collection::vec(prop_oneof![
            "\\PC{0,60}",
            "[\\\\\"{}:,a \\x00-\\x1f\\u{7f}\\u{e9}\\u{1f642}]{0,40}",
        ], 0..5),
        pretty in any::<bool>(),
    ) {
        let encoded = serde_json::to_string(&events).unwrap_or_default();
        let body = json!({"Data": {"events": encoded}, "Metadata": {"PartitionContext": "{\"PartitionId\":\"1\"}"}});
        let body = if pretty { serde_json::to_vec_pretty(&body) } else { serde_json::to_vec(&body) }.unwrap_or_default();
        let string = serde_json::to_vec(&encoded).unwrap_or_default();
        prop_assert_eq!(string_of_string_array(&string, 1), Some((events.clone(), string.len())));
        let general = decode_invocation_general(&body);
        prop_assert!(general.is_ok());
        prop_assert_eq!(decode_invocation(&body).ok(), general.ok());
    }

    #[test]
    fn both_batch_decoders_agree_on_any_damaged_body(
        events in prop::collection::vec("[\\\\\"{}a\\u{e9}\\n]{0,12}", 1..4),
        at in any::<prop::sample::Index>(),
        byte in prop_oneof![Just(b'\\'), Just(b'"'), Just(b'u'), Just(b'n'), Just(b','), Just(b']'), Just(0x01u8), Just(0xC3u8), any::<u8>()],
        cut in any::<bool>(),
    ) {
        let encoded = serde_json::to_string(&events).unwrap_or_default();
        let mut body = serde_json::to_vec(&json!({"Data": {"events": encoded}, "Metadata": {"SequenceNumberArray": "[1,2,3]"}})).unwrap_or_default();
        let i = at.index(body.len());
        if cut { body.remove(i); } else { body[i] = byte; }
        match (decode_invocation(&body), decode_invocation_general(&body)) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "the paths disagree: {:?} vs {:?}", a, b),
        }
    }

    #[test]
    fn token_counts_are_additive_over_the_pre_tokenizer_split(text in texty()) {
        for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
            let pieces: u64 = enc.tokenizer().split(&text).map(|p| enc.count(p)).sum();
            prop_assert_eq!(enc.count(&text), pieces);
            prop_assert_eq!(enc.count(&text), enc.tokenizer().count(text.as_str()) as u64);
        }
    }

    #[test]
    fn record_totals_equal_prompt_plus_completion(
        prompt in prop_oneof![0u64..1_000_000, Just(u64::MAX)],
        completion in 0u64..1_000_000,
        text in texty(),
        with_usage in any::<bool>(),
    ) {
        let chunk = if with_usage {
            json!({"choices": [], "object": "chat.completion.chunk", "model": "gpt-4o",
                   "usage": {"prompt_tokens": prompt, "completion_tokens": completion}})
        } else {
            json!({"choices": [{"index": 0, "delta": {"content": text}}], "object": "chat.completion.chunk", "model": "gpt-4o"})
        };
        let ev = json!({
            "requestId": "prop", "statusCode": 200,
            "path": "/openai/deployments/gpt-4o/chat/completions",
            "request": json!({"messages": [{"role": "user", "content": text}], "stream": true}).to_string(),
            "response": format!("data: {chunk}\n\ndata: [DONE]\n\n"),
        });
        let out = process_event(&ev.to_string(), &Trace::default(), &cfg());
        if with_usage && prompt == u64::MAX {
            // Beyond the bounds of a real call: a dead letter, never a (saturated) bill.
            prop_assert!(matches!(out, Err(chargeback_core::EventError::Impossible(_))));
            return Ok(());
        }
        prop_assert!(matches!(out, Ok(Outcome::Record(_))));
        if let Ok(Outcome::Record(r)) = out {
            prop_assert_eq!(r.total_tokens, r.prompt_tokens.saturating_add(r.completion_tokens));
        }
    }

    #[test]
    fn the_stream_reader_reads_what_a_value_walk_reads(
        chunks in prop::collection::vec((chunk_kind(), chunk_value()), 0..6),
        garbage in prop::option::of(prop_oneof![
            Just("{\"x\":1e400}".to_string()),
            Just("{\"choices\":[{\"index\":0,\"text\":\"a\",\"text\":\"b\"}]}".to_string()),
            Just("{\"choices\":[{\"delta\":{\"content\":\"\\ud800\"}}]}".to_string()),
            Just("{\"choices\":[".to_string()),
            Just("[1,2]".to_string()),
        ]),
    ) {
        let mut body = String::new();
        for (kind, v) in &chunks {
            if let Some(k) = kind {
                body.push_str(&format!("event: {k}\n"));
            }
            body.push_str(&format!("data: {v}\n\n"));
        }
        if let Some(g) = garbage {
            body.push_str(&format!("data: {g}\n\n"));
        }
        body.push_str("data: [DONE]\n\n");
        prop_assert_eq!(completion_texts(&body), reference_stream_texts(&body));
    }
}
