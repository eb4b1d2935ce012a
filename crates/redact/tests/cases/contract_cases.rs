// The contract's inputs, one per class of secret the old redactor (text passes over exact
// spellings) missed or corrupted. Plain data, so the same inputs can be run through other code.

/// One input: the secret values that must not survive (in any JSON-escaped form), the substrings
/// that must survive unchanged, and whether the input is valid JSON (then so must the output be).
pub struct Case {
    pub input: &'static str,
    pub secrets: &'static [&'static str],
    pub keep: &'static [&'static str],
    pub valid_json: bool,
}

pub const UNICODE_ESCAPED_KEY: Case = Case {
    input: r#"{"requestId":"r1","\u0061pi-key":"s3cr3tA1","Ocp-Apim-Subscription\u002dKey":"s3cr3tA2"}"#,
    secrets: &["s3cr3tA1", "s3cr3tA2"],
    keep: &[r#""requestId":"r1""#],
    valid_json: true,
};

pub const UNDERSCORE_AND_CAMEL_CASE_KEYS: Case = Case {
    input: r#"{"ocp_apim_subscription_key":"s3cr3tB1","api_key":"s3cr3tB2","refreshToken":"s3cr3tB3","id_token":"s3cr3tB4","x-functions-key":"s3cr3tB5"}"#,
    secrets: &["s3cr3tB1", "s3cr3tB2", "s3cr3tB3", "s3cr3tB4", "s3cr3tB5"],
    keep: &[],
    valid_json: true,
};

pub const ARRAY_AND_OBJECT_VALUES: Case = Case {
    input: r#"{"password":["s3cr3tC1","s3cr3tC2"],"client_secret":{"value":"s3cr3tC3"},"n":1}"#,
    secrets: &["s3cr3tC1", "s3cr3tC2", "s3cr3tC3"],
    keep: &[r#","n":1}"#],
    valid_json: true,
};

pub const WHITESPACE_AFTER_COLON_AND_BEARER: Case = Case {
    input: "{\"api-key\":\n\t\"s3cr3tD1\",\"Authorization\":\"Bearer\\ts3cr3tD2\",\"note\":\"sent Bearer  s3cr3tD3 twice\"}",
    secrets: &["s3cr3tD1", "s3cr3tD2", "s3cr3tD3"],
    keep: &[" twice"],
    valid_json: true,
};

pub const SAS_SIGNATURE_IN_URLS: Case = Case {
    input: r#"{"url":"https://acct.blob.core.windows.net/c/b.json?sv=2022-11-02&ss=b&sig=s3cr3tE1%2Bx%3D&se=2026-12-01","html":"<a href=\"https://a/b?sv=1&amp;sig=s3cr3tE2&amp;se=2\">","net":"https://a/b?sv=1\u0026sig=s3cr3tE3\u0026se=2"}"#,
    secrets: &["s3cr3tE1", "s3cr3tE2", "s3cr3tE3"],
    keep: &["?sv=2022-11-02&ss=b&sig=", "&se=2026-12-01", "&amp;se=2"],
    valid_json: true,
};

pub const BARE_JWT: Case = Case {
    input: r#"{"note":"token was eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.s3cr3tF1 then"}"#,
    secrets: &["eyJzdWIiOiIxIn0", "s3cr3tF1"],
    keep: &[" then"],
    valid_json: true,
};

pub const CONNECTION_STRING_PARTS: Case = Case {
    input: r#"{"storage":"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=s3cr3tG1\u002Bmore==;EndpointSuffix=core.windows.net","sb":"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey\u003ds3cr3tG2","sas":"SharedAccessSignature=sv=1&sig=s3cr3tG3"}"#,
    secrets: &["s3cr3tG1", "more==", "s3cr3tG2", "s3cr3tG3"],
    keep: &[";EndpointSuffix=core.windows.net", "AccountName=acct;"],
    valid_json: true,
};

pub const FUNCTIONS_CODE_IN_A_URL: Case = Case {
    input: r#"{"backend":"https://fn.azurewebsites.net/api/ingest?code=s3cr3tH1&clientId=default","error":{"code":"content_filter"}}"#,
    secrets: &["s3cr3tH1"],
    keep: &["&clientId=default", r#""code":"content_filter""#],
    valid_json: true,
};

pub const JSON_INSIDE_JSON_TWICE: Case = Case {
    input: r#"{"request":"{\"body\":\"{\\\"api_key\\\":\\\"s3cr3tI1\\\",\\\"n\\\":1}\",\"\\u0061pi-key\":\"s3cr3tI2\"}"}"#,
    secrets: &["s3cr3tI1", "s3cr3tI2"],
    keep: &[r#"\\\"n\\\":1}"#],
    valid_json: true,
};

pub const TRUNCATED_EVENT: Case = Case {
    input: r#"{"requestId":"r2","\u0061pi-key":"s3cr3tJ1","password":["s3cr3tJ2","s3cr3tJ3"#,
    secrets: &["s3cr3tJ1", "s3cr3tJ2", "s3cr3tJ3"],
    keep: &[r#"{"requestId":"r2","#],
    valid_json: false,
};

pub const NEWLINE_ESCAPE_AFTER_A_COLON: Case = Case {
    input: r#"{"note":"password:\nhunter2","h":"api-key:\tabc123"}"#,
    secrets: &["hunter2", "abc123"],
    keep: &[r#""note":"password:\n"#, r#"api-key:\t"#],
    valid_json: true,
};

pub const ALL: &[(&str, &Case)] = &[
    ("unicode-escaped key", &UNICODE_ESCAPED_KEY),
    (
        "underscore and camelCase keys",
        &UNDERSCORE_AND_CAMEL_CASE_KEYS,
    ),
    ("array and object values", &ARRAY_AND_OBJECT_VALUES),
    (
        "whitespace after colon and Bearer",
        &WHITESPACE_AFTER_COLON_AND_BEARER,
    ),
    ("SAS sig in URLs", &SAS_SIGNATURE_IN_URLS),
    ("bare JWT", &BARE_JWT),
    ("connection-string parts", &CONNECTION_STRING_PARTS),
    ("Functions code= in a URL", &FUNCTIONS_CODE_IN_A_URL),
    ("JSON inside JSON, twice", &JSON_INSIDE_JSON_TWICE),
    ("truncated event", &TRUNCATED_EVENT),
    ("\\n escape after a colon", &NEWLINE_ESCAPE_AFTER_A_COLON),
];

/// The forms a secret value takes in text: as is, JSON-escaped once and twice.
pub fn escaped_forms(secret: &str) -> Vec<String> {
    let once = escape(secret);
    let twice = escape(&once);
    vec![secret.to_string(), once, twice]
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// What is wrong with `output` as the redaction of `case` (empty: nothing).
pub fn problems(case: &Case, output: &str) -> Vec<String> {
    let mut out = Vec::new();
    for secret in case.secrets {
        if escaped_forms(secret)
            .iter()
            .any(|f| output.contains(f.as_str()))
        {
            out.push(format!("secret {secret:?} survived"));
        }
    }
    for keep in case.keep {
        if !output.contains(keep) {
            out.push(format!("lost {keep:?}"));
        }
    }
    if case.valid_json && serde_json::from_str::<serde_json::Value>(output).is_err() {
        out.push("output is not valid JSON".to_string());
    }
    out
}
