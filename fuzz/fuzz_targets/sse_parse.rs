//! The SSE parser and the response readers (usage, generated texts, JSON-prefix repair) on
//! arbitrary bodies.
#![no_main]

use chargeback_core::partial_json::{find_last_object_after_key, parse_prefix};
use chargeback_core::{analyze, completion_texts};
use chargeback_core::sse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = std::str::from_utf8(data) {
        let mut dispatched = 0usize;
        for ev in sse::events(body) {
            assert!(ev.data.len() <= body.len());
            dispatched += 1;
        }
        assert!(dispatched <= body.len() + 1);
        let _ = sse::looks_like_sse(body);
        let _ = analyze(body);
        let _ = completion_texts(body);
        let _ = parse_prefix(body);
        let _ = find_last_object_after_key(body, "usage");
    }
});
