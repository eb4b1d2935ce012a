//! The core turns each kind of logged call into the right record (`docs/record.md`, `docs/counting.md`): the samples in
//! `samples/` plus pathological inputs that must never crash the process.

use chargeback_core::{process_event, EngineConfig, Outcome, SkipReason, Trace};
use chargeback_core::{ApiOperation, CountSource, UsageRecord};
use serde_json::{json, Value};

fn sample(name: &str) -> Vec<String> {
    let path = format!("{}/../../samples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn record(raw: &str, cfg: &EngineConfig) -> UsageRecord {
    match process_event(raw, &Trace::default(), cfg) {
        Ok(Outcome::Record(r)) => *r,
        other => panic!("expected a record, got {other:?}"),
    }
}

fn cl100k(text: &str) -> u64 {
    tiktoken_rs::cl100k_base()
        .expect("cl100k")
        .encode_ordinary(text)
        .len() as u64
}

fn o200k(text: &str) -> u64 {
    tiktoken_rs::o200k_base()
        .expect("o200k")
        .encode_ordinary(text)
        .len() as u64
}

#[test]
fn a_non_streamed_chat_takes_its_usage_object_including_cached_tokens_and_is_priced() {
    let r = record(
        &sample("chat-completion.jsonl")[0],
        &EngineConfig::default(),
    );
    assert_eq!(r.api_operation, ApiOperation::ChatCompletion);
    assert_eq!(r.count_source, CountSource::Usage);
    assert_eq!(
        (r.prompt_tokens, r.completion_tokens, r.total_tokens),
        (1290, 36, 1326)
    );
    assert_eq!(r.cached_tokens, 1152);
    assert_eq!(r.model.as_deref(), Some("gpt-4o-2024-11-20"));
    assert_eq!(r.deployment.as_deref(), Some("gpt-4o"));
    assert_eq!(
        r.consumer.subscription_id.as_deref(),
        Some("finance-analytics")
    );
    assert!(!r.stream);
    let cost = r.cost.expect("gpt-4o is priced");
    // (1290 − 1152) × 2.50 + 1152 × 1.25 + 36 × 10.00, per million tokens.
    // (138 × 2.5 + 1152 × 1.25 + 36 × 10) / 1e6, exact.
    assert_eq!(cost.total.to_string(), "0.002145");
    assert_eq!(cost.currency, "USD");
}

#[test]
fn a_stream_with_an_injected_usage_chunk_uses_that_chunk() {
    let r = record(
        &sample("chat-stream-with-usage.jsonl")[0],
        &EngineConfig::default(),
    );
    assert!(r.stream);
    assert_eq!(r.count_source, CountSource::StreamUsage);
    assert_eq!((r.prompt_tokens, r.completion_tokens), (412, 11));
    assert_eq!(r.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
}

#[test]
fn a_stream_without_usage_is_counted_with_the_models_encoding_exactly() {
    let r = record(
        &sample("chat-stream-without-usage.jsonl")[0],
        &EngineConfig::default(),
    );
    assert_eq!(r.count_source, CountSource::Tokenizer);
    assert_eq!(r.encoding.as_deref(), Some("cl100k_base"));
    // The cookbook messages on gpt-4: 129, as the API reports.
    assert_eq!(r.prompt_tokens, 129);
    let answer = "This change of direction so late means we can't do everything for the client.";
    assert_eq!(r.completion_tokens, cl100k(answer));
    assert_eq!(r.total_tokens, r.prompt_tokens + r.completion_tokens);
}

#[test]
fn a_stream_whose_usage_object_holds_no_counts_is_still_counted_from_its_text() {
    // The single stream pass skips the texts when the body shows a `"usage": {…}` object; an
    // empty one is no usage, so the texts must still be read and counted.
    let raw = &sample("chat-stream-without-usage.jsonl")[0];
    let mut ev: Value = serde_json::from_str(raw).expect("sample is JSON");
    let body = ev["response"].as_str().expect("a response body").to_owned();
    let empty_usage =
        "data: {\"choices\":[],\"object\":\"chat.completion.chunk\",\"usage\": {}}\n\n";
    let body = body.replacen("data: [DONE]", &format!("{empty_usage}data: [DONE]"), 1);
    assert!(
        body.contains("\"usage\": {}"),
        "the empty usage chunk was added"
    );
    ev["response"] = Value::String(body);
    let plain = record(raw, &EngineConfig::default());
    let hinted = record(&ev.to_string(), &EngineConfig::default());
    assert_eq!(hinted.count_source, CountSource::Tokenizer);
    assert_eq!(
        (hinted.prompt_tokens, hinted.completion_tokens),
        (plain.prompt_tokens, plain.completion_tokens)
    );
    assert!(hinted.completion_tokens > 0);
}

#[test]
fn a_streamed_tool_call_counts_the_joined_arguments_and_the_tool_definitions() {
    let raw = &sample("chat-stream-tool-call.jsonl")[0];
    let r = record(raw, &EngineConfig::default());
    assert_eq!(r.count_source, CountSource::Tokenizer);
    assert_eq!(r.encoding.as_deref(), Some("o200k_base"));
    assert_eq!(
        r.completion_tokens,
        o200k(r#"{"invoice_id":"INV-2026-0042","currency":"EUR"}"#)
    );
    // Prompt: two messages (3 + role + content each) + 3 priming + the tool definition.
    let msgs = 3
        + o200k("system")
        + o200k("You help the accounts payable team.")
        + 3
        + o200k("user")
        + o200k("Has invoice INV-2026-0042 been paid? Answer in euros.")
        + 3;
    // The cookbook's tool approximation on o200k: 7 per function, 3 + 3 per property, enum −3 + 3
    // per item, 12 at the end, plus the "name:description" and "key:type:description" lines.
    let tools = 7
        + o200k("get_invoice_status:Get the payment status of an invoice")
        + 3
        + (3 + o200k("invoice_id:string:The invoice number, e.g. INV-2026-0042"))
        + (3 + 3
            + o200k("EUR")
            + 3
            + o200k("USD")
            + 3
            + o200k("GBP")
            + o200k("currency:string:Currency to report amounts in")
            - 3)
        + 12;
    assert_eq!(r.prompt_tokens, msgs + tools);
}

#[test]
fn embeddings_take_prompt_tokens_and_have_no_completion() {
    let r = record(&sample("embeddings.jsonl")[0], &EngineConfig::default());
    assert_eq!(r.api_operation, ApiOperation::Embeddings);
    assert_eq!(
        (r.prompt_tokens, r.completion_tokens, r.total_tokens),
        (21, 0, 21)
    );
    assert!(r.cost.is_some());
}

#[test]
fn responses_api_calls_use_input_and_output_tokens_from_the_terminal_event() {
    let lines = sample("responses.jsonl");
    let streamed = record(&lines[0], &EngineConfig::default());
    assert_eq!(streamed.api_operation, ApiOperation::Responses);
    assert_eq!(streamed.count_source, CountSource::StreamUsage);
    assert_eq!(
        (streamed.prompt_tokens, streamed.completion_tokens),
        (2087, 9)
    );
    assert_eq!(streamed.cached_tokens, 1920);
    // Entra caller, no APIM subscription: attributed to the calling application.
    assert_eq!(
        streamed.consumer.billing_key(),
        "8d3f2c1e-0a4b-4c5d-9e6f-7a8b9c0d1e2f"
    );
    let reasoning = record(&lines[1], &EngineConfig::default());
    assert_eq!(reasoning.reasoning_tokens, 896);
    assert_eq!(reasoning.count_source, CountSource::Usage);
}

#[test]
fn a_responses_stream_without_its_terminal_event_counts_output_but_never_the_request() {
    let line = &sample("responses.jsonl")[0];
    let mut ev: Value = serde_json::from_str(line).unwrap();
    let body = ev["response"].as_str().unwrap().to_string();
    let cut = &body[..body.find("event: response.completed").unwrap()];
    ev["response"] = json!(cut);
    ev["responseTruncated"] = json!(true);
    let r = record(&ev.to_string(), &EngineConfig::default());
    assert_eq!(
        r.prompt_tokens, 0,
        "stored turns are billed but not in the body: never tokenize"
    );
    assert_eq!(
        r.completion_tokens,
        o200k("Approved budgets are in the FY27 plan.")
    );
    assert_eq!(r.count_source, CountSource::TokenizerTruncated);
}

#[test]
fn a_prompt_content_filter_400_bills_the_prompt_only() {
    let r = record(
        &sample("content-filter-400.jsonl")[0],
        &EngineConfig::default(),
    );
    assert_eq!(r.status_code, 400);
    assert_eq!(r.completion_tokens, 0);
    let expected = 3 + o200k("user") + o200k("Write a threatening letter to my neighbour.") + 3;
    assert_eq!(r.prompt_tokens, expected);
    assert_eq!(r.count_source, CountSource::Tokenizer);
    assert!(r.billable);
}

#[test]
fn a_throttled_429_is_skipped_unless_non_billable_rows_are_asked_for() {
    let raw = &sample("throttled-429.jsonl")[0];
    assert_eq!(
        process_event(raw, &Trace::default(), &EngineConfig::default()).unwrap(),
        Outcome::Skipped(SkipReason::NotBillableStatus)
    );
    let cfg = EngineConfig {
        record_non_billable: true,
        ..EngineConfig::default()
    };
    let r = record(raw, &cfg);
    assert!(!r.billable);
    assert_eq!((r.total_tokens, r.status_code), (0, 429));
    assert!(r.cost.is_none());
}

#[test]
fn every_non_billable_status_is_skipped() {
    let base: Value = serde_json::from_str(&sample("chat-completion.jsonl")[0]).unwrap();
    for status in [401, 403, 404, 408, 429, 500, 502, 503, 504] {
        let mut ev = base.clone();
        ev["statusCode"] = json!(status);
        assert_eq!(
            process_event(&ev.to_string(), &Trace::default(), &EngineConfig::default()).unwrap(),
            Outcome::Skipped(SkipReason::NotBillableStatus),
            "{status}"
        );
    }
}

#[test]
fn a_legacy_v1_event_is_billed_to_the_key_fingerprint_and_the_key_appears_nowhere() {
    let raw = &sample("legacy-v1.jsonl")[0];
    let key = "5f2b8c0e9d4a4e7bb1c3d6e8f0a2b4c6";
    assert!(raw.contains(key));
    let r = record(raw, &EngineConfig::default());
    let fp = r.consumer.subscription_id.clone().unwrap();
    assert!(fp.starts_with("key-sha256:"));
    assert_eq!(r.api_operation, ApiOperation::ChatCompletion);
    assert_eq!(r.event_time, "2026-11-02T09:35:00Z");
    assert_eq!((r.prompt_tokens, r.completion_tokens), (15, 3));
    assert!(!serde_json::to_string(&r).unwrap().contains(key));
}

#[test]
fn a_response_cut_in_the_middle_keeps_the_usage_found_in_its_tail() {
    let r = record(&sample("truncated.jsonl")[0], &EngineConfig::default());
    assert_eq!(r.count_source, CountSource::Usage);
    assert_eq!((r.prompt_tokens, r.completion_tokens), (95, 4801));
    assert_eq!(r.model.as_deref(), Some("gpt-4.1-2025-04-14"));
}

#[test]
fn a_truncated_request_without_usage_counts_what_survived_and_says_so() {
    let r = record(&sample("truncated.jsonl")[1], &EngineConfig::default());
    assert_eq!(r.count_source, CountSource::TokenizerTruncated);
    assert!(r.prompt_tokens > 100);
    assert_eq!(
        r.completion_tokens,
        o200k("Looks complete; add a rollback step.")
    );
}

#[test]
fn the_deployment_map_picks_the_encoding_when_the_response_names_no_model() {
    let base: Value = serde_json::from_str(&sample("chat-stream-without-usage.jsonl")[0]).unwrap();
    let mut ev = base.clone();
    let body = ev["response"].as_str().unwrap().replace("gpt-4-0613", "");
    ev["response"] = json!(body);
    ev["path"] = json!("/openai/deployments/legacy-chat/chat/completions");
    ev["deploymentId"] = json!("legacy-chat");
    let mut cfg = EngineConfig::default();
    let unmapped = record(&ev.to_string(), &cfg);
    assert_eq!(unmapped.encoding.as_deref(), Some("o200k_base"));
    assert_eq!(unmapped.model, None);
    cfg.deployments =
        chargeback_core::pricing::parse_deployment_models("legacy-chat=gpt-4").unwrap();
    let mapped = record(&ev.to_string(), &cfg);
    assert_eq!(mapped.encoding.as_deref(), Some("cl100k_base"));
    assert_eq!(mapped.model.as_deref(), Some("gpt-4"));
    assert_eq!(mapped.prompt_tokens, 129);
    assert!(mapped.cost.is_some());
}

#[test]
fn unknown_operations_are_recorded_only_when_the_response_has_usage() {
    let with_usage = json!({"requestId": "x-1", "statusCode": 200, "path": "/openai/deployments/d/fancy/new-thing",
        "response": "{\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}"});
    let r = record(&with_usage.to_string(), &EngineConfig::default());
    assert_eq!(r.api_operation, ApiOperation::Other);
    assert_eq!(r.total_tokens, 7);
    let without = json!({"requestId": "x-2", "statusCode": 200, "path": "/orders", "response": "{\"ok\":true}"});
    assert_eq!(
        process_event(
            &without.to_string(),
            &Trace::default(),
            &EngineConfig::default()
        )
        .unwrap(),
        Outcome::Skipped(SkipReason::NoUsageForOperation)
    );
}

#[test]
fn retrieving_a_stored_response_is_never_billed_again() {
    let ev = json!({"requestId": "g-1", "statusCode": 200, "method": "GET", "path": "/openai/v1/responses/resp_1",
        "response": "{\"object\":\"response\",\"usage\":{\"input_tokens\":50,\"output_tokens\":20}}"});
    assert_eq!(
        process_event(&ev.to_string(), &Trace::default(), &EngineConfig::default()).unwrap(),
        Outcome::Skipped(SkipReason::NotInference)
    );
}

#[test]
fn trace_fields_are_copied_onto_the_record() {
    let trace = Trace {
        partition_id: Some("3".into()),
        sequence_number: Some(1024),
        enqueued_time: Some("2025-01-15T10:20:30.512".into()),
        invocation_id: Some("inv-1".into()),
    };
    let r = match process_event(
        &sample("embeddings.jsonl")[0],
        &trace,
        &EngineConfig::default(),
    ) {
        Ok(Outcome::Record(r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.partition_id.as_deref(), Some("3"));
    assert_eq!(r.sequence_number, Some(1024));
    assert_eq!(r.enqueued_time.as_deref(), Some("2025-01-15T10:20:30.512Z"));
    assert_eq!(r.invocation_id.as_deref(), Some("inv-1"));
}

fn stream_event(deltas: &[&str], model: &str) -> String {
    let mut body = String::new();
    for d in deltas {
        let chunk = json!({"object": "chat.completion.chunk", "model": model,
            "choices": [{"index": 0, "delta": {"content": d}}]});
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    json!({"requestId": "p-1", "statusCode": 200, "path": "/openai/deployments/d/chat/completions",
        "request": "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}",
        "response": body})
    .to_string()
}

#[test]
fn a_response_of_a_million_spaces_is_counted_correctly_without_crashing() {
    let spaces = " ".repeat(1_000_000);
    let r = record(
        &stream_event(&[&spaces], "gpt-4o"),
        &EngineConfig::default(),
    );
    // One token per 128 spaces, the law tiktoken follows (see tests/tokenizer_reference.rs).
    assert_eq!(r.completion_tokens, 1_000_000u64.div_ceil(128));
}

#[test]
fn completion_text_is_counted_after_the_stream_is_joined_not_per_chunk() {
    let r = record(
        &stream_event(&["Hel", "lo", " wor", "ld"], "gpt-4o"),
        &EngineConfig::default(),
    );
    assert_eq!(r.completion_tokens, o200k("Hello world"));
}

#[test]
fn special_token_spellings_in_completions_count_as_ordinary_text() {
    let r = record(
        &stream_event(&["<|endoftext|>", " done"], "gpt-4"),
        &EngineConfig::default(),
    );
    assert_eq!(r.completion_tokens, cl100k("<|endoftext|> done"));
}

#[test]
fn a_lone_surrogate_split_across_chunks_damages_only_that_chunk() {
    let mut body = String::new();
    body.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok \\ud83d\"}}],\"model\":\"gpt-4o\"}\n\n");
    body.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\ude00 fine\"}}],\"model\":\"gpt-4o\"}\n\n");
    body.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" end\"}}],\"model\":\"gpt-4o\"}\n\n");
    let ev = json!({"requestId": "s-1", "statusCode": 200, "path": "/openai/deployments/d/chat/completions",
        "request": "{\"messages\":[]}", "response": body});
    let r = record(&ev.to_string(), &EngineConfig::default());
    assert_eq!(r.count_source, CountSource::TokenizerTruncated);
    assert_eq!(r.completion_tokens, o200k(" end"));
}

#[test]
fn deeply_nested_json_is_a_clean_error_or_record_never_a_crash() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(process_event(&deep, &Trace::default(), &EngineConfig::default()).is_err());
    let nested_body = json!({"requestId": "n-1", "statusCode": 200,
        "path": "/openai/deployments/d/chat/completions", "request": deep.clone(), "response": deep});
    let out = process_event(
        &nested_body.to_string(),
        &Trace::default(),
        &EngineConfig::default(),
    );
    assert!(out.is_ok());
}

#[test]
fn a_200_kb_body_of_random_text_is_processed() {
    let mut rng = 0x2545F4914F6CDD1Du64;
    let text: String = (0..60_000)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            char::from_u32((rng % 0x2FFFF) as u32).unwrap_or('x')
        })
        .collect();
    assert!(text.len() > 150_000);
    let r = record(&stream_event(&[&text], "gpt-4o"), &EngineConfig::default());
    assert_eq!(r.completion_tokens, o200k(&text));
}
