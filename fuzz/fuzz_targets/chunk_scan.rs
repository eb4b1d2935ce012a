//! The chunk scanner against the serde chunk reader: on any chunk text, and on every chunk of
//! any event-stream body, the scanner either declines or reads exactly what serde reads.
#![no_main]

use chargeback_core::differential::{chunk_readers_agree, stream_chunks_agree};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = chunk_readers_agree(text.trim()) {
            panic!("chunk readers disagree: {e}");
        }
        if let Err(e) = stream_chunks_agree(text) {
            panic!("chunk readers disagree in a stream: {e}");
        }
    }
});
