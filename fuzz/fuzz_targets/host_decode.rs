//! The custom-handler invocation decoder on arbitrary bytes, then the batch through the core; the
//! one-pass decoder must read every body exactly as the general decoder does.
#![no_main]

use std::sync::OnceLock;

use chargeback_core::EngineConfig;
use chargeback_core::{
    decode_invocation, decode_invocation_general, process_invocation, response_body,
};
use libfuzzer_sys::fuzz_target;

fn cfg() -> &'static EngineConfig {
    static CFG: OnceLock<EngineConfig> = OnceLock::new();
    CFG.get_or_init(EngineConfig::default)
}

fuzz_target!(|data: &[u8]| {
    let decoded = decode_invocation(data);
    match (&decoded, decode_invocation_general(data)) {
        (Ok(fast), Ok(general)) => assert_eq!(fast, &general, "the two decoders disagree"),
        (Err(_), Err(_)) => {}
        (fast, general) => panic!("the two decoders disagree: {fast:?} vs {general:?}"),
    }
    if let Ok(inv) = decoded {
        let _ = inv.sequence_range();
        let result = process_invocation(&inv, Some("fuzz"), cfg());
        assert_eq!(
            result.records.len() + result.dead_letters.len() + result.skipped_total(),
            inv.events.len()
        );
        let _ = response_body(&result.records, &result.dead_letters, Vec::new());
    }
});
