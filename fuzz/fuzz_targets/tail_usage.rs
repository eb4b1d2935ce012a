//! Usage from the tail against the full pass: on any event-stream body, the facts and texts a
//! record uses are the same whichever path reads them.
#![no_main]

use chargeback_core::differential::stream_paths_agree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = std::str::from_utf8(data) {
        if let Err(e) = stream_paths_agree(body) {
            panic!("stream paths disagree: {e}");
        }
    }
});
