//! The JSON walk: a tolerant tokenizer (it reads valid JSON exactly and a truncated or broken
//! prefix as far as it goes) that replaces every value under a secret key, whatever its type, and
//! redacts the text inside every other string (key or value) as text of its own, recursively.

use crate::edit::{json_escape, Edit};
use crate::fingerprint::{is_redacted, replace_string, MARKER};
use crate::keys::{json_key_class, Class};
use crate::unit::{hex4, simple_escape};

/// A string's content shorter than this cannot hold a secret (`sig=x` is the shortest).
const MIN_SECRET_TEXT: usize = 5;

/// The replacement of a non-string value under a secret key: valid JSON in the value's place.
fn marker_value() -> String {
    format!("\"{MARKER}\"")
}

#[derive(Clone, Copy)]
enum State {
    /// Not after a key.
    Free,
    /// After a key string (its class when it names a secret), before the `:`.
    Key(Option<Class>),
    /// After a secret key and its `:`: the next value is replaced.
    Value(Class),
}

/// Edits of `text` for every secret the JSON walk finds. `depth` counts the strings this text is
/// inside of; `scanned` says the byte scanner reads all of `text` too (then a string without
/// escapes needs no second look: the scanner reads its content as it stands).
pub(crate) fn edits(text: &str, depth: usize, scanned: bool) -> Vec<Edit> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut state = State::Free;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'"' => {
                let (end, next) = string_end(b, i + 1);
                state = match state {
                    State::Value(class) => {
                        secret_string(text, i + 1, end, class, &mut out);
                        State::Free
                    }
                    _ => {
                        nested(text, (i + 1, end), depth, scanned, &mut out);
                        match next_non_space(b, next) {
                            Some(b':') => State::Key(json_key_class(&decode(&text[i + 1..end]).0)),
                            _ => State::Free,
                        }
                    }
                };
                i = next;
            }
            b':' => {
                state = match state {
                    State::Key(Some(class)) => State::Value(class),
                    _ => State::Free,
                };
                i += 1;
            }
            b'{' | b'[' if matches!(state, State::Value(_)) => {
                let end = container_end(b, i);
                out.push(edit(i, end, marker_value()));
                state = State::Free;
                i = end;
            }
            b'{' | b'[' | b',' | b'}' | b']' => {
                state = State::Free;
                i += 1;
            }
            _ => {
                let end = bare_end(b, i);
                if matches!(state, State::Value(_)) && &text[i..end] != "null" {
                    out.push(edit(i, end, marker_value()));
                }
                state = State::Free;
                i = end;
            }
        }
    }
    out
}

fn edit(start: usize, end: usize, with: String) -> Edit {
    Edit { start, end, with }
}

/// For a string whose content starts at `from`: the end of its content and the index after its
/// closing quote (both the text's length when the string is cut off).
fn string_end(b: &[u8], from: usize) -> (usize, usize) {
    let mut j = from;
    while j < b.len() {
        match b[j] {
            b'"' => return (j, j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    (b.len(), b.len())
}

fn next_non_space(b: &[u8], from: usize) -> Option<u8> {
    b[from.min(b.len())..]
        .iter()
        .copied()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Just after the bracket closing the array or object opened at `open`, or the text's end.
fn container_end(b: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut j = open;
    while j < b.len() {
        match b[j] {
            b'"' => {
                j = string_end(b, j + 1).1;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    b.len()
}

/// The bytes that end a bare word: whitespace, quotes and JSON punctuation.
const ENDS_BARE: [bool; 256] = {
    let mut t = [false; 256];
    let ends = b" \t\n\r\"{}[],:";
    let mut i = 0;
    while i < ends.len() {
        t[ends[i] as usize] = true;
        i += 1;
    }
    t
};

/// The end of a number, literal or (in broken text) bare word starting at `from`.
fn bare_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| ENDS_BARE[usize::from(c)])
        .map_or(b.len(), |p| from + p)
}

/// A string value under a secret key: its content replaced (fingerprint or marker).
fn secret_string(text: &str, start: usize, end: usize, class: Class, out: &mut Vec<Edit>) {
    let (value, _) = decode(&text[start..end]);
    if value.trim().is_empty() || is_redacted(&value) {
        return;
    }
    out.push(edit(start, end, replace_string(&value, class)));
}

/// Any other string: its decoded content is redacted as a text of its own, and each edit of it
/// is carried back onto the escaped content, the replacement escaped for the string.
fn nested(
    text: &str,
    (start, end): (usize, usize),
    depth: usize,
    scanned: bool,
    out: &mut Vec<Edit>,
) {
    let raw = &text[start..end];
    if raw.len() < MIN_SECRET_TEXT {
        return;
    }
    if !raw.contains('\\') {
        // No escapes: no JSON inside (it would need escaped quotes), the content is its text.
        if !scanned {
            out.extend(crate::scan::edits(raw).into_iter().map(|e| Edit {
                start: start + e.start,
                end: start + e.end,
                with: json_escape(&e.with),
            }));
        }
        return;
    }
    let (inner, map) = decode(raw);
    for e in crate::text_edits(&inner, depth + 1) {
        out.push(edit(
            start + map[e.start],
            start + map[e.end],
            json_escape(&e.with),
        ));
    }
}

/// A string's content with its escapes decoded (a broken escape is kept as written), and for
/// each decoded byte (and the end) the offset in `raw` of the escape or character it came from.
pub(crate) fn decode(raw: &str) -> (String, Vec<usize>) {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut map = Vec::with_capacity(raw.len() + 1);
    let mut i = 0;
    while i < b.len() {
        let (ch, len) = escape_at(b, i).unwrap_or_else(|| {
            let ch = raw[i..].chars().next().unwrap_or('\u{fffd}');
            (ch, ch.len_utf8())
        });
        out.push(ch);
        map.resize(out.len(), i);
        i += len;
    }
    map.push(b.len());
    (out, map)
}

/// The JSON escape at `b[i]` (a backslash), as the character it stands for and its length.
fn escape_at(b: &[u8], i: usize) -> Option<(char, usize)> {
    if b[i] != b'\\' {
        return None;
    }
    let c = *b.get(i + 1)?;
    if c != b'u' {
        return simple_escape(c).map(|ch| (ch, 2));
    }
    let hi = hex4(b, i + 2)?;
    if (0xD800..0xDC00).contains(&hi) && b.get(i + 6..i + 8) == Some(b"\\u") {
        if let Some(lo) = hex4(b, i + 8).filter(|lo| (0xDC00..0xE000).contains(lo)) {
            let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            return Some((char::from_u32(cp).unwrap_or('\u{fffd}'), 12));
        }
    }
    Some((char::from_u32(hi).unwrap_or('\u{fffd}'), 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_maps_every_byte_back_to_its_escape() {
        let (s, map) = decode(r#"a\u00e9\n\ud83d\ude00\q"#);
        assert_eq!(s, "a\u{e9}\n\u{1f600}\\q");
        assert_eq!(map, vec![0, 1, 1, 7, 9, 9, 9, 9, 21, 22, 23]);
    }

    #[test]
    fn a_cut_off_string_ends_with_the_text() {
        assert_eq!(string_end(br#"ab\"c"#, 0), (5, 5));
        assert_eq!(string_end(br#"ab\"c"d"#, 0), (5, 6));
        assert_eq!(container_end(br#"[1,["]"],2"#, 0), 10);
    }
}
