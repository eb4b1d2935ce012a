//! A logged request or response body as the event carries it: the still-escaped text of its JSON
//! string, decoded once when a reader needs all of it, or only in the windows it needs.
//!
//! An event's `request` and `response` are JSON strings, so every `"` of a logged JSON body
//! arrives as `\"` and every line end of a stream as `\n`. [`Body`] keeps that text as
//! `serde_json` checked it, without copying. Its form is chosen so that decoding is simple and
//! can start anywhere:
//! - it holds no `\u` escape (a body with one is decoded when the event is read, by `serde_json`,
//!   so a lone surrogate is refused exactly as before), so every escape is a backslash and one
//!   ASCII character;
//! - a position is outside an escape ([`boundary_at_or_after`]) when the backslashes just before
//!   it are even in number, so any window that starts and ends outside an escape decodes to the
//!   matching part of the whole text ([`decode`]);
//! - `"` in the text is `\"` in the escaped form and nothing else, so a key such as `"usage"` is
//!   found in the escaped form by a plain byte search for `\"usage\"` ([`objects_after_key`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use memchr::arch::all::packedpair::HeuristicFrequencyRank;
use memchr::memmem::{Finder, FinderBuilder};

use crate::nested_json::copy_plain;

/// A logged body. Its `Debug` shows its length only: a body is prompt or completion text.
#[derive(Clone)]
pub struct Body<'a>(Repr<'a>);

#[derive(Clone)]
enum Repr<'a> {
    /// The contents of the event's JSON string, between its quotes, as `serde_json` checked
    /// them, holding no `\u` escape; and, once the bounds check has looked, where its last
    /// `"usage"` object starts (`Some(None)`: it has none), so that no reader searches again.
    Escaped {
        raw: &'a str,
        last_usage_object: Option<Option<usize>>,
    },
    /// Text that is already decoded.
    Text(Cow<'a, str>),
}

impl<'a> Body<'a> {
    /// A body whose text is already decoded (a body logged as a JSON object, or one that held a
    /// `\u` escape and was decoded when the event was read).
    pub fn from_text(text: impl Into<Cow<'a, str>>) -> Body<'a> {
        Body(Repr::Text(text.into()))
    }

    /// The contents of a JSON string that `serde_json` has checked, between its quotes; `None`
    /// when they hold a `\u` escape (such a body is decoded whole, by `serde_json`).
    pub(crate) fn escaped(contents: &'a str) -> Option<Body<'a>> {
        (!has_unicode_escape(contents.as_bytes())).then_some(Body(Repr::Escaped {
            raw: contents,
            last_usage_object: None,
        }))
    }

    /// The decoded text: borrowed when nothing needed decoding, else one copy.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Escaped { raw, .. } => decode(raw),
            Repr::Text(t) => Cow::Borrowed(t),
        }
    }

    /// The still-escaped contents, when the body arrived as a JSON string.
    pub(crate) fn as_escaped(&self) -> Option<&'a str> {
        match self.0 {
            Repr::Escaped { raw, .. } => Some(raw),
            Repr::Text(_) => None,
        }
    }

    /// Where the last `"usage"` object of the escaped contents starts (the position of its
    /// `{`), when the bounds check has looked: `Some(None)` when there is none.
    pub(crate) fn last_usage_object(&self) -> Option<Option<usize>> {
        match self.0 {
            Repr::Escaped {
                last_usage_object, ..
            } => last_usage_object,
            Repr::Text(_) => None,
        }
    }

    /// Remembers what the bounds check saw (`last_usage_object`).
    pub(crate) fn set_last_usage_object(&mut self, at: Option<usize>) {
        if let Repr::Escaped {
            last_usage_object, ..
        } = &mut self.0
        {
            *last_usage_object = Some(at);
        }
    }

    /// True when the decoded text is empty (an escape never decodes to nothing).
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            Repr::Escaped { raw, .. } => raw.is_empty(),
            Repr::Text(t) => t.is_empty(),
        }
    }
}

impl fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Escaped { raw, .. } => write!(f, "Body({} escaped bytes)", raw.len()),
            Repr::Text(t) => write!(f, "Body({} bytes)", t.len()),
        }
    }
}

/// True when `b` holds a `\u` escape: a `u` after an odd run of backslashes.
fn has_unicode_escape(b: &[u8]) -> bool {
    memchr::memmem::find_iter(b, b"\\u").any(|at| is_boundary(b, at))
}

/// True when position `at` of escaped text is outside an escape: the backslashes just before
/// it are even in number (each pair is one escaped backslash).
fn is_boundary(b: &[u8], at: usize) -> bool {
    let run = b[..at.min(b.len())]
        .iter()
        .rev()
        .take_while(|&&c| c == b'\\')
        .count();
    run % 2 == 0
}

/// The first position at or after `at` (clamped to the end) that is outside an escape and on a
/// character boundary.
pub(crate) fn boundary_at_or_after(raw: &str, at: usize) -> usize {
    let mut at = at.min(raw.len());
    while !raw.is_char_boundary(at) {
        at += 1;
    }
    if at < raw.len() && !is_boundary(raw.as_bytes(), at) {
        // Inside a two-byte escape: its second byte is ASCII.
        at += 1;
    }
    at
}

/// Decodes escaped text without `\u` escapes (a whole body, or a window whose ends are outside
/// an escape): borrowed when it has no escape, else one copy, plain runs copied a word at a time
/// (`nested_json::copy_plain`, which stops at a backslash: checked JSON string contents hold no
/// bare quote or control byte). Total: a backslash before anything but a JSON escape letter
/// (which `serde_json` never lets through) is kept as it is.
pub(crate) fn decode(raw: &str) -> Cow<'_, str> {
    #[cfg(test)]
    DECODED.with(|n| n.set(n.get() + raw.len()));
    let b = raw.as_bytes();
    if memchr::memchr(b'\\', b).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < b.len() {
        i = copy_plain(b, i, &mut out);
        let Some(&c) = b.get(i) else {
            break;
        };
        if c != b'\\' {
            // A quote or a control byte (never in checked contents): kept as it is.
            out.push(c);
            i += 1;
            continue;
        }
        let (byte, len) = match b.get(i + 1) {
            Some(b'n') => (b'\n', 2),
            Some(b'r') => (b'\r', 2),
            Some(b't') => (b'\t', 2),
            Some(b'b') => (0x08, 2),
            Some(b'f') => (0x0c, 2),
            Some(&c @ (b'"' | b'\\' | b'/')) => (c, 2),
            _ => (b'\\', 1),
        };
        out.push(byte);
        i += len;
    }
    // Only ASCII escapes were replaced, by ASCII bytes: the text stays UTF-8.
    Cow::Owned(
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

#[cfg(test)]
thread_local! {
    /// Escaped bytes this thread has decoded: the tests' measure of what a reader decoded.
    pub(crate) static DECODED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// JSON whitespace in escaped text (as `str::trim_ascii_start` reads decoded text: space, tab,
/// line feed, form feed, carriage return): the position after it.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    loop {
        match (b.get(i), b.get(i + 1)) {
            (Some(b' '), _) => i += 1,
            (Some(b'\\'), Some(b't' | b'n' | b'f' | b'r')) => i += 2,
            _ => return i,
        }
    }
}

/// memchr's searcher looks first for the two bytes of a needle it ranks rarest. Its own ranks
/// are made for ordinary text, where `\` and `"` are rare; in escaped JSON they are the
/// commonest bytes of all, so this table ranks them last and the search starts from letters.
struct EscapedJsonRank;

impl HeuristicFrequencyRank for EscapedJsonRank {
    fn rank(&self, byte: u8) -> u8 {
        match byte {
            b'\\' | b'"' => 255,
            b':' | b',' | b'{' | b'}' | b'[' | b']' => 250,
            b'e' => 200,
            b'a' | b's' => 190,
            b'u' => 150,
            b'g' => 140,
            _ => 160,
        }
    }
}

/// The searcher for the key `"usage"` in escaped text (`\"usage\"`), built once.
pub(crate) fn usage_key() -> &'static Finder<'static> {
    static KEY: OnceLock<Finder<'static>> = OnceLock::new();
    KEY.get_or_init(|| {
        FinderBuilder::new().build_forward_with_ranker(EscapedJsonRank, b"\\\"usage\\\"")
    })
}

/// Every place in escaped text where the key `"<key>"` is followed by `:` and an object, as
/// the position of its `{` (outside an escape), in order. The same places, in the same order,
/// as a search for `"<key>"` in the decoded text finds (non-overlapping matches both ways).
pub(crate) fn objects_after_key<'b>(
    raw: &'b [u8],
    needle: &'b Finder<'b>,
) -> impl Iterator<Item = usize> + 'b {
    needle.find_iter(raw).filter_map(move |at| {
        let i = skip_ws(raw, at + needle.needle().len());
        (raw.get(i) == Some(&b':')).then_some(())?;
        let i = skip_ws(raw, i + 1);
        (raw.get(i) == Some(&b'{')).then_some(i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let quoted = serde_json::to_string(text).unwrap();
        quoted[1..quoted.len() - 1].to_owned()
    }

    #[test]
    fn decoding_gives_what_serde_json_gives() {
        for text in [
            "",
            "plain",
            "data: {\"a\":\"b\\\\c\"}\n\n\r\n\t\u{8}\u{c}/",
            "ünïcødé 漢字 🎉 and \\ and \"",
        ] {
            let raw = escaped(text);
            assert_eq!(decode(&raw), text, "{raw}");
        }
        assert_eq!(decode(r"a\/b"), "a/b");
    }

    #[test]
    fn text_without_escapes_is_borrowed_not_copied() {
        assert!(matches!(decode("data: x"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_body_with_a_unicode_escape_is_not_kept_escaped() {
        assert!(Body::escaped(r"caf\u00e9").is_none());
        assert!(Body::escaped(r"\\\u00e9").is_none());
        // An escaped backslash before `u` is not a `\u` escape.
        assert!(Body::escaped(r"C:\\users").is_some());
        assert!(Body::escaped(r"\\\\u").is_some());
    }

    #[test]
    fn every_window_between_boundaries_decodes_to_its_part_of_the_text() {
        let text = "data: {\"x\":\"a\\\\\\\"b\"}\n\nü\r\n";
        let raw = escaped(text);
        for from in 0..=raw.len() {
            for to in from..=raw.len() {
                let (a, b) = (
                    boundary_at_or_after(&raw, from),
                    boundary_at_or_after(&raw, to),
                );
                let whole = decode(&raw);
                let (pa, pb) = (decode(&raw[..a]).len(), decode(&raw[..b]).len());
                assert_eq!(decode(&raw[a..b]), &whole[pa..pb], "{from}..{to}");
            }
        }
    }

    #[test]
    fn a_key_followed_by_an_object_is_found_in_the_escaped_text_only() {
        let text = "{\"usage\":null} {\"usage\" :\n {\"a\":1}} \"usage\":[] {\"usage\":{}}";
        let raw = escaped(text);
        let at: Vec<usize> = objects_after_key(raw.as_bytes(), usage_key()).collect();
        let found: Vec<String> = at.iter().map(|&i| decode(&raw[i..]).into_owned()).collect();
        assert_eq!(found, vec!["{\"a\":1}} \"usage\":[] {\"usage\":{}}", "{}}"]);
    }

    #[test]
    fn a_body_shows_its_length_never_its_text() {
        let b = Body::escaped("secret prompt").unwrap();
        assert_eq!(format!("{b:?}"), "Body(13 escaped bytes)");
        assert_eq!(format!("{:?}", Body::from_text("secret")), "Body(6 bytes)");
    }
}
