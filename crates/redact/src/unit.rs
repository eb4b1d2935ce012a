//! The scanner's unit of text: one character, one JSON escape at any level of escaping (a run of
//! backslashes with the character it escapes), or one `%XX` URL escape, each read as the character
//! it stands for. Spans always start and end between units, so no escape is ever cut in two.

/// One unit of text: `text[start..end]` stands for `ch`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit {
    pub start: usize,
    pub end: usize,
    pub ch: char,
    /// For a quote: its level of escaping (0 for `"`, 1 for `\"`, 2 for `\\\"`, …).
    pub level: u32,
}

/// The four hex digits at `b[i..i + 4]`, as a number.
pub(crate) fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let digits = b.get(i..i + 4)?;
    digits.iter().try_fold(0u32, |acc, &d| {
        char::from(d).to_digit(16).map(|v| acc * 16 + v)
    })
}

fn hex2(b: &[u8], i: usize) -> Option<u8> {
    let digits = b.get(i..i + 2)?;
    let hi = char::from(digits[0]).to_digit(16)?;
    let lo = char::from(digits[1]).to_digit(16)?;
    u8::try_from(hi * 16 + lo).ok()
}

/// The character a simple JSON escape `\c` stands for.
pub(crate) fn simple_escape(c: u8) -> Option<char> {
    Some(match c {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        _ => return None,
    })
}

/// The unit starting at byte `i` (a char boundary) of `text`.
pub(crate) fn unit_at(text: &str, i: usize) -> Unit {
    let b = text.as_bytes();
    let plain = |end: usize, ch: char| Unit {
        start: i,
        end,
        ch,
        level: 0,
    };
    match b[i] {
        b'\\' => {
            let run = b[i..].iter().take_while(|&&c| c == b'\\').count();
            let j = i + run;
            let escaped = |end: usize, ch: char| Unit {
                start: i,
                end,
                ch,
                level: if ch == '"' {
                    (run as u32).trailing_ones()
                } else {
                    0
                },
            };
            match b.get(j) {
                Some(b'u') => match hex4(b, j + 1) {
                    Some(cp) => escaped(j + 5, char::from_u32(cp).unwrap_or('\u{fffd}')),
                    None => plain(j, '\\'),
                },
                Some(&c) => match simple_escape(c) {
                    Some(ch) if c != b'\\' => escaped(j + 1, ch),
                    _ => plain(j, '\\'),
                },
                None => plain(j, '\\'),
            }
        }
        b'%' => match hex2(b, i + 1) {
            Some(v) if v < 0x80 => plain(i + 3, char::from(v)),
            _ => plain(i + 1, '%'),
        },
        c if c < 0x80 => plain(i + 1, char::from(c)),
        _ => {
            let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
            plain(i + ch.len_utf8(), ch)
        }
    }
}

/// The units of `text` from byte `from`.
pub(crate) fn units(text: &str, from: usize) -> impl Iterator<Item = Unit> + '_ {
    let mut i = from;
    std::iter::from_fn(move || {
        if i >= text.len() {
            return None;
        }
        let u = unit_at(text, i);
        i = u.end;
        Some(u)
    })
}

/// The characters the units of `text[start..end]` stand for.
pub(crate) fn decoded(text: &str, start: usize, end: usize) -> String {
    units(&text[..end], start).map(|u| u.ch).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(char, u32)> {
        units(text, 0).map(|u| (u.ch, u.level)).collect()
    }

    #[test]
    fn escapes_at_every_level_read_as_one_character() {
        assert_eq!(read(r#"\u004b"#), vec![('K', 0)]);
        assert_eq!(read(r#"\\u002d"#), vec![('-', 0)]);
        assert_eq!(read(r#"\n\\n"#), vec![('\n', 0), ('\n', 0)]);
        assert_eq!(read(r#"%3D%26"#), vec![('=', 0), ('&', 0)]);
    }

    #[test]
    fn a_quote_knows_its_level_even_after_escaped_backslashes() {
        assert_eq!(read(r#"""#), vec![('"', 0)]);
        assert_eq!(read(r#"\""#), vec![('"', 1)]);
        assert_eq!(read(r#"\\\""#), vec![('"', 2)]);
        // `\\` then `"` at level 0; `\\\\` then `\"` at level 1.
        assert_eq!(read(r#"\\""#), vec![('"', 0)]);
        assert_eq!(read(r#"\\\\\""#), vec![('"', 1)]);
    }

    #[test]
    fn broken_escapes_are_plain_characters() {
        assert_eq!(read(r#"\q"#), vec![('\\', 0), ('q', 0)]);
        assert_eq!(
            read(r#"\u12"#),
            vec![('\\', 0), ('u', 0), ('1', 0), ('2', 0)]
        );
        assert_eq!(read("%zé\\"), vec![('%', 0), ('z', 0), ('é', 0), ('\\', 0)]);
    }
}
