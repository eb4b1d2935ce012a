//! One-pass decoding of the host's `dataType: string` batch: a JSON string whose content is a JSON
//! array of JSON strings, decoded straight to the inner strings without building the array text.
//!
//! Under `dataType: string` the host serializes the event bodies into a JSON array and that array
//! into a JSON string, so every `"` of an event arrives as `\\\"` and every `\` as `\\\\`. Decoding
//! that with a JSON parser means two full unescaping passes over the largest part of the request;
//! this module does both levels at once. It is a fast path only: it understands exactly what the
//! host writes (plain bytes, the two-level escapes of `"`, `\`, `/`, control characters and
//! `\uXXXX`, whitespace between elements) and answers `None` for anything else — including
//! anything a JSON parser would reject — so the caller falls back to the general decoder and the
//! result never depends on which path ran. `tests/properties.rs` and the `host_decode` fuzz target
//! check that the two paths agree.

/// JSON whitespace.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// `ws { ws "Data" ws : ws { ws "events" ws : ws "` at the start of `body`: the offset just after
/// the opening quote of the events string, when the body begins exactly so.
pub fn events_string_start(body: &[u8]) -> Option<usize> {
    let mut i = 0;
    for token in [
        &b"{"[..],
        b"\"Data\"",
        b":",
        b"{",
        b"\"events\"",
        b":",
        b"\"",
    ] {
        while body.get(i).copied().is_some_and(is_ws) {
            i += 1;
        }
        if !body.get(i..)?.starts_with(token) {
            return None;
        }
        i += token.len();
    }
    Some(i)
}

/// Eight bytes with 0x80 set in each byte of `x` that is `"`, `\` or a control character; the
/// lowest set bit is exact (higher ones may be false alarms; only the lowest is used).
fn special_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    control | zero_byte(x ^ (ONES * u64::from(b'"'))) | zero_byte(x ^ (ONES * u64::from(b'\\')))
}

/// `"`, `\` or a control character: a byte that ends a run of plain bytes.
fn is_special(c: u8) -> bool {
    c == b'"' || c == b'\\' || c < 0x20
}

/// Four hex digits at `b[i..i + 4]`.
fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let digits = std::str::from_utf8(b.get(i..i + 4)?).ok()?;
    if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// An inner escape other than `\"` and `\\` (which [`inner_string`] takes first), from the
/// letter after its backslash at `b[i]`: decoded into `out`; the index of the next character.
fn inner_escape(b: &[u8], i: usize, out: &mut Vec<u8>) -> Option<usize> {
    let byte = match *b.get(i)? {
        b'u' => return inner_unicode(b, i + 1, out),
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => return None,
    };
    out.push(byte);
    Some(i + 1)
}

/// An inner `\uXXXX` (hex digits from `b[i]`), with its low surrogate `\\uXXXX` when it is a high
/// one; lone surrogates are left to the general decoder (which rejects them).
fn inner_unicode(b: &[u8], i: usize, out: &mut Vec<u8>) -> Option<usize> {
    let first = hex4(b, i)?;
    let (code, next) = match first {
        0xD800..=0xDBFF => {
            if b.get(i + 4..i + 7)? != b"\\\\u" {
                return None;
            }
            let low = hex4(b, i + 7)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return None;
            }
            (0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00), i + 11)
        }
        0xDC00..=0xDFFF => return None,
        c => (c, i + 4),
    };
    let ch = char::from_u32(code)?;
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    Some(next)
}

/// Copies plain bytes from `b[i..]` to `out` up to the first `"`, `\` or control byte: its index
/// (or `b.len()`). Whole words are copied and the excess cut off, so a short run costs one store.
pub(crate) fn copy_plain(b: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        out.extend_from_slice(chunk);
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let found = special_bytes(u64::from_le_bytes(word));
        if found != 0 {
            let at = (found.trailing_zeros() / 8) as usize;
            out.truncate(out.len() - (8 - at));
            return i + at;
        }
        i += 8;
    }
    // Fewer than eight bytes left.
    while let Some(&c) = b.get(i) {
        if is_special(c) {
            break;
        }
        out.push(c);
        i += 1;
    }
    i
}

/// One inner string, from just after its opening `\"`: decoded into `out` (cleared first); the
/// index just after its closing `\"`.
fn inner_string(b: &[u8], mut i: usize, out: &mut Vec<u8>) -> Option<usize> {
    out.clear();
    loop {
        i = copy_plain(b, i, out);
        // The common escapes first, in one well-predicted branch: `\\\"` and `\\\\` stand
        // for the byte they end with.
        if let Some([b'\\', b'\\', b'\\', last @ (b'"' | b'\\')]) = b.get(i..i + 4) {
            out.push(*last);
            i += 4;
            continue;
        }
        if *b.get(i)? != b'\\' {
            // An outer `"` would end the batch inside an event; control bytes are invalid JSON.
            return None;
        }
        match *b.get(i + 1)? {
            b'\\' => i = inner_escape(b, i + 2, out)?,
            b'"' => return Some(i + 2),
            _ => return None,
        }
    }
}

/// Inner whitespace: a plain space or an outer `\t`, `\n`, `\r`.
fn skip_inner_ws(b: &[u8], mut i: usize) -> usize {
    loop {
        match (b.get(i), b.get(i + 1)) {
            (Some(b' '), _) => i += 1,
            (Some(b'\\'), Some(b't' | b'n' | b'r')) => i += 2,
            _ => return i,
        }
    }
}

/// Decodes the string whose content starts at `b[start]` (just after its opening quote) as a JSON
/// array of JSON strings: the inner strings and the index just after the closing quote. `None`
/// for anything else, and for anything this fast path does not handle.
pub fn string_of_string_array(b: &[u8], start: usize) -> Option<(Vec<String>, usize)> {
    let mut items = Vec::new();
    let mut scratch = Vec::new();
    let mut i = skip_inner_ws(b, start);
    if *b.get(i)? != b'[' {
        return None;
    }
    i = skip_inner_ws(b, i + 1);
    if *b.get(i)? != b']' {
        loop {
            if b.get(i..i + 2)? != b"\\\"" {
                return None;
            }
            let next = inner_string(b, i + 2, &mut scratch)?;
            items.push(simdutf8::basic::from_utf8(&scratch).ok()?.to_owned());
            i = skip_inner_ws(b, next);
            match *b.get(i)? {
                b',' => i = skip_inner_ws(b, i + 1),
                b']' => break,
                _ => return None,
            }
        }
    }
    i = skip_inner_ws(b, i + 1);
    (*b.get(i)? == b'"').then_some((items, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host's encoding: the strings as a JSON array, that array as a JSON string.
    fn host_encode(items: &[&str]) -> String {
        serde_json::to_string(&serde_json::to_string(items).unwrap()).unwrap()
    }

    fn decode(encoded: &str) -> Option<Vec<String>> {
        let (items, end) = string_of_string_array(encoded.as_bytes(), 1)?;
        assert_eq!(
            end,
            encoded.len(),
            "the decoder stops just after the closing quote"
        );
        Some(items)
    }

    #[test]
    fn events_come_back_exactly_as_the_host_encoded_them() {
        let items = [
            r#"{"request":"{\"messages\":[{\"content\":\"a \\\"quoted\\\" word\"}]}"}"#,
            "tabs\tnew\nlines\r and a slash / and \u{8}\u{c}\u{1}",
            "日本語 🙂 عربى",
            "",
        ];
        assert_eq!(decode(&host_encode(&items)).unwrap(), items);
    }

    #[test]
    fn an_empty_batch_is_an_empty_list() {
        assert_eq!(decode(&host_encode(&[])).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn inner_unicode_escapes_and_surrogate_pairs_are_decoded() {
        // What an encoder that escapes non-ASCII writes: \\u00e9 and a \\ud83d\\ude42 pair.
        let encoded = r#""[\"caf\\u00e9 \\ud83d\\ude42\"]""#;
        assert_eq!(decode(encoded).unwrap(), ["café 🙂"]);
    }

    #[test]
    fn whitespace_between_elements_is_accepted() {
        let encoded = r#""\n[ \"a\" ,\r\n\t\"b\" ]\n""#;
        assert_eq!(decode(encoded).unwrap(), ["a", "b"]);
    }

    #[test]
    fn anything_but_an_array_of_strings_is_left_to_the_general_decoder() {
        for encoded in [
            r#""[{\"a\":1}]""#,     // an object element (no dataType)
            r#""[\"a\", null]""#,   // a null element
            r#""{\"a\":\"b\"}""#,   // not an array
            r#""[\"a\"] x""#,       // trailing text inside the string
            r#""[\"a\""#,           // cut off
            r#""[\"a\nb\"]""#,      // a raw newline inside an event: invalid JSON
            r#""[\"\\ud83d\"]""#,   // a lone surrogate
            r#""[\"\\q\"]""#,       // an unknown escape
            r#""[\"\u0061\"]""#,    // an outer \u escape: valid, but not the host's form
            "\"[\\\"a\u{1}\\\"]\"", // a raw control character
        ] {
            assert_eq!(decode(encoded), None, "{encoded}");
        }
    }

    #[test]
    fn the_events_string_is_found_only_where_the_host_puts_it() {
        let body = br#" { "Data" : { "events" : "[]" }, "Metadata": {} }"#;
        let start = events_string_start(body).unwrap();
        assert_eq!(&body[start..start + 3], b"[]\"");
        for other in [
            &br#"{"Metadata":{},"Data":{"events":"[]"}}"#[..],
            br#"{"data":{"events":"[]"}}"#,
            br#"{"Data":{"events":["a"]}}"#,
            br#"["a"]"#,
        ] {
            assert_eq!(events_string_start(other), None);
        }
    }

    /// `copy_plain` from the start: where it stops, after checking it copied exactly the bytes
    /// before that.
    fn next_special(b: &[u8]) -> usize {
        let mut out = Vec::new();
        let end = copy_plain(b, 0, &mut out);
        assert_eq!(out, &b[..end]);
        end
    }

    #[test]
    fn the_special_byte_scan_finds_the_first_quote_backslash_or_control_byte() {
        let text = b"abcdefghijklmnopqrstuvwxyz";
        assert_eq!(next_special(text), text.len());
        for (special, at) in [(b'"', 0), (b'\\', 7), (b'\n', 8), (0x1f, 13), (0, 25)] {
            let mut t = text.to_vec();
            t[at] = special;
            assert_eq!(next_special(&t), at, "{special:#x} at {at}");
        }
        // Bytes that sit just above the special ones are not special.
        assert_eq!(next_special(b"########]]]]]]]] !!!!"), 21);
    }
}
