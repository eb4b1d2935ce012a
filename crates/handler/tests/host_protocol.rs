//! The Functions custom-handler protocol (`docs/host-protocol.md`): every payload shape the host produces is
//! accepted, one bad event never fails a batch, and the answer is always the host's JSON.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use chargeback_core::nested_json::{events_string_start, string_of_string_array};
use chargeback_core::EngineConfig;
use chargeback_core::{decode_invocation, decode_invocation_general, RawEvent, RetryContext};
use chargeback_handler::{router, AppState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/host/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str::<Value>(&text).unwrap()["body"].clone()
}

fn sample_events() -> Vec<String> {
    let dir = format!("{}/../../samples", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    names.sort();
    names
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A host body in the `dataType: string` shape, with the fixture's metadata for `n` events.
fn string_shape(events: &[String]) -> Value {
    let mut body = fixture("request-eventhub-many-datatype-string.json");
    body["Data"]["events"] = json!(serde_json::to_string(events).unwrap());
    let seqs: Vec<i64> = (0..events.len() as i64).map(|i| 5000 + i).collect();
    body["Metadata"]["SequenceNumberArray"] = json!(serde_json::to_string(&seqs).unwrap());
    let times: Vec<String> = (0..events.len())
        .map(|_| "2026-11-02T09:00:00.5".to_string())
        .collect();
    body["Metadata"]["EnqueuedTimeUtcArray"] = json!(serde_json::to_string(&times).unwrap());
    body
}

async fn post(body: Vec<u8>) -> (StatusCode, Value) {
    let app = router(AppState::new(EngineConfig::default()), 64 * 1024 * 1024);
    let req = Request::post("/ChargebackEventHubTrigger")
        .header("content-type", "application/json; charset=utf-8")
        .header(
            "X-Azure-Functions-InvocationId",
            "8e2a1c5b-3f4d-4a6e-9b7c-1d2e3f4a5b6c",
        )
        .body(Body::from(body))
        .unwrap();
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(
        !bytes.is_empty(),
        "the host hangs on an empty body: never send one"
    );
    (
        status,
        serde_json::from_slice(&bytes).expect("the answer is JSON"),
    )
}

fn lines(v: &Value) -> Vec<Value> {
    v.as_str()
        .map(|s| {
            s.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_fixture_shape_decodes_to_its_two_events_with_partition_and_sequence_numbers() {
    for name in [
        "request-eventhub-many-datatype-string.json",
        "request-eventhub-many-datatype-binary.json",
        "request-eventhub-many-no-datatype.json",
        "request-eventhub-many-retry-attempt.json",
    ] {
        let body = serde_json::to_vec(&fixture(name)).unwrap();
        let inv = decode_invocation(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(inv.events.len(), 2, "{name}");
        for e in &inv.events {
            match e {
                RawEvent::Text(t) => assert!(t.contains("\"RequestId\""), "{name}: {t}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(inv.partition_id.as_deref(), Some("3"), "{name}");
        assert_eq!(inv.sequence_numbers, vec![Some(1024), Some(1025)], "{name}");
        assert_eq!(
            inv.enqueued_times[0].as_deref(),
            Some("2025-01-15T10:20:30.512")
        );
    }
}

#[test]
fn the_one_pass_decoder_reads_every_fixture_and_the_samples_as_the_general_decoder_does() {
    let mut bodies = Vec::new();
    for name in [
        "request-eventhub-many-datatype-string.json",
        "request-eventhub-many-datatype-binary.json",
        "request-eventhub-many-no-datatype.json",
        "request-eventhub-many-retry-attempt.json",
    ] {
        bodies.push(serde_json::to_vec(&fixture(name)).unwrap());
        bodies.push(serde_json::to_vec_pretty(&fixture(name)).unwrap());
    }
    let samples = serde_json::to_vec(&string_shape(&sample_events())).unwrap();
    // The string shape really takes the one-pass path, and reads back every sample event.
    let start = events_string_start(&samples).expect("the host's string shape is recognised");
    let (items, _) = string_of_string_array(&samples, start).expect("and decoded in one pass");
    assert_eq!(items, sample_events());
    bodies.push(samples);
    for body in &bodies {
        let general = decode_invocation_general(body).unwrap();
        assert_eq!(decode_invocation(body).unwrap(), general);
        assert!(!general.events.is_empty());
    }
}

#[test]
fn a_repeated_data_or_events_key_is_read_as_the_general_decoder_reads_it() {
    // serde_json keeps the last of two equal keys; the one-pass path must not pick the first.
    let event = r#"{"RequestId":"r1"}"#;
    let one = serde_json::to_string(&serde_json::to_string(&[event]).unwrap()).unwrap();
    for body in [
        format!(r#"{{"Data":{{"events":{one},"events":"[]"}}}}"#),
        format!(r#"{{"Data":{{"events":{one}}},"Data":{{"events":"[]"}}}}"#),
    ] {
        let inv = decode_invocation(body.as_bytes()).unwrap();
        assert_eq!(inv, decode_invocation_general(body.as_bytes()).unwrap());
        assert!(inv.events.is_empty(), "{body}");
    }
    let metadata_first = format!(
        r#"{{"Metadata":{{"PartitionContext":"{{\"PartitionId\":\"7\"}}"}},"Data":{{"events":{one}}}}}"#
    );
    let inv = decode_invocation(metadata_first.as_bytes()).unwrap();
    assert_eq!(inv.events, vec![RawEvent::Text(event.into())]);
    assert_eq!(inv.partition_id.as_deref(), Some("7"));
}

#[test]
fn the_retry_context_is_read_from_the_metadata() {
    let body = serde_json::to_vec(&fixture("request-eventhub-many-retry-attempt.json")).unwrap();
    let inv = decode_invocation(&body).unwrap();
    assert_eq!(
        inv.retry,
        Some(RetryContext {
            retry_count: 1,
            max_retry_count: 5
        })
    );
    assert!(!inv.retry.unwrap().is_last());
}

#[tokio::test]
async fn fixture_events_that_are_not_openai_calls_are_skipped_and_answered_with_host_json() {
    for name in [
        "request-eventhub-many-datatype-string.json",
        "request-eventhub-many-datatype-binary.json",
        "request-eventhub-many-no-datatype.json",
    ] {
        let (status, v) = post(serde_json::to_vec(&fixture(name)).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(
            v["Outputs"].is_object() && v["ReturnValue"].is_null(),
            "{name}: {v}"
        );
        assert!(
            v["Outputs"].get("usage").is_none(),
            "no records, no empty blob"
        );
        assert!(v["Outputs"].get("deadletter").is_none());
        let log = v["Logs"][0].as_str().unwrap();
        assert!(
            log.contains("2 events -> 0 records, 0 dead letters, 2 skipped"),
            "{log}"
        );
        assert!(log.contains("partition 3 seq 1024-1025"), "{log}");
    }
}

async fn records_for(body: Value) -> Vec<Value> {
    let (status, v) = post(serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["Outputs"].get("deadletter").is_none(), "{v}");
    lines(&v["Outputs"]["usage"])
}

#[tokio::test]
async fn the_string_binary_parsed_and_plain_array_shapes_give_the_same_records() {
    let events = sample_events();
    let string_body = string_shape(&events);

    let mut binary_body = string_body.clone();
    let b64: Vec<String> = events
        .iter()
        .map(|e| base64::engine::general_purpose::STANDARD.encode(e))
        .collect();
    binary_body["Data"]["events"] = json!(serde_json::to_string(&b64).unwrap());

    let mut parsed_body = string_body.clone();
    let objects: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    parsed_body["Data"]["events"] = json!(serde_json::to_string(&objects).unwrap());

    let plain_array = json!(objects);

    let from_string = records_for(string_body).await;
    assert_eq!(from_string.len(), 11, "12 sample events, one 429");
    let strip = |mut r: Vec<Value>| {
        for x in &mut r {
            for k in [
                "partitionId",
                "sequenceNumber",
                "enqueuedTime",
                "invocationId",
            ] {
                x.as_object_mut().unwrap().remove(k);
            }
        }
        r
    };
    let base = strip(from_string.clone());
    assert_eq!(strip(records_for(binary_body).await), base, "binary");
    assert_eq!(strip(records_for(parsed_body).await), base, "no dataType");
    assert_eq!(strip(records_for(plain_array).await), base, "plain array");

    let first = &from_string[0];
    assert_eq!(first["partitionId"], "3");
    assert_eq!(
        first["invocationId"],
        "8e2a1c5b-3f4d-4a6e-9b7c-1d2e3f4a5b6c"
    );
    assert_eq!(first["enqueuedTime"], "2026-11-02T09:00:00.500Z");
    let seqs: Vec<i64> = from_string
        .iter()
        .map(|r| r["sequenceNumber"].as_i64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "input order is kept: {seqs:?}"
    );
}

#[tokio::test]
async fn one_garbage_event_goes_to_the_dead_letter_and_the_rest_of_the_batch_is_billed() {
    let mut events = sample_events();
    events.insert(3, "this is not an APIM event {".to_string());
    events.insert(7, "{\"no\":\"requestId\"}".to_string());
    let (status, v) = post(serde_json::to_vec(&string_shape(&events)).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lines(&v["Outputs"]["usage"]).len(), 11);
    let dead = lines(&v["Outputs"]["deadletter"]);
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0]["sequenceNumber"], 5003);
    assert_eq!(dead[0]["partitionId"], "3");
    assert_eq!(dead[0]["raw"], "this is not an APIM event {");
    assert!(
        dead[0]["reason"]
            .as_str()
            .unwrap()
            .contains("neither JSON nor base64"),
        "{}",
        dead[0]
    );
    assert!(dead[1]["reason"].as_str().unwrap().contains("requestId"));
    assert_eq!(
        dead[1]["invocationId"],
        "8e2a1c5b-3f4d-4a6e-9b7c-1d2e3f4a5b6c"
    );
}

#[tokio::test]
async fn a_base64_item_that_is_not_utf8_is_dead_lettered_not_fatal() {
    let mut body = string_shape(&sample_events()[..1]);
    let bad = base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, 0x00, 0x41]);
    let good = base64::engine::general_purpose::STANDARD.encode(&sample_events()[0]);
    body["Data"]["events"] = json!(serde_json::to_string(&[bad, good]).unwrap());
    let (status, v) = post(serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lines(&v["Outputs"]["usage"]).len(), 1);
    assert!(lines(&v["Outputs"]["deadletter"])[0]["reason"]
        .as_str()
        .unwrap()
        .contains("UTF-8"));
}

#[tokio::test]
async fn a_request_that_is_not_an_invocation_gets_a_400_that_says_why() {
    for (body, needle) in [
        (b"not json at all".to_vec(), "not JSON"),
        (b"{\"hello\":1}".to_vec(), "Data"),
        (b"42".to_vec(), "Data"),
    ] {
        let (status, v) = post(body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(v["error"].as_str().unwrap().contains(needle), "{v}");
    }
}

#[tokio::test]
async fn an_empty_batch_is_answered_with_host_json() {
    let (status, v) =
        post(serde_json::to_vec(&json!({"Data": {"events": "[]"}, "Metadata": {}})).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["Outputs"], json!({}));
    assert!(v["Logs"][0].as_str().unwrap().contains("0 events"));
}

#[tokio::test]
async fn the_readiness_probe_answers_without_a_batch() {
    let app = router(AppState::new(EngineConfig::default()), 1024);
    let resp = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let app = router(AppState::new(EngineConfig::default()), 1024);
    let resp = app
        .oneshot(Request::post("/Elsewhere").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
