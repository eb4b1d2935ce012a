//! Issue 12 item 4: a status or usage value no real call can have is dead-lettered with a clear
//! reason and never billed (`docs/event-schema.md`, "Bounds"); every real shape still bills.

use chargeback_core::{
    process_raw, EngineConfig, EventResult, RawEvent, Trace, MAX_TOKENS_PER_CALL,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn outcome(event: &Value) -> EventResult {
    process_raw(
        &RawEvent::Text(event.to_string()),
        &Trace::default(),
        &EngineConfig::default(),
    )
}

/// A billed chat call whose response carries `usage` and whose status is `status`.
fn chat(status: Value, usage: Value) -> Value {
    let response = json!({"object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"message": {"role": "assistant", "content": "hi"}}], "usage": usage});
    json!({"schemaVersion": 2, "requestId": "r-1", "subscriptionId": "team-a",
        "statusCode": status, "path": "/openai/deployments/chat/chat/completions",
        "request": "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        "response": response.to_string()})
}

fn dead_reason(event: &Value) -> String {
    match outcome(event) {
        EventResult::Dead(d) => d.reason,
        other => panic!("expected a dead letter, got {other:?}"),
    }
}

#[test]
fn a_status_that_is_not_an_http_status_is_a_dead_letter_not_a_200() {
    let usage = json!({"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12});
    for (status, want) in [
        (json!(70000), "statusCode is 70000, outside 100..=599"),
        (json!(-1), "statusCode is -1, outside 100..=599"),
        (json!(0), "statusCode is 0, outside 100..=599"),
        (json!(200.5), "statusCode is 200.5, not an integer"),
        (json!("two hundred"), "statusCode is a string, not a number"),
        (json!([200]), "statusCode is an array, not a number"),
    ] {
        let reason = dead_reason(&chat(status.clone(), usage.clone()));
        assert_eq!(
            reason,
            format!("event has a value no real call can have: {want}"),
            "{status}"
        );
    }
}

#[test]
fn a_usage_count_no_api_could_produce_is_a_dead_letter_not_a_bill() {
    let huge = json!({"prompt_tokens": u64::MAX, "completion_tokens": 1});
    assert!(dead_reason(&chat(json!(200), huge))
        .contains("usage.prompt_tokens is 18446744073709551615"));
    let negative = json!({"prompt_tokens": -5, "completion_tokens": 1});
    assert!(dead_reason(&chat(json!(200), negative)).contains("negative count"));
    let fraction = json!({"prompt_tokens": 5, "completion_tokens": 1.5});
    assert!(dead_reason(&chat(json!(200), fraction)).contains("1.5, not an integer"));
    let below = json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 3});
    assert!(dead_reason(&chat(json!(200), below)).contains("less than the 15 tokens"));
}

#[test]
fn a_dead_letter_for_an_impossible_value_keeps_the_event_and_names_no_content() {
    let ev = chat(json!(200), json!({"prompt_tokens": -5}));
    let EventResult::Dead(d) = outcome(&ev) else {
        panic!("expected a dead letter");
    };
    assert!(d.raw.contains("r-1"), "the raw event is kept for replay");
    assert!(!d.reason.contains("hi"), "{}", d.reason);
}

#[test]
fn every_sample_event_is_still_within_bounds() {
    let dir = format!("{}/../../samples", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("samples/") {
        let path = entry.expect("a sample").path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a sample file");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let raw = RawEvent::Text(line.to_owned());
            let result = process_raw(&raw, &Trace::default(), &EngineConfig::default());
            if let EventResult::Dead(d) = result {
                assert!(
                    !d.reason.contains("no real call"),
                    "{}: {}",
                    path.display(),
                    d.reason
                );
            }
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} sample events");
}

fn count_field() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "input_tokens",
        "output_tokens",
    ])
}

/// A JSON number no count can be: above the ceiling, negative, or fractional.
fn impossible_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (MAX_TOKENS_PER_CALL + 1..=u64::MAX).prop_map(|n| json!(n)),
        (i64::MIN..0i64).prop_map(|n| json!(n)),
        (0u32..1_000_000, 1u32..1000).prop_map(|(i, f)| json!(i as f64 + f as f64 / 1000.0)),
    ]
}

proptest! {
    #[test]
    fn any_impossible_count_in_any_field_is_never_billed(
        field in count_field(),
        bad in impossible_number(),
        stream in any::<bool>(),
    ) {
        let mut usage = json!({"prompt_tokens": 7, "completion_tokens": 3});
        usage[field] = bad;
        let ev = if stream {
            let body = format!(
                "data: {{\"choices\":[],\"object\":\"chat.completion.chunk\",\"usage\":{usage}}}\n\ndata: [DONE]\n\n"
            );
            let mut ev = chat(json!(200), json!(null));
            ev["response"] = Value::String(body);
            ev
        } else {
            chat(json!(200), usage)
        };
        let is_dead = matches!(outcome(&ev), EventResult::Dead(_));
        prop_assert!(is_dead, "{ev}");
    }

    #[test]
    fn any_count_within_bounds_is_billed_as_given(
        prompt in 0..=MAX_TOKENS_PER_CALL,
        share in 0.0..=1.0f64,
        extra in 0..=1000u64,
        status in 200u16..=299,
    ) {
        // Prompt, completion and total within the ceiling together.
        let extra = extra.min(MAX_TOKENS_PER_CALL - prompt);
        let completion = ((MAX_TOKENS_PER_CALL - prompt - extra) as f64 * share) as u64;
        let usage = json!({"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion + extra});
        match outcome(&chat(json!(status), usage)) {
            EventResult::Record(r) => {
                prop_assert_eq!((r.prompt_tokens, r.completion_tokens), (prompt, completion));
                prop_assert_eq!(r.status_code, status);
            }
            other => prop_assert!(false, "expected a record, got {:?}", other),
        }
    }
}
