//! The contract, one test per class of secret: each input fails on the old redactor (see
//! docs/redaction.md) and passes here.

#[path = "cases/contract_cases.rs"]
mod cases;

use chargeback_redact::{key_fingerprint, redact, MARKER};

fn check(case: &cases::Case) {
    assert!(
        serde_json::from_str::<serde_json::Value>(case.input).is_ok() == case.valid_json,
        "the case says valid_json={} for {}",
        case.valid_json,
        case.input
    );
    let out = redact(case.input);
    let problems = cases::problems(case, &out);
    assert!(
        problems.is_empty(),
        "{problems:?}\n in: {}\nout: {out}",
        case.input
    );
}

macro_rules! contract {
    ($($test:ident => $case:ident),* $(,)?) => {
        $( #[test] fn $test() { check(&cases::$case) } )*
    };
}

contract! {
    a_key_name_written_with_unicode_escapes_is_recognised => UNICODE_ESCAPED_KEY,
    underscores_and_camel_case_spell_the_same_key => UNDERSCORE_AND_CAMEL_CASE_KEYS,
    an_array_or_object_under_a_secret_key_is_replaced_whole => ARRAY_AND_OBJECT_VALUES,
    whitespace_of_any_kind_after_a_colon_or_bearer_hides_nothing => WHITESPACE_AFTER_COLON_AND_BEARER,
    a_sas_signature_in_a_url_is_redacted_however_the_ampersand_is_written => SAS_SIGNATURE_IN_URLS,
    a_bare_jwt_is_redacted_wherever_it_appears => BARE_JWT,
    connection_string_keys_are_redacted_even_with_escaped_characters => CONNECTION_STRING_PARTS,
    a_functions_code_is_redacted_in_urls_but_an_error_code_is_kept => FUNCTIONS_CODE_IN_A_URL,
    secrets_in_json_inside_json_inside_json_are_found => JSON_INSIDE_JSON_TWICE,
    a_truncated_event_loses_its_secrets_too => TRUNCATED_EVENT,
    a_newline_escape_after_a_colon_is_not_corrupted => NEWLINE_ESCAPE_AFTER_A_COLON,
}

#[test]
fn every_case_is_run_by_a_test() {
    assert_eq!(cases::ALL.len(), 11);
}

#[test]
fn a_string_secret_becomes_its_fingerprint_and_other_values_the_marker() {
    let out = redact(r#"{"api-key":"k1","secret":[1],"password":"p","count":2}"#);
    let want = format!(
        r#"{{"api-key":"{}","secret":"{MARKER}","password":"{MARKER}","count":2}}"#,
        key_fingerprint("k1")
    );
    assert_eq!(out, want);
}

#[test]
fn fingerprints_markers_and_null_are_kept_so_redacting_twice_changes_nothing() {
    let text = r#"{"api-key":"key-sha256:0123456789ab","token":null,"secret":"[redacted]","h":"Bearer key-sha256:0123456789ab"}"#;
    assert_eq!(redact(text), text);
    for (_, case) in cases::ALL {
        let once = redact(case.input);
        assert_eq!(redact(&once), once, "{}", case.input);
    }
}

#[test]
fn plain_text_headers_and_query_strings_are_redacted() {
    let text = "GET /x?subscription-key=s3cr3t1&a=1 HTTP/1.1\r\nOcp-Apim-Subscription-Key: s3cr3t2\r\nAuthorization: Basic s3cr3t3\r\nHost: h\r\n";
    let out = redact(text);
    for s in ["s3cr3t1", "s3cr3t2", "s3cr3t3"] {
        assert!(!out.contains(s), "{s} survived: {out}");
    }
    assert!(
        out.contains("&a=1 HTTP/1.1\r\n") && out.ends_with("\r\nHost: h\r\n"),
        "{out}"
    );
}

#[test]
fn a_v1_key_in_a_dead_letter_gets_the_fingerprint_its_records_are_billed_to() {
    let key = "5f2b8c0e9d4a4e7bb1c3d6e8f0a2b4c6";
    let out = redact(&format!(r#"{{"AppSubscriptionKey":"{key}","Request":"{{"#));
    assert!(
        out.contains(&key_fingerprint(key)) && !out.contains(key),
        "{out}"
    );
}

#[test]
fn a_64_kib_run_of_key_fragments_is_redacted_in_one_pass() {
    for unit in [
        r#""api-key":"#,
        r#"\"api-key\":"#,
        "api-key: ",
        "[{\"password\":",
    ] {
        let text = unit.repeat(64 * 1024 / unit.len());
        let out = redact(&text);
        assert!(out.len() <= text.len() * 4);
    }
}

#[test]
fn what_the_old_redactor_caught_is_still_caught() {
    let raw = r#"{"AppSubscriptionKey":"abc123secret","request":"{\"api-key\":\"zzz999\"}","h":"Bearer eyJhbGciOi.payload.sig","cs":"Endpoint=sb://x/;SharedAccessKey=Zm9vYmFy;EntityPath=y"}"#;
    let out = redact(raw);
    for secret in [
        "abc123secret",
        "zzz999",
        "eyJhbGciOi.payload.sig",
        "Zm9vYmFy",
    ] {
        assert!(!out.contains(secret), "{secret} survived in {out}");
    }
    assert!(out.contains(&key_fingerprint("abc123secret")));
    assert!(out.contains(";EntityPath=y"));
    serde_json::from_str::<serde_json::Value>(&out).unwrap();
}

#[test]
fn a_key_read_as_a_bearer_token_or_a_jwt_still_loses_its_value() {
    // Found by the fuzz target: `Bearer`, a newline, then a header line.
    for text in [
        "_bearer____\nOcp-Apim-Subscription-Key: s3cr3tZ1\n",
        "Bearer\napi-key: s3cr3tZ1",
        "eyJhbGciOi.eyJzdWIi-api-key: s3cr3tZ1",
    ] {
        let out = redact(text);
        assert!(!out.contains("s3cr3tZ1"), "{text:?} gave {out:?}");
    }
}

#[test]
fn a_64_kib_run_of_bearer_tokens_in_one_token_is_redacted_in_one_pass() {
    let text = format!("Bearer {}", "bearer+".repeat(64 * 1024 / 7));
    assert!(!redact(&text).contains("bearer+bearer"));
}
