//! The byte scanner: finds secrets in any text (plain, URLs, headers, broken or escaped JSON at
//! any level) by reading words and what follows them, escapes decoded as it goes.

use crate::edit::Edit;
use crate::ends::{Ends, Kind};
use crate::fingerprint::{is_redacted, replace_string, MARKER};
use crate::keys::{Class, Normalised};
use crate::unit::{decoded, unit_at, units};

/// Letters, digits, `-`, `_` and `.`: what key names and tokens are made of.
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// What a bearer token is made of (RFC 6750 `b64token`, plus `%` for URL-encoded ones).
pub(crate) fn is_token(c: char) -> bool {
    is_word(c) || matches!(c, '~' | '+' | '/' | '=' | '%')
}

/// Every secret found in `text`, as edits of `text` (not merged).
pub(crate) fn edits(text: &str) -> Vec<Edit> {
    let mut scan = Scan {
        text,
        out: Vec::new(),
        ends: Ends::new(),
    };
    let b = text.as_bytes();
    let mut prev = ' ';
    let mut i = 0;
    while i < b.len() {
        // Fast path: a plain ASCII character that starts no word.
        let c = b[i];
        if c < 0x80 && c != b'\\' && c != b'%' && !is_word(char::from(c)) {
            prev = char::from(c);
            i += 1;
            continue;
        }
        let u = unit_at(text, i);
        if !is_word(u.ch) {
            prev = u.ch;
            i = u.end;
            continue;
        }
        let word = Word::read(text, i);
        i = scan.after(&word, prev);
        prev = 'x';
    }
    scan.out
}

struct Scan<'a> {
    text: &'a str,
    out: Vec<Edit>,
    ends: Ends,
}

/// A maximal run of word units.
struct Word {
    start: usize,
    end: usize,
    name: Normalised,
    jwt: bool,
}

impl Word {
    fn read(text: &str, start: usize) -> Word {
        let mut name = Normalised::default();
        let mut end = start;
        let mut head = ['\0'; 3];
        let mut count = 0;
        let (mut dots, mut second) = (0, 0);
        let b = text.as_bytes();
        while end < b.len() {
            // A plain ASCII character is its own unit; anything else is read as a unit.
            let (ch, next) = match b[end] {
                c if c < 0x80 && c != b'\\' && c != b'%' => (char::from(c), end + 1),
                _ => {
                    let u = unit_at(text, end);
                    (u.ch, u.end)
                }
            };
            if !is_word(ch) {
                break;
            }
            end = next;
            name.push(ch);
            if count < 3 {
                head[count] = ch;
            }
            count += 1;
            match (ch, dots) {
                ('.', _) => dots += 1,
                (_, 1) => second += 1,
                _ => {}
            }
        }
        Word {
            start,
            end,
            name,
            jwt: head == ['e', 'y', 'J'] && dots >= 1 && second > 0,
        }
    }
}

impl Scan<'_> {
    /// Records the secret `word` starts or names, if any; returns where scanning goes on. After
    /// a key's value that is not a container, that is the value's start: a value may hold another
    /// secret (`password=Bearer x`, a broken `"token":"api-key":"x"`), and the value's end is
    /// remembered, so reading it again costs nothing more.
    fn after(&mut self, word: &Word, prev: char) -> usize {
        if let Some(class) = word.name.secret_class(matches!(prev, '?' | '&' | ';')) {
            let next = self.key_value(word.end, class);
            if next != word.end {
                return next;
            }
        }
        if word.jwt {
            self.push_value(word.start, word.end, Class::Key);
            return word.end;
        }
        if word.name.is("bearer") {
            return self.bearer_token(word.end);
        }
        word.end
    }

    /// Records `text[start..end]` as a secret value unless empty, `null`, already redacted or
    /// inside a value already recorded (edits start in order, so the last one tells).
    fn push_value(&mut self, start: usize, end: usize, class: Class) {
        if self.out.last().is_some_and(|last| end <= last.end) {
            return;
        }
        let value = decoded(self.text, start, end);
        let value = value.trim();
        if value.is_empty() || value == "null" || is_redacted(value) {
            return;
        }
        self.out.push(Edit {
            start,
            end,
            with: replace_string(value, class),
        });
    }

    /// After `Bearer`: whitespace (any kind, escaped or URL-encoded) then the token.
    fn bearer_token(&mut self, from: usize) -> usize {
        let mut it = units(self.text, from).peekable();
        let mut gap = false;
        while it
            .next_if(|u| u.ch.is_whitespace() || u.ch == '+')
            .is_some()
        {
            gap = true;
        }
        let Some(first) = it.peek().copied() else {
            return self.text.len();
        };
        if !gap || is_redacted(&self.text[first.start..]) {
            return first.start;
        }
        let end = self.ends.end(self.text, first.start, Kind::Token);
        self.push_value(first.start, end, Class::Key);
        // The token is read again: what follows `Bearer` may be a key's name (broken text).
        first.start
    }

    /// After a secret key's name: quotes and whitespace, `:` or `=`, whitespace, then the value.
    fn key_value(&mut self, from: usize, class: Class) -> usize {
        let text = self.text;
        let mut it = units(text, from).peekable();
        // The level of the quote closing the key's name: a quote below it ends the key's string.
        let mut key_quote = None;
        while let Some(u) = it.next_if(|u| u.ch.is_whitespace() || matches!(u.ch, '"' | '\'')) {
            if u.ch == '"' {
                key_quote.get_or_insert(u.level);
            }
        }
        let Some(sep) = it.next_if(|u| matches!(u.ch, ':' | '=')) else {
            return from;
        };
        while it.next_if(|u| u.ch.is_whitespace()).is_some() {}
        let Some(first) = it.next() else {
            return text.len();
        };
        if is_redacted(&text[first.start..]) {
            return first.start;
        }
        let (start, kind) = match first.ch {
            '"' => (first.end, Kind::Quoted(first.level)),
            '\'' => (first.end, Kind::SingleQuoted),
            '[' | '{' => {
                let end = container_end(text, first.start, key_quote);
                self.out.push(Edit {
                    start: first.start,
                    end,
                    with: MARKER.to_string(),
                });
                return end;
            }
            _ if sep.ch == '=' => (first.start, Kind::Query),
            _ => (first.start, Kind::Header),
        };
        let end = self.ends.end(text, start, kind);
        self.push_value(start, end, class);
        start
    }
}

/// The end of an array or object value: just after its closing bracket, brackets inside its
/// strings (quotes at the key's level of escaping) not counted; at a quote of an outer level (the
/// string holding it ended); or at the end of the text.
fn container_end(text: &str, open: usize, key_quote: Option<u32>) -> usize {
    let mut depth = 0usize;
    let mut string_level = key_quote;
    let mut in_string = false;
    for u in units(text, open) {
        match u.ch {
            '"' if key_quote.is_some_and(|k| u.level < k) => return u.start,
            '"' if *string_level.get_or_insert(u.level) == u.level => in_string = !in_string,
            '[' | '{' if !in_string => depth += 1,
            ']' | '}' if !in_string => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return u.end;
                }
            }
            _ => {}
        }
    }
    text.len()
}
