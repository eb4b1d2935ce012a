//! `chargeback replay` over Event Hubs Capture Avro files (docs/capture.md), run as the real
//! binary: the fixtures are written by fastavro (crates/capture/tests/fixtures/make_capture.py)
//! and hold the JSON-lines events of events.jsonl next to them.

use std::process::{Command, Output};

use serde_json::Value;

mod capture_support;
use capture_support::records_minus_trace;

const BIN: &str = env!("CARGO_BIN_EXE_chargeback");

fn fixture(name: &str) -> String {
    format!(
        "{}/crates/capture/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn replay(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("replay")
        .args(args)
        .env_remove("CHARGEBACK_DEPLOYMENT_MODELS")
        .env_remove("CHARGEBACK_PRICE_SHEET")
        .env_remove("CHARGEBACK_RECORD_NON_BILLABLE")
        .output()
        .expect("run chargeback")
}

#[test]
fn replay_over_capture_files_gives_the_records_of_the_events_they_hold() {
    let lines = replay(&[&fixture("events.jsonl")]);
    assert_eq!(lines.status.code(), Some(0));
    let expected = records_minus_trace(&lines);
    assert!(!expected.is_empty());
    for codec in ["capture-null.avro", "capture-deflate.avro"] {
        let avro = replay(&[&fixture(codec)]);
        assert_eq!(
            avro.status.code(),
            Some(0),
            "{codec}: {}",
            String::from_utf8_lossy(&avro.stderr)
        );
        assert_eq!(records_minus_trace(&avro), expected, "{codec}");
    }
}

#[test]
fn capture_trace_fields_land_on_the_records() {
    let out = replay(&[&fixture("capture-null.avro")]);
    let text = String::from_utf8_lossy(&out.stdout);
    let first: Value = serde_json::from_str(text.lines().next().expect("a record")).unwrap();
    // The first record of the fixture: sequence number 1200, enqueued a second after its event.
    assert_eq!(first["sequenceNumber"], 1200);
    assert_eq!(first["enqueuedTime"], "2026-11-02T09:01:01Z");
}

#[test]
fn an_empty_capture_file_is_normal_and_gives_no_records() {
    let out = replay(&[&fixture("capture-empty.avro")]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_capture_records_are_named_by_position_and_exit_3() {
    let out = replay(&[&fixture("capture-bad-records.avro")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("capture-bad-records.avro: record 2 skipped"),
        "{err}"
    );
    // The good records still count.
    assert!(!out.stdout.is_empty());
}
