//! Server-sent events parsing over a captured response body (WHATWG event-stream rules).
//!
//! The body is whatever APIM logged: possibly cut in the middle, possibly ending without the final
//! blank line. Events are yielded in order with their `event:` type (Responses API streams) and
//! their joined `data:` lines; a trailing event without its blank line is still yielded, because
//! the tail of a truncated body is where the usage chunk lives.

use std::borrow::Cow;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field, if the stream used one.
    pub event: Option<&'a str>,
    /// The `data:` lines joined with `\n`.
    pub data: Cow<'a, str>,
}

/// True when a logged body is an event stream rather than a JSON document.
pub fn looks_like_sse(body: &str) -> bool {
    let t = body.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    t.starts_with("data:") || t.starts_with("event:") || t.starts_with(':') || t.starts_with("id:")
}

/// Iterates the events of an event-stream body.
pub fn events(body: &str) -> Events<'_> {
    Events {
        rest: body.strip_prefix('\u{feff}').unwrap_or(body),
    }
}

/// Iterates the events of text that starts just after a blank line of an event-stream body
/// (the parser's state is fresh there): the last events of that body, read alike. Unlike
/// [`events`], a byte-order mark is not stripped, since only the body's first line may have one.
pub(crate) fn events_after_blank_line(text: &str) -> Events<'_> {
    Events { rest: text }
}

/// Iterator returned by [`events`].
pub struct Events<'a> {
    rest: &'a str,
}

fn next_line(s: &str) -> Option<(&str, &str)> {
    if s.is_empty() {
        return None;
    }
    // Byte search: '\r' and '\n' never occur inside a multi-byte UTF-8 sequence.
    match memchr::memchr2(b'\r', b'\n', s.as_bytes()) {
        None => Some((s, "")),
        Some(i) => {
            let line = &s[..i];
            let after = if s[i..].starts_with("\r\n") {
                i + 2
            } else {
                i + 1
            };
            Some((line, &s[after..]))
        }
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = SseEvent<'a>;

    fn next(&mut self) -> Option<SseEvent<'a>> {
        let mut event: Option<&'a str> = None;
        let mut data: Option<Cow<'a, str>> = None;
        while let Some((line, rest)) = next_line(self.rest) {
            self.rest = rest;
            if line.is_empty() {
                if let Some(data) = data.take() {
                    return Some(SseEvent { event, data });
                }
                event = None;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.find(':') {
                Some(i) => {
                    let v = &line[i + 1..];
                    (&line[..i], v.strip_prefix(' ').unwrap_or(v))
                }
                None => (line, ""),
            };
            match field {
                "data" => {
                    data = Some(match data {
                        None => Cow::Borrowed(value),
                        Some(prev) => {
                            let mut s = prev.into_owned();
                            s.push('\n');
                            s.push_str(value);
                            Cow::Owned(s)
                        }
                    });
                }
                "event" => event = Some(value),
                _ => {}
            }
        }
        data.map(|data| SseEvent { event, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_lines_are_dispatched_on_blank_lines() {
        let body = "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
        let got: Vec<_> = events(body).map(|e| e.data.into_owned()).collect();
        assert_eq!(got, vec!["{\"a\":1}", "{\"b\":2}", "[DONE]"]);
    }

    #[test]
    fn typed_events_keep_their_event_name() {
        let body = "event: response.created\r\ndata: {}\r\n\r\nevent: response.completed\r\ndata: {\"x\":1}\r\n\r\n";
        let got: Vec<_> = events(body).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].event, Some("response.created"));
        assert_eq!(got[1].event, Some("response.completed"));
        assert_eq!(got[1].data, "{\"x\":1}");
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_still_yielded() {
        let got: Vec<_> = events("data: 1\n\ndata: 2")
            .map(|e| e.data.into_owned())
            .collect();
        assert_eq!(got, vec!["1", "2"]);
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines_and_comments_are_ignored() {
        let got: Vec<_> = events(": keep-alive\ndata: a\ndata: b\n\n")
            .map(|e| e.data.into_owned())
            .collect();
        assert_eq!(got, vec!["a\nb"]);
    }

    #[test]
    fn json_bodies_are_not_taken_for_streams() {
        assert!(!looks_like_sse("{\"data\": 1}"));
        assert!(looks_like_sse("\n data: {}"));
        assert!(looks_like_sse("event: response.created\n"));
    }
}
