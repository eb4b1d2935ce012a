//! The byte scanner: finds secrets in any text (plain, URLs, headers, broken or escaped JSON at
//! any level) by reading words and what follows them, escapes decoded as it goes.

use crate::edit::Edit;
use crate::fingerprint::{is_redacted, replace_string, MARKER};
use crate::keys::{Class, Normalised};
use crate::unit::{decoded, unit_at, units, Unit};

/// Letters, digits, `-`, `_` and `.`: what key names and tokens are made of.
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// What a bearer token is made of (RFC 6750 `b64token`, plus `%` for URL-encoded ones).
fn is_token(c: char) -> bool {
    is_word(c) || matches!(c, '~' | '+' | '/' | '=' | '%')
}

/// Every secret found in `text`, as edits of `text` (not merged).
pub(crate) fn edits(text: &str) -> Vec<Edit> {
    let mut out = Vec::new();
    let mut prev = ' ';
    let mut i = 0;
    while i < text.len() {
        let u = unit_at(text, i);
        if !is_word(u.ch) {
            prev = u.ch;
            i = u.end;
            continue;
        }
        let word = Word::read(text, i);
        i = word.after(text, prev, &mut out);
        prev = 'x';
    }
    out
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
        let mut head = String::new();
        let (mut dots, mut second) = (0, 0);
        for u in units(text, start).take_while(|u| is_word(u.ch)) {
            end = u.end;
            name.push(u.ch);
            if head.len() < 3 {
                head.push(u.ch);
            }
            match (u.ch, dots) {
                ('.', _) => dots += 1,
                (_, 1) => second += 1,
                _ => {}
            }
        }
        Word {
            start,
            end,
            name,
            jwt: head == "eyJ" && dots >= 1 && second > 0,
        }
    }

    /// Records the secret this word starts or names, if any; returns where scanning goes on.
    fn after(&self, text: &str, prev: char, out: &mut Vec<Edit>) -> usize {
        if self.jwt {
            push_value(text, self.start, self.end, Class::Key, out);
            return self.end;
        }
        if self.name.is("bearer") {
            return bearer_token(text, self.end, out);
        }
        match self.name.secret_class(matches!(prev, '?' | '&' | ';')) {
            Some(class) => key_value(text, self.end, class, out),
            None => self.end,
        }
    }
}

/// Records `text[start..end]` (trimmed) as a secret value unless empty, `null` or already redacted.
fn push_value(text: &str, start: usize, end: usize, class: Class, out: &mut Vec<Edit>) {
    let value = decoded(text, start, end);
    let value = value.trim();
    if value.is_empty() || value == "null" || is_redacted(value) {
        return;
    }
    out.push(Edit {
        start,
        end,
        with: replace_string(value, class),
    });
}

/// After `Bearer`: whitespace (any kind, escaped or URL-encoded) then the token.
fn bearer_token(text: &str, from: usize, out: &mut Vec<Edit>) -> usize {
    let mut it = units(text, from).peekable();
    let mut gap = false;
    while it.next_if(|u| u.ch.is_whitespace() || u.ch == '+').is_some() {
        gap = true;
    }
    let Some(first) = it.peek().copied() else {
        return text.len();
    };
    if !gap || already_redacted(text, first.start) {
        return first.start;
    }
    let end = it
        .take_while(|u| is_token(u.ch))
        .last()
        .map_or(first.start, |u| u.end);
    push_value(text, first.start, end, Class::Key, out);
    end
}

fn already_redacted(text: &str, at: usize) -> bool {
    is_redacted(&text[at..])
}

/// After a secret key's name: quotes and whitespace, `:` or `=`, whitespace, then the value.
fn key_value(text: &str, from: usize, class: Class, out: &mut Vec<Edit>) -> usize {
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
    if already_redacted(text, first.start) {
        return first.start;
    }
    let (start, end) = match first.ch {
        '"' => (first.end, quoted_end(text, first)),
        '\'' => (first.end, unquoted_end(text, first.end, |c| c == '\'')),
        '[' | '{' => {
            let end = container_end(text, first.start, key_quote);
            out.push(Edit {
                start: first.start,
                end,
                with: MARKER.to_string(),
            });
            return end;
        }
        _ if sep.ch == '=' => (first.start, unquoted_end(text, first.start, ends_query)),
        _ => (first.start, unquoted_end(text, first.start, ends_header)),
    };
    push_value(text, start, end, class, out);
    end
}

/// Where a `name=value` value (query parameter, connection-string part) ends.
fn ends_query(c: char) -> bool {
    c.is_whitespace() || "&;\"'<>,}])|#".contains(c)
}

/// Where a `name: value` value (header, unquoted JSON-like text) ends.
fn ends_header(c: char) -> bool {
    "\n\r\"',;}]<>".contains(c)
}

/// The end of a value that runs until a unit for which `stop` holds (or the end of the text),
/// trailing whitespace left out.
fn unquoted_end(text: &str, from: usize, stop: impl Fn(char) -> bool) -> usize {
    let mut end = from;
    for u in units(text, from).take_while(|u| !stop(u.ch)) {
        if !u.ch.is_whitespace() {
            end = u.end;
        }
    }
    end
}

/// The end of a quoted value: the next quote at the opening quote's level of escaping or an outer
/// one (an inner, more escaped quote belongs to the value), or the end of the text.
fn quoted_end(text: &str, open: Unit) -> usize {
    units(text, open.end)
        .find(|u| u.ch == '"' && u.level <= open.level)
        .map_or(text.len(), |u| u.start)
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
