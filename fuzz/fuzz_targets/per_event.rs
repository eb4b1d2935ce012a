//! The per-event decoder (issue 12 item 2): arbitrary events, some nested past serde_json's depth
//! limit, in every host shape. Each event is decoded on its own: the batch always decodes, has one
//! entry per event, keeps every JSON-looking event's text exactly (string shapes), and one bad
//! event costs no other — the core's counts always add up to the events.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use chargeback_core::{decode_invocation, process_invocation, EngineConfig, RawEvent};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fn cfg() -> &'static EngineConfig {
    static CFG: OnceLock<EngineConfig> = OnceLock::new();
    CFG.get_or_init(EngineConfig::default)
}

/// An event nested `depth` arrays deep inside an otherwise good event.
fn deep_event(i: usize, depth: usize) -> String {
    format!(
        r#"{{"requestId":"deep-{i}","statusCode":200,"x":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

/// The fuzz input as events: chunks split at 0xFF; a chunk starting with 0xFE becomes a deep
/// event (129 to 384 levels, marked `true`), any other chunk is the event's text (lossy UTF-8).
fn events(data: &[u8]) -> Vec<(String, bool)> {
    data.split(|&b| b == 0xFF)
        .take(16)
        .enumerate()
        .map(|(i, chunk)| match chunk.split_first() {
            Some((0xFE, rest)) => (
                deep_event(i, 129 + usize::from(rest.first().copied().unwrap_or(0))),
                true,
            ),
            _ => (String::from_utf8_lossy(chunk).into_owned(), false),
        })
        .collect()
}

fn host_body(events: Value, data_type: Option<&str>) -> Vec<u8> {
    let mut body = json!({"Data": {"events": events}, "Metadata": {"PartitionContext":
        "{\"PartitionId\":\"0\"}", "SequenceNumberArray": "[]"}});
    if let Some(t) = data_type {
        body["Metadata"]["sys"] = json!({"MethodName": "ChargebackEventHubTrigger"});
        body["Data"]["dataType"] = json!(t);
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Decodes `body` and checks the batch: one entry per event, texts as sent when `exact`, and
/// every event accounted for by the core.
fn check(body: &[u8], events: &[String], exact: bool, shape: &str) {
    let inv = match decode_invocation(body) {
        Ok(inv) => inv,
        Err(e) => panic!("{shape}: a batch of events did not decode: {e}"),
    };
    assert_eq!(
        inv.events.len(),
        events.len(),
        "{shape}: events lost or added"
    );
    if exact {
        // An event that looks like JSON is kept as sent; any other string is tried as base64
        // and may be a dead letter (`docs/host-protocol.md`).
        for (got, sent) in inv.events.iter().zip(events) {
            let json_like = sent.trim_start().starts_with(['{', '[']);
            match got {
                RawEvent::Text(t) if json_like => {
                    assert_eq!(t, sent, "{shape}: an event's text changed")
                }
                RawEvent::Undecodable { .. } if json_like => {
                    panic!("{shape}: a JSON event is undecodable")
                }
                _ => {}
            }
        }
    }
    let result = process_invocation(&inv, Some("fuzz"), cfg());
    assert_eq!(
        result.records.len() + result.dead_letters.len() + result.skipped_total(),
        events.len(),
        "{shape}: the core's counts do not add up"
    );
}

fuzz_target!(|data: &[u8]| {
    let marked = events(data);
    let events: Vec<String> = marked.iter().map(|(e, _)| e.clone()).collect();
    let texts: Vec<Value> = events.iter().map(|e| json!(e)).collect();
    // dataType string: a JSON string holding an array of event strings (what the host sends).
    let array = serde_json::to_string(&texts).unwrap_or_default();
    check(
        &host_body(json!(array), Some("string")),
        &events,
        true,
        "string",
    );
    // The same array, not wrapped in a string.
    check(
        &host_body(json!(texts), Some("string")),
        &events,
        true,
        "plain array",
    );
    // dataType binary: base64 of each event.
    let b64: Vec<Value> = events
        .iter()
        .map(|e| json!(base64::engine::general_purpose::STANDARD.encode(e)))
        .collect();
    let b64 = serde_json::to_string(&b64).unwrap_or_default();
    check(
        &host_body(json!(b64), Some("binary")),
        &events,
        false,
        "binary",
    );
    // No dataType, events as JSON values where they are objects (deep ones too), else strings.
    let values: Vec<String> = marked
        .iter()
        .map(|(e, deep)| match serde_json::from_str::<Value>(e) {
            Ok(v) if v.is_object() => e.clone(),
            _ if *deep => e.clone(),
            _ => json!(e).to_string(),
        })
        .collect();
    let body = format!(
        r#"{{"Data":{{"events":[{}]}},"Metadata":{{}}}}"#,
        values.join(",")
    );
    check(body.as_bytes(), &events, false, "objects");
});
