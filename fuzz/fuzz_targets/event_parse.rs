//! The APIM event parser (v2 and legacy v1) on arbitrary text.
#![no_main]

use chargeback_core::parse_event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(ev) = parse_event(text) {
            assert!(!ev.request_id.is_empty());
        }
    }
});
