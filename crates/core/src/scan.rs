//! A fast reader for the chat chunk objects Azure OpenAI and OpenAI stream: the same
//! [`Chunk`] the borrowing serde reader of `chunk` builds, read by one specialised byte scan.
//!
//! It answers "not mine" (`None`) for anything it does not know to read exactly as that reader
//! does, and the caller then runs the serde reader, so the result never depends on which one ran:
//! - the JSON subset it accepts: objects, arrays, strings, integers of at most 18 digits, `true`,
//!   `false`, `null`, nested at most [`MAX_DEPTH`] deep; a float, an exponent, an escaped key or
//!   anything a JSON parser rejects is not its;
//! - the fields it reads (`choices`, `model`, `object`; per choice `index`, `text`, `delta`; per
//!   delta `content`, `refusal`, `tool_calls`, `function_call`; per call `index`, `function`;
//!   `arguments`) must have the shape Azure sends (a string or `null` for a text, a
//!   non-negative integer for an index, an object or array where one belongs), each at most once
//!   per object; a top-level `usage` must be `null`, and a Responses event's fields (`type`,
//!   `response`, `delta`, `output_index`) are not its;
//! - every other field is checked (a JSON parser would accept it) and skipped.
//!
//! Strings without escapes are borrowed; a string with escapes is decoded by `serde_json`.
//! `tests/stream_paths.rs` and the `chunk_scan` fuzz target check that it reads what the serde
//! reader reads.

use std::borrow::Cow;

use crate::chunk::{Call, Choice, Chunk, Content, Delta, Function, Present, Seq, Str, U64};

/// Deeper nesting is not the scanner's (serde_json's own limit is 128).
const MAX_DEPTH: usize = 24;

/// Reads one chunk's JSON text (the event's trimmed `data`), or `None`: not its to read.
pub(crate) fn scan_chunk(data: &str) -> Option<Chunk<'_>> {
    let mut c = Cursor {
        s: data,
        b: data.as_bytes(),
        i: 0,
    };
    const KEYS: [&str; 8] = [
        "choices",
        "model",
        "object",
        "usage",
        // A Responses event's fields.
        "type",
        "response",
        "delta",
        "output_index",
    ];
    let out = c.object(&KEYS, 1, |c, field, out: &mut Chunk<'_>| {
        match field {
            0 => out.choices = Seq::of(c.array(Cursor::choice)?),
            1 => out.model = Str(c.opt_string()?),
            2 => out.object = Str(c.opt_string()?),
            3 => c.literal(b"null")?,
            _ => return None,
        }
        Some(())
    })?;
    c.ws();
    (c.i == c.b.len()).then_some(out)
}

struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// The members of an object whose `{` was read: `f` reads each value, given its key.
    fn members(&mut self, mut f: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let Cow::Borrowed(key) = self.string()? else {
                return None;
            };
            self.expect(b':')?;
            f(self, key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array of items read by `item`.
    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.expect(b'[')?;
        let mut out = Vec::new();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// A string at the cursor's `"`: borrowed when it has no escapes, else decoded.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.i + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            at += memchr::memchr2(b'"', b'\\', self.b.get(at..)?)?;
            if self.b[at] == b'"' {
                break;
            }
            escaped = true;
            at += 2;
        }
        self.i = at + 1;
        let raw = self.b.get(start..at)?;
        if raw.iter().any(|&c| c < 0x20) {
            return None;
        }
        if !escaped {
            return self.s.get(start..at).map(Cow::Borrowed);
        }
        let quoted = self.s.get(start - 1..=at)?;
        serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
    }

    /// A string or `null`.
    fn opt_string(&mut self) -> Option<Option<Cow<'a, str>>> {
        match self.peek()? {
            b'"' => self.string().map(Some),
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    /// An integer of at most 18 digits (always exact in `u64`/`i64`), and whether it is negative.
    fn integer(&mut self) -> Option<(u64, bool)> {
        self.ws();
        let negative = self.b.get(self.i) == Some(&b'-');
        let start = self.i + usize::from(negative);
        let digits = self.b.get(start..)?;
        let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 18 || (n > 1 && digits[0] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = digits.get(n) {
            return None;
        }
        let value = digits[..n]
            .iter()
            .fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
        self.i = start + n;
        Some((value, negative))
    }

    /// A non-negative integer (an index).
    fn index(&mut self) -> Option<u64> {
        match self.integer()? {
            (v, false) => Some(v),
            _ => None,
        }
    }

    /// Any value of the accepted subset, checked and skipped.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                self.i += 1;
                self.members(|c, _| c.skip(depth + 1))
            }
            b'[' => self.array(|c| c.skip(depth + 1)).map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.integer().map(drop),
            _ => None,
        }
    }

    /// An object whose fields named in `keys` are read by `read` (given the key's position),
    /// each at most once; every other field is checked and skipped (`depth` deep).
    fn object<T: Default>(
        &mut self,
        keys: &[&str],
        depth: usize,
        mut read: impl FnMut(&mut Self, usize, &mut T) -> Option<()>,
    ) -> Option<T> {
        self.expect(b'{')?;
        let mut out = T::default();
        let mut seen = 0u8;
        self.members(|c, key| match keys.iter().position(|k| *k == key) {
            Some(field) => {
                let bit = 1u8 << field;
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
                read(c, field, &mut out)
            }
            None => c.skip(depth),
        })?;
        Some(out)
    }

    fn choice(&mut self) -> Option<Choice<'a>> {
        self.object(
            &["index", "text", "delta"],
            3,
            |c, field, out: &mut Choice<'a>| {
                match field {
                    0 => out.index = U64::of(c.index()?),
                    1 => out.text = Str(c.opt_string()?),
                    _ => out.delta = Present(Some(c.delta()?)),
                }
                Some(())
            },
        )
    }

    fn delta(&mut self) -> Option<Delta<'a>> {
        let keys = ["content", "refusal", "tool_calls", "function_call"];
        self.object(&keys, 4, |c, field, out: &mut Delta<'a>| {
            match field {
                0 => out.content = c.opt_string()?.map_or(Content::None, Content::Text),
                1 => out.refusal = Str(c.opt_string()?),
                2 if c.peek()? == b'n' => c.literal(b"null")?,
                2 => out.tool_calls = Seq::of(c.array(Cursor::call)?),
                _ => out.function_call = c.function()?,
            }
            Some(())
        })
    }

    fn call(&mut self) -> Option<Call<'a>> {
        self.object(&["index", "function"], 6, |c, field, out: &mut Call<'a>| {
            match field {
                0 => out.index = U64::of(c.index()?),
                _ => out.function = c.function()?,
            }
            Some(())
        })
    }

    /// A function (`arguments`) object, or `null` (read as one without arguments).
    fn function(&mut self) -> Option<Function<'a>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(Function::default());
        }
        self.object(&["arguments"], 7, |c, _, out: &mut Function<'a>| {
            out.arguments = Str(c.opt_string()?);
            Some(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serde reader's reading of `data`, rendered, or `None` when it rejects it.
    fn serde_reading(data: &str) -> Option<String> {
        serde_json::from_str::<Chunk<'_>>(data)
            .ok()
            .map(|c| format!("{c:?}"))
    }

    fn scanned(data: &str) -> Option<String> {
        scan_chunk(data).map(|c| format!("{c:?}"))
    }

    #[test]
    fn an_azure_content_chunk_is_read_as_the_serde_reader_reads_it() {
        let data = r#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"}},"delta":{"content":" inv\"oice\u00e9"},"finish_reason":null,"index":0,"logprobs":null}],"created":1793611500,"id":"chatcmpl-1","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_f3927aa00d","usage":null}"#;
        assert!(scanned(data).is_some());
        assert_eq!(scanned(data), serde_reading(data));
    }

    #[test]
    fn tool_call_chunks_and_the_prompt_filter_chunk_are_read_alike() {
        for data in [
            r#"{"choices":[{"delta":{"content":null,"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]},"index":1}]}"#,
            r#"{"choices":[{"delta":{"function_call":{"arguments":"{\"a\":"}},"index":0}]}"#,
            r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"jailbreak":{"detected":false,"filtered":false}}}]}"#,
            r#" { "choices" : [ { "text" : "legacy" , "index" : 2 } ] } "#,
        ] {
            assert!(scanned(data).is_some(), "{data}");
            assert_eq!(scanned(data), serde_reading(data), "{data}");
        }
    }

    #[test]
    fn anything_unusual_is_not_the_scanners() {
        for data in [
            r#"{"choices":[{"delta":{"content":[{"type":"text","text":"x"}]}}]}"#,
            r#"{"choices":[{"index":-1}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":1}}"#,
            r#"{"type":"response.output_text.delta","delta":"x"}"#,
            r#"{"model":"a","model":"b"}"#,
            r#"{"mod\u0065l":"a"}"#,
            r#"{"choices":[{"logprobs":{"content":[{"logprob":-0.5}]}}]}"#,
            r#"{"created":1e400}"#,
            r#"{"a":[1,]}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":01}"#,
            r#"{"a":1} x"#,
            r#"{"a":"#,
        ] {
            assert_eq!(scanned(data), None, "{data}");
        }
    }
}
