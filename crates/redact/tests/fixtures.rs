//! Realistic APIM events (tests/fixtures/*.jsonl): every secret goes, every other byte stays.

use chargeback_redact::{redact, FINGERPRINT_PREFIX, MARKER};

/// Checks that `redact(input)` is `input` with each secret (raw spans, in order of appearance)
/// replaced by one fingerprint or the marker, and nothing else changed.
fn replaced_exactly(input: &str, secrets: &[&str]) {
    let out = redact(input);
    let mut rest = input;
    let mut segments = Vec::new();
    for s in secrets {
        let at = rest.find(s).unwrap_or_else(|| panic!("fixture lacks {s}"));
        segments.push(&rest[..at]);
        rest = &rest[at + s.len()..];
    }
    segments.push(rest);
    let mut pos = 0;
    for (i, seg) in segments.iter().enumerate() {
        assert!(
            out[pos..].starts_with(seg),
            "segment {i} changed:\n{seg}\nout: {}",
            &out[pos..]
        );
        pos += seg.len();
        if i + 1 < segments.len() {
            let tail = &out[pos..];
            let len = if tail.starts_with(MARKER) {
                MARKER.len()
            } else {
                let hex = tail
                    .strip_prefix(FINGERPRINT_PREFIX)
                    .unwrap_or_else(|| panic!("secret {} not replaced: {}", secrets[i], tail));
                assert!(hex.len() >= 12 && hex.as_bytes()[..12].iter().all(u8::is_ascii_hexdigit));
                FINGERPRINT_PREFIX.len() + 12
            };
            pos += len;
        }
    }
    assert_eq!(pos, out.len());
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.trim_end_matches('\n').to_string()
}

/// The fixture `name` redacted: exactly `secrets` replaced, and valid JSON if it was.
fn check_fixture(name: &str, secrets: &[&str]) {
    let line = fixture(name);
    replaced_exactly(&line, secrets);
    let valid = |t: &str| serde_json::from_str::<serde_json::Value>(t).is_ok();
    assert_eq!(valid(&redact(&line)), valid(&line));
}

#[test]
fn request_headers_lose_their_keys_and_token_and_keep_everything_else() {
    check_fixture(
        "apim-chat-with-headers.jsonl",
        &[
            "7c1e4b9a0d2f4e6a8b3c5d7e9f1a2b3c",
            "4f9d2c7b1e8a4b6c9d0e3f2a1b5c6d7e",
            "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzLmF6dXJlLmNvbSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
        ],
    );
}

#[test]
fn urls_and_a_connection_string_inside_tool_arguments_lose_their_secrets() {
    check_fixture(
        "apim-tool-call-with-urls.jsonl",
        &[
            "pQ7%2Bv3Kx9LmN2bZ0y8TfR1wE4sA6dH5jG%3D",
            "Zm4tY29kZS1zZWNyZXQtdmFsdWU9PQ==",
            "bXktc3RvcmFnZS1hY2NvdW50LWtleS1zZWNyZXQ+Lw==",
        ],
    );
}

#[test]
fn a_cut_off_legacy_event_loses_its_key_and_the_secrets_in_its_body() {
    assert!(
        serde_json::from_str::<serde_json::Value>(&fixture("apim-legacy-v1-cut-off.jsonl"))
            .is_err()
    );
    check_fixture(
        "apim-legacy-v1-cut-off.jsonl",
        &[
            "5f2b8c0e9d4a4e7bb1c3d6e8f0a2b4c6",
            "Xy7~Qp3.Lm9_Rt2-Vb8Nc4Hd6Jf1Kg5Ws0",
            "sk-legacy-0d1e2f3a4b5c6d7e8f9a",
        ],
    );
}

#[test]
fn the_repository_samples_have_no_secrets_but_the_legacy_key_and_come_out_unchanged() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples");
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!("skipped: {dir} not found");
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap_or_default().lines() {
            if line.contains("AppSubscriptionKey") {
                replaced_exactly(line, &["5f2b8c0e9d4a4e7bb1c3d6e8f0a2b4c6"]);
            } else {
                assert_eq!(redact(line), line, "{}", path.display());
            }
        }
    }
}
