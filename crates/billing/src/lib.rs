//! chargeback-billing: what the ledger says — pure, no async, no network.
//!
//! Layout:
//! - `ledger` — the one ledger reader: named inputs read as bytes, every line on its own (an
//!   unreadable line is a counted skip reported by source and line, never by content), deduplicated
//!   by `requestId` (first wins) counting identical and conflicting duplicates; unreadable lines are
//!   reported by position, never by content; the rows `chargeback resend` must send again.
//! - `consumers` — the `--consumers` CSV: cost centers, teams, display names, by precedence.
//! - `report` — aggregation deduplicated by `requestId`, grouped by consumer, model, deployment,
//!   operation, day or month, rendered as a table, CSV or JSON (`chargeback report`, `replay
//!   --summary`).

#![warn(unreachable_pub)]

mod consumers;
mod ledger;
mod report;

pub use consumers::{ConsumerEntry, ConsumerMap, ConsumersError, MatchOn};
pub use ledger::{BadLine, BadLineKind, LedgerCounts, LedgerReader, Undelivered};
pub use report::{
    render_csv, render_json, render_table, totals, Aggregator, GroupBy, Row, COST_DECIMALS,
    UNMAPPED,
};
