//! Dead letters: the events that could not be read, kept (a bounded, redacted prefix) with
//! where they came from.

use serde::Serialize;

use crate::engine::Trace;

/// A dead letter keeps at most this much of the raw event.
pub const DEADLETTER_RAW_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enqueued_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// The input it was read from (`chargeback replay`: a file path or `<stdin>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Its 1-based line in `source` (for a whole-document input, the line the document starts on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Byte length of the whole raw event.
    pub raw_bytes: usize,
    /// True when `raw` holds only the first [`DEADLETTER_RAW_LIMIT`] bytes.
    pub raw_truncated: bool,
    /// The raw event (or its prefix), with any key, token or secret value replaced.
    pub raw: String,
}

impl DeadLetter {
    pub fn new(reason: String, raw: &str, trace: &Trace) -> DeadLetter {
        let mut cut = raw.len().min(DEADLETTER_RAW_LIMIT);
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        DeadLetter {
            reason,
            partition_id: trace.partition_id.clone(),
            sequence_number: trace.sequence_number,
            enqueued_time: trace.enqueued_time.clone(),
            invocation_id: trace.invocation_id.clone(),
            source: None,
            line: None,
            raw_bytes: raw.len(),
            raw_truncated: cut < raw.len(),
            raw: chargeback_redact::redact(&raw[..cut]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_keeps_a_bounded_prefix_cut_on_a_char_boundary() {
        let raw = "é".repeat(DEADLETTER_RAW_LIMIT);
        let d = DeadLetter::new("x".into(), &raw, &Trace::default());
        assert!(d.raw_truncated);
        assert!(d.raw.len() <= DEADLETTER_RAW_LIMIT);
        assert_eq!(d.raw_bytes, raw.len());
    }
}
