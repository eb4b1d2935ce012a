//! Recovery of JSON documents that APIM cut short: parse what survived, find a `usage` object in it.
//!
//! A request body trimmed from the end, or the head of a response trimmed in the middle, is a JSON
//! prefix. [`parse_prefix`] closes the open strings, arrays and objects (dropping a dangling key or
//! half-written literal) so the surviving messages and content can still be counted.
//! [`find_last_object_after_key`] scans from the end for a key such as `"usage"` and parses the
//! object that follows it, which is how a usage object in a truncated body's tail is found.

use serde::Deserialize;
use serde_json::Value;

/// Nesting deeper than this is not repaired (serde_json refuses beyond 128 anyway).
const MAX_DEPTH: usize = 128;

/// Parses `text` as JSON; when it is a cut-short prefix, parses the longest repairable part of it.
/// Returns the value and whether a repair was needed. `None` when nothing parseable survived.
pub fn parse_prefix(text: &str) -> Option<(Value, bool)> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Some((v, false));
    }
    repair(text).map(|v| (v, true))
}

fn closers(stack: &[u8]) -> String {
    stack
        .iter()
        .rev()
        .map(|&b| if b == b'{' { '}' } else { ']' })
        .collect()
}

fn try_parse(candidate: &str) -> Option<Value> {
    serde_json::from_str::<Value>(candidate).ok()
}

fn repair(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[start] != b'{' && bytes[start] != b'[' {
        return None;
    }
    let mut stack: Vec<u8> = Vec::new();
    let mut in_string = false;
    let mut escape = false;
    // The last few places where the document could be cut after a complete member/element.
    let mut cuts: Vec<(usize, Vec<u8>)> = Vec::new();
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_string {
            if escape {
                escape = false;
            } else if b == b'\\' {
                escape = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                stack.push(b);
                if stack.len() > MAX_DEPTH {
                    return None;
                }
            }
            b'}' | b']' => {
                stack.pop();
                if stack.is_empty() {
                    // A complete document followed by garbage: take the document.
                    return try_parse(&text[start..=i]);
                }
            }
            b',' => {
                if cuts.len() == 4 {
                    cuts.remove(0);
                }
                cuts.push((i, stack.clone()));
            }
            _ => {}
        }
    }

    if in_string {
        let mut body = text;
        if escape {
            body = &body[..body.len() - 1];
        }
        // A cut inside a \uXXXX escape leaves an invalid escape: drop it.
        if let Some(p) = body.rfind("\\u") {
            let tail = &body[p + 2..];
            if tail.len() < 4 && tail.bytes().all(|c| c.is_ascii_hexdigit()) {
                body = &body[..p];
            }
        }
        if let Some(v) = try_parse(&format!("{body}\"{}", closers(&stack))) {
            return Some(v);
        }
    } else {
        let trimmed = text.trim_end();
        let trimmed = trimmed.strip_suffix([',', ':']).unwrap_or(trimmed);
        if let Some(v) = try_parse(&format!("{trimmed}{}", closers(&stack))) {
            return Some(v);
        }
    }
    for (pos, st) in cuts.iter().rev() {
        if let Some(v) = try_parse(&format!("{}{}", &text[..*pos], closers(st))) {
            return Some(v);
        }
    }
    None
}

/// Finds the last `"key": { … }` in `text` whose object parses, scanning from the end, and
/// returns that object. Works on any text, including a document cut in its middle.
pub fn find_last_object_after_key(text: &str, key: &str) -> Option<Value> {
    let needle = format!("\"{key}\"");
    let mut end = text.len();
    while let Some(pos) = text[..end].rfind(&needle) {
        end = pos;
        let rest = text[pos + needle.len()..].trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let rest = rest.trim_start();
        if !rest.starts_with('{') {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(rest);
        if let Ok(v @ Value::Object(_)) = Value::deserialize(&mut de) {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_complete_document_needs_no_repair() {
        assert_eq!(parse_prefix("{\"a\":1}"), Some((json!({"a":1}), false)));
    }

    #[test]
    fn a_request_cut_inside_a_string_keeps_the_surviving_text() {
        let cut = r#"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Tell me about the Eiff"#;
        let (v, repaired) = parse_prefix(cut).unwrap();
        assert!(repaired);
        assert_eq!(v["messages"][1]["content"], "Tell me about the Eiff");
    }

    #[test]
    fn a_cut_after_a_key_drops_the_dangling_member() {
        let cut = r#"{"messages":[{"role":"user","content":"hi"}],"temperature":"#;
        let (v, _) = parse_prefix(cut).unwrap();
        assert_eq!(v["messages"][0]["content"], "hi");
    }

    #[test]
    fn a_cut_inside_a_key_or_literal_falls_back_to_the_last_complete_member() {
        let cut = r#"{"messages":[{"role":"user","content":"hi"},{"role":"assistant","conte"#;
        let (v, _) = parse_prefix(cut).unwrap();
        assert_eq!(v["messages"][0]["content"], "hi");
        let cut = r#"{"a":"x","stream":tru"#;
        let (v, _) = parse_prefix(cut).unwrap();
        assert_eq!(v["a"], "x");
    }

    #[test]
    fn a_cut_inside_a_unicode_escape_is_dropped() {
        let (v, _) = parse_prefix(r#"{"content":"caf\u00"#).unwrap();
        assert_eq!(v["content"], "caf");
    }

    #[test]
    fn nothing_parseable_gives_none() {
        assert_eq!(parse_prefix("garbage"), None);
        assert_eq!(parse_prefix(""), None);
    }

    #[test]
    fn the_last_usage_object_is_found_in_a_tail() {
        let text = "…cut…ntent\":\"x\"}}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}";
        let u = find_last_object_after_key(text, "usage").unwrap();
        assert_eq!(u["total_tokens"], 15);
    }

    #[test]
    fn a_null_usage_is_skipped_for_an_earlier_object() {
        let text = r#"{"usage":{"total_tokens":7}} {"usage":null}"#;
        assert_eq!(
            find_last_object_after_key(text, "usage").unwrap()["total_tokens"],
            7
        );
        assert_eq!(
            find_last_object_after_key("{\"usage\":null}", "usage"),
            None
        );
    }
}
