//! Sending ledger rows again (`chargeback resend`): the rows a handler could not deliver, in
//! chunks, each chunk with its own delivery budget.

use chargeback_core::UsageRecord;

use crate::client::AppInsights;

/// Ledger rows sent per `send` call (each gets its own delivery budget).
pub const RESEND_CHUNK: usize = 1000;

/// What a resend achieved, summed over its chunks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resent {
    pub accepted: usize,
    /// Rows still undelivered but worth sending again later.
    pub undelivered: usize,
    /// Rows ingestion refused for good.
    pub dropped: usize,
    /// HTTP requests made.
    pub requests: u32,
    /// Every row not accepted (undelivered or dropped), in input order, to keep for later.
    pub remaining: Vec<UsageRecord>,
}

impl AppInsights {
    /// Sends `rows` in chunks of [`RESEND_CHUNK`], each within its own deadline.
    pub async fn resend(&self, rows: &[UsageRecord]) -> Resent {
        let mut resent = Resent::default();
        for chunk in rows.chunks(RESEND_CHUNK) {
            let report = self.send(chunk, None, self.deadline_from_now()).await;
            resent.accepted += report.accepted;
            resent.undelivered += report.undelivered.len();
            resent.dropped += report.dropped.len();
            resent.requests += report.requests;
            resent.remaining.extend(
                report
                    .not_delivered()
                    .into_iter()
                    .filter_map(|i| chunk.get(i).cloned()),
            );
        }
        resent
    }
}
