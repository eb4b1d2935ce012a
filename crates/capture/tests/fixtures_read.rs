//! The committed Capture fixtures (written by fastavro, see tests/fixtures/make_capture.py) read
//! back: events, trace fields, per-record errors, empty files, and byte-for-byte regeneration.

use std::path::{Path, PathBuf};
use std::process::Command;

use chargeback_capture::{read_capture, CaptureError};

/// A Capture-shaped name, as the documented naming format gives it.
const CAPTURE_PATH: &str = "chargeback-ns/apim-logs/3/2026/11/02/09/00/00.avro";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn event_lines() -> Vec<String> {
    let text = String::from_utf8(fixture("events.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_null_codec_file_gives_each_body_with_its_trace_fields() {
    let file = read_capture(&fixture("capture-null.avro"), CAPTURE_PATH).unwrap();
    assert!(file.bad.is_empty(), "{:?}", file.bad);
    let lines = event_lines();
    assert_eq!(file.events.len(), lines.len());
    for (i, (event, line)) in file.events.iter().zip(&lines).enumerate() {
        assert_eq!(event.index, i);
        assert_eq!(
            &event.body, line,
            "record {i} is the JSON line it was written from"
        );
        assert_eq!(event.sequence_number, 1200 + i as i64);
        assert_eq!(event.partition_id.as_deref(), Some("3"));
    }
    assert_eq!(file.events[0].offset, "4294967296");
    // eventTime 2026-11-02T09:01:00.1234567Z, enqueued one second later as "11/2/2026 9:01:01 AM"
    assert_eq!(file.events[0].enqueued_time, "2026-11-02T09:01:01Z");
}

#[test]
fn a_deflate_file_holds_the_same_events_as_the_null_one() {
    let null = read_capture(&fixture("capture-null.avro"), CAPTURE_PATH).unwrap();
    let deflate = read_capture(&fixture("capture-deflate.avro"), CAPTURE_PATH).unwrap();
    assert!(fixture("capture-deflate.avro").len() < fixture("capture-null.avro").len());
    assert_eq!(null, deflate);
}

#[test]
fn a_header_only_file_is_a_window_with_no_events_not_an_error() {
    let file = read_capture(&fixture("capture-empty.avro"), CAPTURE_PATH).unwrap();
    assert!(file.events.is_empty() && file.bad.is_empty());
}

#[test]
fn bad_records_are_reported_by_position_and_the_good_ones_kept() {
    let file = read_capture(&fixture("capture-bad-records.avro"), CAPTURE_PATH).unwrap();
    assert_eq!(file.events.len(), 1);
    assert_eq!(file.events[0].body, event_lines()[0]);
    let reasons: Vec<(usize, &str)> = file
        .bad
        .iter()
        .map(|b| (b.index, b.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[0].0, 1);
    assert!(reasons[0].1.contains("not UTF-8"), "{reasons:?}");
    assert_eq!(reasons[1], (2, "the Body is null"));
    assert_eq!(reasons[2].0, 3);
    assert!(reasons[2].1.contains("M/d/yyyy"), "{reasons:?}");
    for b in &file.bad {
        assert!(
            !b.reason.contains("requestId"),
            "a reason never quotes the body: {b:?}"
        );
    }
}

#[test]
fn a_path_outside_the_capture_format_leaves_the_partition_unknown() {
    let file = read_capture(&fixture("capture-null.avro"), "downloads/capture.avro").unwrap();
    assert!(file.events.iter().all(|e| e.partition_id.is_none()));
}

#[test]
fn a_file_that_is_not_avro_or_is_truncated_gives_no_events_and_a_clear_error() {
    let lines = event_lines();
    let not_avro = read_capture(lines[0].as_bytes(), "x.avro").unwrap_err();
    assert!(
        matches!(not_avro, CaptureError::NotAvro { .. }),
        "{not_avro}"
    );
    assert!(read_capture(b"", "empty.avro").is_err());

    let whole = fixture("capture-null.avro");
    let truncated = read_capture(&whole[..whole.len() - 100], "cut.avro").unwrap_err();
    assert!(
        matches!(truncated, CaptureError::Corrupt { .. }),
        "{truncated}"
    );
    let text = truncated.to_string();
    assert!(
        text.contains("cut.avro") && !text.contains("messages"),
        "{text}"
    );
}

/// The generator is re-run when python3 and fastavro are present (CI installs fastavro; there a
/// missing tool fails the test) and must reproduce the committed files byte for byte.
#[test]
fn the_committed_fixtures_are_what_the_generator_writes() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let has_fastavro = Command::new("python3")
        .args(["-c", "import fastavro"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_fastavro {
        assert!(
            !ci,
            "CI=true but python3 with fastavro is missing (pip install fastavro)"
        );
        eprintln!("skipped: python3 with fastavro not found (pip install fastavro)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(fixtures().join("make_capture.py"))
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    for name in [
        "capture-null.avro",
        "capture-deflate.avro",
        "capture-empty.avro",
        "capture-bad-records.avro",
    ] {
        let fresh = std::fs::read(out.path().join(name)).unwrap();
        assert!(
            fresh == fixture(name),
            "{name} differs from what make_capture.py writes now"
        );
    }
}
