//! Usage from the tail of a stream: the usage chunk (or a Responses stream's terminal event) is
//! found by walking the stream's events from its end, and only the few chunks the record needs
//! are parsed — the usage chunk, and the first chunks until the model and operation are known.
//!
//! The answer is the full pass's answer (`stream::scan_stream`), or `None`, in which case the
//! full pass runs. The full pass lets the last chunk that carries a usage win (a chunk's own
//! `usage`, else the `response.usage` of a Responses terminal event), takes the model and the
//! operation from the first chunks that name them, and skips a chunk that does not parse. The
//! tail lookup keeps each of those rules:
//! - Events are cut at blank lines only. After a blank line the event-stream parser's state is
//!   fresh, so the events of the text after a blank line are exactly the last events of the
//!   whole body; walking those pieces from the end visits the events in reverse order.
//! - The first event from the end whose chunk parses and carries a usage is the last such event.
//! - The head is read in order with the full pass's own per-chunk rule until both the model and
//!   the operation are set (they are never changed afterwards).
//!
//! What the tail lookup does not learn is whether some chunk in the middle is damaged; that only
//! matters to a fallback count, which never happens once a usage is known.

use crate::body::{boundary_at_or_after, decode};
use crate::response::{ChunkHead, ResponseFacts, Usage};
use crate::sse;
use crate::stream::{chunk_facts, chunk_usage, read_chunk, Readers};

/// The facts of a stream that carries a usage, read from its tail and head; `None` when no
/// chunk carries one (the full pass then reads everything, texts included).
pub(crate) fn facts_from_tail(body: &str) -> Option<ResponseFacts> {
    let usage = last_usage(body, true)?;
    Some(with_usage(head_facts(body), usage))
}

/// [`facts_from_tail`] of the decoded text of an escaped body (`body`), decoding only windows of
/// it: a window at the end that grows until it holds the usage, and one at the start that grows
/// until it holds the model and the operation.
/// - A window at the end starts somewhere in an event. The first piece of its decoded text (up
///   to its first blank line) is not read: the events after that blank line are exactly the
///   last events of the whole body. A window that reaches the start is the whole body.
/// - A window at the start is read up to its last complete run of line ends that holds a blank
///   line: the events before it are exactly the first events of the whole body.
pub(crate) fn facts_from_escaped_tail(raw: &str) -> Option<ResponseFacts> {
    let usage = grow(2 * 1024, |size| {
        let start = boundary_at_or_after(raw, raw.len().saturating_sub(size));
        let window = decode(raw.get(start..).unwrap_or_default());
        match last_usage(&window, start == 0) {
            Some(u) => Done(Some(u)),
            None if start == 0 => Done(None),
            None => Grow,
        }
    })?;
    let head = grow(2 * 1024, |size| {
        let end = boundary_at_or_after(raw, size);
        let window = decode(raw.get(..end).unwrap_or_default());
        let whole = end == raw.len();
        let events = if whole {
            &window[..]
        } else {
            let last_piece = pieces_from_end(&window).next().unwrap_or_default();
            &window[..window.len() - last_piece.len()]
        };
        let facts = head_facts(events);
        if whole || (facts.model.is_some() && facts.operation.is_some()) {
            Done(facts)
        } else {
            Grow
        }
    });
    Some(with_usage(head, usage))
}

/// What one window gave: the answer, or a larger window is needed.
enum Window<T> {
    Done(T),
    Grow,
}
use Window::{Done, Grow};

/// `read` over windows of `first` bytes, then four times as many each time, until it is done
/// (a window as large as the body always is).
fn grow<T>(first: usize, mut read: impl FnMut(usize) -> Window<T>) -> T {
    let mut size = first;
    loop {
        if let Done(answer) = read(size) {
            return answer;
        }
        size = size.saturating_mul(4);
    }
}

/// The model and the operation from the first chunks that name them, read as the full pass
/// reads them.
fn head_facts(body: &str) -> ResponseFacts {
    let mut facts = ResponseFacts {
        is_stream: true,
        ..ResponseFacts::default()
    };
    for ev in sse::events(body) {
        if facts.model.is_some() && facts.operation.is_some() {
            break;
        }
        let Some(head) = parse_head(&ev.data) else {
            continue;
        };
        chunk_facts(&mut facts, head, ev.event);
    }
    facts
}

/// A stream's facts with the usage found in its tail.
fn with_usage(head: ResponseFacts, usage: Usage) -> ResponseFacts {
    ResponseFacts {
        usage: Some(usage),
        usage_from_stream: true,
        damaged: false,
        ..head
    }
}

/// A chunk's facts, `None` for `[DONE]`, an empty event, or a chunk whose facts the full pass
/// skips (it does not parse, or its `usage` or `response` has the wrong shape). Read by the same
/// readers as the full pass, so a chunk is skipped here exactly when it is skipped there.
fn parse_head(data: &str) -> Option<ChunkHead<'_>> {
    let data = data.trim();
    if data == "[DONE]" || data.is_empty() {
        return None;
    }
    read_chunk(data, Readers::Fast)?.head()
}

/// The usage of the last event that carries one. `text` is the whole body, or (`starts_body`
/// false) a part of its end whose first piece, up to its first blank line, is cut and not read.
fn last_usage(text: &str, starts_body: bool) -> Option<Usage> {
    for piece in pieces_from_end(text) {
        let first = piece.as_ptr() == text.as_ptr();
        if first && !starts_body {
            return None;
        }
        // Only the body's first piece starts at its start (where a byte-order mark is dropped).
        let events: Vec<sse::SseEvent<'_>> = if first {
            sse::events(piece).collect()
        } else {
            sse::events_after_blank_line(piece).collect()
        };
        for ev in events.iter().rev() {
            if !may_name_usage(&ev.data) {
                continue;
            }
            if let Some(u) = parse_head(&ev.data).and_then(|h| chunk_usage(h, ev.event)) {
                return Some(u);
            }
        }
    }
    None
}

/// False only when the text cannot hold a key that reads as `usage`: it has neither the word
/// nor a `\u` escape (the only escape that can spell a letter).
fn may_name_usage(data: &str) -> bool {
    let b = data.as_bytes();
    memchr::memmem::find(b, b"usage").is_some() || memchr::memmem::find(b, b"\\u").is_some()
}

/// The body cut after each blank line, last piece first. Every piece but the first starts just
/// after a run of line ends that holds a blank line.
fn pieces_from_end(body: &str) -> impl Iterator<Item = &str> {
    let bytes = body.as_bytes();
    let mut end = bytes.len();
    let mut search = bytes.len();
    std::iter::from_fn(move || {
        if end == 0 {
            return None;
        }
        while let Some(last) = memchr::memrchr2(b'\r', b'\n', &bytes[..search]) {
            let mut start = last;
            while start > 0 && matches!(bytes[start - 1], b'\r' | b'\n') {
                start -= 1;
            }
            search = start;
            let run = &bytes[start..=last];
            if run.len() >= 2 && run != b"\r\n" && last + 1 < end {
                let piece = &body[last + 1..end];
                end = last + 1;
                return Some(piece);
            }
        }
        let piece = &body[..end];
        end = 0;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_cut_after_blank_lines_only_last_piece_first() {
        let body = "data: a\n\ndata: b\r\n\r\ndata: c\ndata: d\r\nevent: x\r\rdata: e";
        let got: Vec<&str> = pieces_from_end(body).collect();
        assert_eq!(
            got,
            vec![
                "data: e",
                "data: c\ndata: d\r\nevent: x\r\r",
                "data: b\r\n\r\n",
                "data: a\n\n"
            ]
        );
        assert_eq!(got.concat().len(), body.len());
    }

    #[test]
    fn a_lone_crlf_is_one_line_end_not_a_blank_line() {
        let got: Vec<&str> = pieces_from_end("data: a\r\ndata: b\r\n").collect();
        assert_eq!(got, vec!["data: a\r\ndata: b\r\n"]);
    }

    #[test]
    fn the_last_chunk_with_a_usage_wins_and_a_damaged_tail_is_passed_over() {
        let body = concat!(
            "data: {\"model\":\"m\",\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\n",
            "data: {\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3}}\n\n",
            "data: {\"usage\":null}\n\n",
            "data: {\"usage\":{\"prompt_tokens\":9,\"compl"
        );
        let f = facts_from_tail(body).unwrap();
        assert_eq!(f.usage.map(|u| (u.prompt, u.completion)), Some((2, 3)));
        assert_eq!(f.model.as_deref(), Some("m"));
    }

    #[test]
    fn a_responses_usage_counts_only_on_a_terminal_event() {
        let body = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":\"gpt-4.1\",\"usage\":{\"input_tokens\":5}}}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":7,\"output_tokens\":2}}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"x\",\"response\":{\"usage\":{\"input_tokens\":9}}}\n\n",
        );
        let f = facts_from_tail(body).unwrap();
        assert_eq!(f.usage.map(|u| (u.prompt, u.completion)), Some((7, 2)));
        assert_eq!(f.model.as_deref(), Some("gpt-4.1"));
        assert_eq!(f.operation, Some(crate::record::ApiOperation::Responses));
    }

    #[test]
    fn the_escaped_tail_decodes_only_the_windows_it_reads_and_finds_what_the_full_pass_finds() {
        let mut body = String::from("data: {\"choices\":[],\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[]}\n\n");
        for i in 0..2000 {
            body.push_str(&format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"w{i} \\\"\"}},\"index\":0}}],\"model\":\"gpt-4o-2024-11-20\",\"object\":\"chat.completion.chunk\",\"usage\":null}}\n\n"));
        }
        body.push_str("data: {\"choices\":[],\"model\":\"gpt-4o-2024-11-20\",\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":2000}}\n\ndata: [DONE]\n\n");
        let quoted = serde_json::to_string(&body).unwrap();
        let raw = &quoted[1..quoted.len() - 1];
        crate::body::DECODED.with(|n| n.set(0));
        let fast = facts_from_escaped_tail(raw);
        let decoded = crate::body::DECODED.with(|n| n.get());
        assert_eq!(fast, facts_from_tail(&body));
        assert_eq!(fast.and_then(|f| f.usage).map(|u| u.completion), Some(2000));
        assert!(
            decoded < raw.len() / 10,
            "decoded {decoded} of {} escaped bytes",
            raw.len()
        );
    }

    /// The escaped contents of `body` as an event carries them.
    fn escaped(body: &str) -> String {
        let quoted = serde_json::to_string(body).unwrap();
        quoted[1..quoted.len() - 1].to_owned()
    }

    #[test]
    fn an_end_window_that_starts_inside_an_event_never_reads_that_event_in_part() {
        // The last event does not parse whole (two JSON documents), but its second data line
        // alone would: read from inside the event, it would give a usage of 99.
        let body = format!(
            "data: {{\"model\":\"m\",\"object\":\"chat.completion.chunk\",\"usage\":{{\"prompt_tokens\":7,\"completion_tokens\":1}}}}\n\n\
             data: {{\"x\":\"{}\"}}\ndata: {{\"usage\":{{\"prompt_tokens\":99,\"completion_tokens\":1}}}}\n\n",
            "y".repeat(3000)
        );
        let fast = facts_from_escaped_tail(&escaped(&body));
        assert_eq!(fast, facts_from_tail(&body));
        assert_eq!(fast.and_then(|f| f.usage).map(|u| u.prompt), Some(7));
    }

    #[test]
    fn a_start_window_is_read_only_up_to_its_last_whole_event() {
        // The first event does not parse whole, but its first line and the spaces of the
        // second would: read up to the window's end, it would give the model "a".
        let body = format!(
            "data: {{\"model\":\"a\",\"object\":\"chat.completion.chunk\"}}\ndata: {}x\n\n\
             data: {{\"model\":\"b\",\"object\":\"chat.completion.chunk\"}}\n\n\
             data: {{\"usage\":{{\"prompt_tokens\":5,\"completion_tokens\":1}}}}\n\n",
            " ".repeat(3000)
        );
        let fast = facts_from_escaped_tail(&escaped(&body));
        assert_eq!(fast, facts_from_tail(&body));
        assert_eq!(fast.and_then(|f| f.model).as_deref(), Some("b"));
    }

    #[test]
    fn a_stream_without_usage_has_no_tail_answer() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"usage\"}}],\"usage\":null}\n\ndata: [DONE]\n\n";
        assert_eq!(facts_from_tail(body), None);
    }
}
