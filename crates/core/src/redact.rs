//! Secret redaction for dead letters: the values of secret-looking keys and bearer tokens are
//! replaced by fingerprints before any raw event text is kept.

use crate::event::key_fingerprint;

const SECRET_KEYS: &[&str] = &[
    "appsubscriptionkey",
    "subscriptionkey",
    "subscription-key",
    "ocp-apim-subscription-key",
    "api-key",
    "apikey",
    "authorization",
    "access_token",
    "refresh_token",
    "client_secret",
    "password",
    "sharedaccesskey",
    "accountkey",
    "instrumentationkey",
];

/// Replaces the values of secret-looking keys (`"api-key": "…"`, also inside escaped JSON, and
/// `SharedAccessKey=…` in connection strings) and `Bearer …` tokens with fingerprints.
pub fn redact_secrets(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(p) = lower[from..].find(key) {
            let start = from + p;
            from = start + key.len();
            let mut i = from;
            // `"key": "value"`, `\"key\":\"value\"` or `Key=value`
            while i < bytes.len() && matches!(bytes[i], b'"' | b'\\' | b' ' | b'\t') {
                i += 1;
            }
            if i >= bytes.len() || !matches!(bytes[i], b':' | b'=') {
                continue;
            }
            i += 1;
            while i < bytes.len() && matches!(bytes[i], b'"' | b'\\' | b' ' | b'\t') {
                i += 1;
            }
            let vstart = i;
            while i < bytes.len() && !matches!(bytes[i], b'"' | b'\\' | b';' | b',' | b'}' | b'\n')
            {
                i += 1;
            }
            if i > vstart {
                spans.push((vstart, i));
            }
        }
    }
    let mut from = 0;
    while let Some(p) = lower[from..].find("bearer ") {
        let vstart = from + p + "bearer ".len();
        let mut i = vstart;
        while i < bytes.len() && !matches!(bytes[i], b'"' | b'\\' | b' ' | b',' | b'}' | b'\n') {
            i += 1;
        }
        if i > vstart {
            spans.push((vstart, i));
        }
        from = i.max(vstart);
    }
    if spans.is_empty() {
        return text.to_string();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (s, e) in spans {
        if s < last {
            continue;
        }
        out.push_str(&text[last..s]);
        let value = &text[s..e];
        if value.starts_with("key-sha256:") {
            out.push_str(value);
        } else {
            out.push_str(&key_fingerprint(value));
        }
        last = e;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_by_fingerprints_in_plain_and_escaped_json() {
        let raw = r#"{"AppSubscriptionKey":"abc123secret","request":"{\"api-key\":\"zzz999\"}","h":"Bearer eyJhbGciOi.payload.sig","cs":"Endpoint=sb://x/;SharedAccessKey=Zm9vYmFy;EntityPath=y"}"#;
        let red = redact_secrets(raw);
        for secret in [
            "abc123secret",
            "zzz999",
            "eyJhbGciOi.payload.sig",
            "Zm9vYmFy",
        ] {
            assert!(!red.contains(secret), "{secret} survived in {red}");
        }
        assert!(red.contains("key-sha256:"));
    }
}
