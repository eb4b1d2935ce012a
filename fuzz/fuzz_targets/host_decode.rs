//! The custom-handler invocation decoder on arbitrary bytes, then the batch through the core.
#![no_main]

use std::sync::OnceLock;

use aoai_chargeback::engine::EngineConfig;
use aoai_chargeback::host::{decode_invocation, process_invocation, response_body};
use libfuzzer_sys::fuzz_target;

fn cfg() -> &'static EngineConfig {
    static CFG: OnceLock<EngineConfig> = OnceLock::new();
    CFG.get_or_init(EngineConfig::default)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(inv) = decode_invocation(data) {
        let _ = inv.sequence_range();
        let result = process_invocation(&inv, Some("fuzz"), cfg());
        assert_eq!(
            result.records.len() + result.dead_letters.len() + result.skipped_total(),
            inv.events.len()
        );
        let _ = response_body(&result.records, &result.dead_letters, Vec::new());
    }
});
