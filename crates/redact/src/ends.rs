//! Where values end, remembered: the scanner reads a value's text again for secrets inside it,
//! and a value found inside another ends where the outer one did, so no text is read twice.

use crate::scan::is_token;
use crate::unit::{units, Unit};

/// How a value ends.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// `name=value`: query parameters and connection-string parts.
    Query,
    /// `name: value`: headers and unquoted JSON-like text.
    Header,
    /// `name: 'value'`.
    SingleQuoted,
    /// `"value"` whose opening quote has this level of escaping.
    Quoted(u32),
    /// A bearer token.
    Token,
}

fn stops(kind: Kind, u: &Unit) -> bool {
    match kind {
        Kind::Query => u.ch.is_whitespace() || "&;\"'<>,}])|#".contains(u.ch),
        Kind::Header => "\n\r\"',;}]<>".contains(u.ch),
        Kind::SingleQuoted => u.ch == '\'',
        // A quote at the opening quote's level or an outer one: an inner, more escaped quote
        // belongs to the value.
        Kind::Quoted(level) => u.ch == '"' && u.level <= level,
        Kind::Token => !is_token(u.ch),
    }
}

/// Where the last end of a kind of value is kept, and which kind it was (levels of escaping past
/// 27 share a place).
fn slot(kind: Kind) -> (usize, u32) {
    match kind {
        Kind::Query => (0, 0),
        Kind::Header => (1, 0),
        Kind::SingleQuoted => (2, 0),
        Kind::Token => (3, 0),
        Kind::Quoted(level) => (4 + level.min(27) as usize, level),
    }
}

/// One value's end: from `start`, the first stopping unit is at `stop`; the last unit before it
/// that is not whitespace ends at `trimmed`.
#[derive(Clone, Copy)]
struct Found {
    kind: u32,
    start: usize,
    stop: usize,
    trimmed: usize,
}

/// The last end found for each kind of value.
pub(crate) struct Ends {
    found: [Option<Found>; 32],
}

impl Ends {
    pub(crate) fn new() -> Ends {
        Ends { found: [None; 32] }
    }

    /// The end of a value of `kind` starting at `start` (trailing whitespace left out, except in
    /// quoted values), or the end of the text.
    pub(crate) fn end(&mut self, text: &str, start: usize, kind: Kind) -> usize {
        let (at, id) = slot(kind);
        let slot = &mut self.found[at];
        let f = match *slot {
            Some(f) if f.kind == id && f.start <= start && start <= f.stop => f,
            _ => {
                let f = Found {
                    kind: id,
                    ..scan(text, start, kind)
                };
                *slot = Some(f);
                f
            }
        };
        match kind {
            Kind::Quoted(_) => f.stop,
            _ => f.trimmed.max(start),
        }
    }
}

fn scan(text: &str, start: usize, kind: Kind) -> Found {
    let mut trimmed = start;
    for u in units(text, start) {
        if stops(kind, &u) {
            return Found {
                kind: 0,
                start,
                stop: u.start,
                trimmed,
            };
        }
        if !u.ch.is_whitespace() {
            trimmed = u.end;
        }
    }
    Found {
        kind: 0,
        start,
        stop: text.len(),
        trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_inside_another_ends_where_the_outer_one_did() {
        let text = "a: b: c \n d";
        let mut ends = Ends::new();
        assert_eq!(ends.end(text, 3, Kind::Header), 7);
        assert_eq!(ends.end(text, 6, Kind::Header), 7);
        assert_eq!(ends.end(text, 8, Kind::Header), 8);
        assert_eq!(ends.end(text, 9, Kind::Header), 11);
    }

    #[test]
    fn a_quoted_value_ends_at_its_own_level_not_at_an_inner_quote() {
        let text = r#"ab\"c"d"#;
        assert_eq!(Ends::new().end(text, 0, Kind::Quoted(0)), 5);
        assert_eq!(Ends::new().end(text, 0, Kind::Quoted(1)), 2);
    }
}
