//! The whole core: one raw event in, one outcome or a clean error out; totals always add up.
#![no_main]

use std::sync::OnceLock;

use chargeback_core::{process_event, EngineConfig, Outcome, Trace};
use libfuzzer_sys::fuzz_target;

fn cfg() -> &'static EngineConfig {
    static CFG: OnceLock<EngineConfig> = OnceLock::new();
    CFG.get_or_init(|| EngineConfig {
        record_non_billable: true,
        ..EngineConfig::default()
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data) {
        if let Ok(Outcome::Record(r)) = process_event(raw, &Trace::default(), cfg()) {
            assert_eq!(
                r.total_tokens,
                r.prompt_tokens.saturating_add(r.completion_tokens)
            );
            assert!(r.billable || r.total_tokens == 0);
        }
    }
});
