//! Replacements as byte spans of the original text: merged, then spliced in, so every byte outside
//! a span is copied unchanged.

use crate::fingerprint::MARKER;

/// Replace `text[start..end]` by `with`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub start: usize,
    pub end: usize,
    pub with: String,
}

/// Sorts the edits and merges those that overlap: a span inside another goes; two spans that
/// only overlap become their union, replaced by the fixed marker (no text of either survives).
pub(crate) fn merge(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        match out.last_mut() {
            Some(last) if e.start < last.end => {
                if e.end > last.end {
                    last.end = e.end;
                    last.with = MARKER.to_string();
                }
            }
            _ => out.push(e),
        }
    }
    out
}

/// The text with the (merged, sorted, disjoint) edits spliced in.
pub(crate) fn apply(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for e in edits {
        out.push_str(&text[last..e.start]);
        out.push_str(&e.with);
        last = e.end;
    }
    out.push_str(&text[last..]);
    out
}

/// `s` written as the inside of a JSON string (quotes, backslashes and control characters escaped).
pub(crate) fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: usize, end: usize, with: &str) -> Edit {
        Edit {
            start,
            end,
            with: with.to_string(),
        }
    }

    #[test]
    fn an_edit_inside_another_is_dropped_and_overlapping_ones_become_one_marker() {
        let merged = merge(vec![edit(5, 7, "b"), edit(2, 9, "a"), edit(8, 12, "c")]);
        assert_eq!(merged, vec![edit(2, 12, MARKER)]);
        let apart = merge(vec![edit(4, 5, "y"), edit(0, 2, "x")]);
        assert_eq!(apply("0123456", &apart), "x23y56");
    }

    #[test]
    fn escaping_for_a_json_string_round_trips_through_serde() {
        let s = "a\"b\\c\nd\u{1}é";
        let back: String = serde_json::from_str(&format!("\"{}\"", json_escape(s))).unwrap();
        assert_eq!(back, s);
    }
}
