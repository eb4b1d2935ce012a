//! Differential tests of the fast stream paths (usage from the tail, the chunk scanner): on every
//! sample, host fixture and generated corpus event, and on random streams, they read exactly
//! what the general full pass reads.

use chargeback_core::differential::{
    chunk_readers_agree, event_paths_agree, stream_chunks_agree, stream_paths_agree,
};
use chargeback_core::{decode_invocation, parse_event, RawEvent};
use proptest::prelude::*;
use serde_json::{json, Value};

#[path = "../../../examples/corpus.rs"]
#[allow(dead_code)]
mod corpus;

fn repo_file(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Both checks on one logged response body.
fn check(body: &str, what: &str) {
    if let Err(e) = stream_paths_agree(body) {
        panic!("{what}: the paths differ: {e}");
    }
    if let Err(e) = stream_chunks_agree(body) {
        panic!("{what}: the chunk readers differ: {e}");
    }
}

fn check_event(raw: &str, what: &str) -> bool {
    if let Err(e) = event_paths_agree(raw) {
        panic!("{what}: the escaped and the decoded event paths differ: {e}");
    }
    let Ok(ev) = parse_event(raw) else {
        return false;
    };
    if let Some(body) = &ev.response {
        check(&body.text(), what);
    }
    true
}

#[test]
fn every_sample_and_host_fixture_reads_alike_on_both_paths() {
    let mut events = 0;
    for dir in ["samples", "tests/fixtures/host"] {
        let mut files: Vec<_> = std::fs::read_dir(repo_file(dir))
            .expect("the repository's samples and fixtures")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let name = f.display().to_string();
            if name.ends_with(".jsonl") {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    events += usize::from(check_event(line, &name));
                }
            } else if name.ends_with(".json") {
                // A fixture is the host's request, its body under `body` where headers are kept.
                let doc: Value = serde_json::from_str(&text).unwrap_or_default();
                let body = doc.get("body").unwrap_or(&doc).to_string();
                if let Ok(inv) = decode_invocation(body.as_bytes()) {
                    for raw in &inv.events {
                        if let RawEvent::Text(raw) = raw {
                            events += usize::from(check_event(raw, &name));
                        }
                    }
                }
            }
        }
    }
    assert!(events >= 20, "only {events} events read");
}

#[test]
fn every_kind_of_generated_corpus_event_reads_alike_on_both_paths() {
    let mut gen = corpus::Gen::new(7);
    for kind in corpus::Kind::ALL {
        for i in 0..25 {
            let ev = gen.event(kind).to_string();
            assert!(check_event(&ev, &format!("{} #{i}", kind.name())));
        }
    }
}

#[test]
fn the_azure_mixes_are_read_by_the_fast_paths() {
    // The fast paths must actually run on Azure's shapes, not just agree by declining.
    let mut gen = corpus::Gen::new(11);
    for kind in [corpus::Kind::AzureUsage, corpus::Kind::AzureText] {
        let ev = gen.event(kind);
        let body = ev["response"].as_str().unwrap_or_default();
        let data: Vec<&str> = body
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]" && !d.contains("\"usage\":{"))
            .collect();
        assert!(data.len() > 3);
        for d in data {
            assert!(
                chargeback_core::differential::chunk_is_scanned(d),
                "{} not scanned: {d}",
                kind.name()
            );
        }
    }
}

/// One random piece of generated text: plain, with JSON escapes, or non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,12}",
        Just("\"quoted\"\n\tand \\ back".to_string()),
        Just("Größe 東京 🎉".to_string()),
        Just(String::new()),
        "\\PC{0,6}",
    ]
}

/// One random chat chunk (as a JSON value) of the shapes streams carry.
fn chunk() -> impl Strategy<Value = Value> {
    let usage = prop_oneof![
        3 => Just(Value::Null),
        1 => (0u64..5000, 0u64..5000).prop_map(|(p, c)| json!({"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c})),
        1 => Just(json!({})),
        1 => Just(json!({"prompt_tokens": "nine"})),
    ];
    let delta = prop_oneof![
        text().prop_map(|t| json!({"content": t})),
        Just(json!({"content": null, "role": "assistant"})),
        Just(json!({})),
        (0u64..3, text()).prop_map(|(i, t)| json!({"tool_calls": [{"index": i, "function": {"arguments": t}}]})),
        text().prop_map(|t| json!({"tool_calls": [{"function": {"name": "f", "arguments": t}}, {"function": {"arguments": "x"}}]})),
        text().prop_map(|t| json!({"function_call": {"arguments": t}})),
        text().prop_map(|t| json!({"refusal": t})),
        text().prop_map(|t| json!({"content": [{"type": "text", "text": t}]})),
    ];
    let choice = (0u64..3, delta, any::<bool>()).prop_map(|(i, d, filters)| {
        let mut c = json!({"delta": d, "finish_reason": null, "index": i, "logprobs": null});
        if filters {
            c["content_filter_results"] = json!({"hate": {"filtered": false, "severity": "safe"}});
        }
        c
    });
    (
        prop::collection::vec(choice, 0..3),
        usage,
        prop_oneof![Just(""), Just("gpt-4o-2024-11-20"), Just("gpt-4-0613")],
        prop_oneof![
            Just(""),
            Just("chat.completion.chunk"),
            Just("text_completion")
        ],
    )
        .prop_map(|(choices, usage, model, object)| {
            let mut c = json!({"choices": choices, "created": 1793611500, "id": "chatcmpl-1",
                               "model": model, "object": object});
            if !usage.is_null() || model.len() % 2 == 0 {
                c["usage"] = usage;
            }
            c
        })
}

/// One random Responses API stream event: its `event:` name and its data, usage on any of them
/// (it counts only on a terminal event).
fn responses_event() -> impl Strategy<Value = (String, Value)> {
    let kind = prop_oneof![
        Just("response.created"),
        Just("response.output_text.delta"),
        Just("response.function_call_arguments.delta"),
        Just("response.completed"),
        Just("response.incomplete"),
    ];
    (kind, text(), 0u64..3, prop::option::of(1u64..900)).prop_map(|(kind, t, i, usage)| {
        let usage = usage.map_or(
            Value::Null,
            |n| json!({"input_tokens": n, "output_tokens": 2}),
        );
        let data = json!({"type": kind, "output_index": i, "delta": t,
                          "response": {"model": "gpt-4.1-2025-04-14", "usage": usage}});
        (kind.to_string(), data)
    })
}

/// A random event-stream body of such chunks (or, one time in four, of Responses events), with
/// Azure's first chunk sometimes, a byte-order mark sometimes, damage sometimes, and any of the
/// line ends the format allows.
fn stream() -> impl Strategy<Value = String> {
    let events = prop_oneof![
        3 => prop::collection::vec(chunk(), 0..8)
            .prop_map(|c| c.into_iter().map(|c| (String::new(), c)).collect::<Vec<_>>()),
        1 => prop::collection::vec(responses_event(), 0..6),
    ];
    (
        events,
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        (any::<bool>(), any::<bool>()),
        any::<bool>(),
        prop::option::of(0usize..2000),
    )
        .prop_map(|(chunks, nl, (prompt_filter, bom), done, cut)| {
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            if prompt_filter {
                s.push_str(&format!("data: {{\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[]}}{nl}{nl}"));
            }
            for (i, (name, c)) in chunks.iter().enumerate() {
                if i % 3 == 2 {
                    s.push_str(&format!(": keep-alive{nl}"));
                }
                if !name.is_empty() {
                    s.push_str(&format!("event: {name}{nl}"));
                }
                s.push_str(&format!("data: {c}{nl}{nl}"));
            }
            if done {
                s.push_str(&format!("data: [DONE]{nl}{nl}{nl}"));
            }
            if let Some(at) = cut {
                let mut at = at.min(s.len());
                while !s.is_char_boundary(at) {
                    at -= 1;
                }
                s.truncate(at);
            }
            s
        })
}

/// A random stream long enough (up to about 60 KB) that the escaped reading decodes windows of
/// it, not the whole: the chunks of [`stream`] after many filler chunks, and, sometimes, a usage
/// chunk that a later event's damage or a long tail keeps out of the first window.
fn long_stream() -> impl Strategy<Value = String> {
    (
        stream(),
        0usize..400,
        prop_oneof![Just("\n"), Just("\r\n")],
        any::<bool>(),
    )
        .prop_map(|(tail, fillers, nl, head)| {
            let filler = "data: {\"choices\":[{\"delta\":{\"content\":\"word \\\"q\\\"\"},\"finish_reason\":null,\"index\":0}],\"created\":1793611500,\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-11-20\",\"object\":\"chat.completion.chunk\",\"usage\":null}";
            let mut s = String::new();
            if head {
                s.push_str(&format!("data: {{\"choices\":[],\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[]}}{nl}{nl}"));
            }
            for _ in 0..fillers {
                s.push_str(filler);
                s.push_str(nl);
                s.push_str(nl);
            }
            s + &tail
        })
}

/// The ways writers escape a JSON string: as `serde_json` (and APIM's Json.NET) do, with `/`
/// escaped too, or with everything outside ASCII as `\u` escapes (such a body is decoded when
/// the event is read).
fn escaped_json_string(text: &str, style: u8) -> String {
    let plain = serde_json::to_string(text).unwrap_or_default();
    match style % 3 {
        0 => plain,
        1 => plain.replace('/', "\\/"),
        _ => {
            let mut out = String::new();
            for ch in plain.chars() {
                if ch.is_ascii() {
                    out.push(ch);
                } else {
                    let mut units = [0u16; 2];
                    for u in ch.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
            }
            out
        }
    }
}

/// An APIM event whose response is `body` and whose request is a chat request, each escaped in
/// one of the writers' styles.
fn event_with(body: &str, style: u8, status: u16) -> String {
    let request =
        json!({"messages": [{"role": "user", "content": "Grüße / \"hi\"\n"}], "stream": true})
            .to_string();
    format!(
        r#"{{"requestId":"r-1","statusCode":{status},"path":"/openai/deployments/gpt-4o/chat/completions","request":{},"response":{}}}"#,
        escaped_json_string(&request, style / 3),
        escaped_json_string(body, style)
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn random_events_give_the_same_record_with_bodies_escaped_or_decoded(
        body in prop_oneof![stream(), long_stream()], style in 0u8..9, status in prop_oneof![Just(200u16), Just(400u16)],
    ) {
        let ev = event_with(&body, style, status);
        prop_assert!(event_paths_agree(&ev).is_ok(), "{:?}", event_paths_agree(&ev));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_streams_read_alike_on_the_fast_and_the_general_path(body in stream()) {
        prop_assert!(stream_paths_agree(&body).is_ok(), "{:?}", stream_paths_agree(&body));
        prop_assert!(stream_chunks_agree(&body).is_ok(), "{:?}", stream_chunks_agree(&body));
    }

    #[test]
    fn a_damaged_chunk_is_read_alike_by_the_scanner_and_the_serde_reader(
        c in chunk(), at in 0usize..400, byte in any::<u8>(), cut in any::<bool>(),
    ) {
        let mut bytes = c.to_string().into_bytes();
        let at = at.min(bytes.len().saturating_sub(1));
        if cut {
            bytes.truncate(at);
        } else if !bytes.is_empty() {
            bytes[at] = byte;
        }
        if let Ok(data) = String::from_utf8(bytes) {
            prop_assert!(chunk_readers_agree(&data).is_ok(), "{:?}", chunk_readers_agree(&data));
        }
    }
}

#[test]
fn usage_on_a_middle_chunk_and_several_usage_chunks_keep_the_last_one() {
    let body = concat!(
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"index\":0}],\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"index\":1}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"c\"},\"index\":0}],\"usage\":null}\n\n",
        "data: [DONE]\n\n",
    );
    check(body, "two usage chunks, the later one in the middle");
}
