//! chargeback-billing: what the ledger says — pure, no async, no network.
//!
//! Layout:
//! - `ledger` — reading ledger files (usage-record JSON lines) line by line; unreadable lines are
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
pub use ledger::{read_ledger, BadLine, LedgerCounts, Undelivered};
pub use report::{
    render_csv, render_json, render_table, totals, Aggregator, GroupBy, Row, COST_DECIMALS,
    UNMAPPED,
};
