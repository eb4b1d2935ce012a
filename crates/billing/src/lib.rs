//! chargeback-billing: what the ledger says — pure, no async, no network.
//!
//! Layout:
//! - `ledger` — the one ledger reader: named inputs read as bytes, every line on its own (an
//!   unreadable line is a counted skip reported by source and line, never by content), deduplicated
//!   by `requestId` (first wins) counting identical and conflicting duplicates; unreadable lines are
//!   reported by position, never by content; the rows `chargeback resend` must send again.
//! - `calls` — a billable call with exact cost per token kind ([`Call`], [`call_of`]).
//! - `provisioned` — PTU months split over consumers by weighted tokens ([`allocate_months`]).
//! - `reprice` — a record priced again from its tokens, date and deployment type ([`reprice`]).
//! - `statement` — calls → the statements crate's statements and overview
//!   ([`build_statements`]), budgets evaluated on the period's spend.
//! - `focus` — calls and provisioned months → FOCUS 1.2 rows ([`focus_rows`]).
//! - `consumers` — the `--consumers` CSV: cost centers, teams, display names, by precedence.
//! - `report` — aggregation deduplicated by `requestId`, grouped by consumer, model, deployment,
//!   operation, day or month, rendered as a table, CSV or JSON (`chargeback report`, `replay
//!   --summary`).

#![warn(unreachable_pub)]

mod calls;
mod consumers;
mod focus;
mod ledger;
mod provisioned;
mod report;
mod reprice;
mod statement;

pub use calls::{call_of, party_of, Call, CallCost};
pub use consumers::{ConsumerEntry, ConsumerMap, ConsumersError, MatchOn};
pub use focus::{focus_provisioned, focus_rows};
pub use ledger::{BadLine, BadLineKind, LedgerCounts, LedgerReader, Undelivered};
pub use provisioned::{allocate_months, is_provisioned, months_of, ProvisionedMonth, Share};
pub use report::{
    render_csv, render_json, render_table, totals, Aggregator, GroupBy, ModelNames, Row,
    COST_DECIMALS, UNMAPPED,
};
pub use reprice::reprice;
pub use statement::{
    build_overview, build_statements, evaluate_budgets, group_key, implied_rate, party_by,
    share_keys, unallocated_party, Grouping, OverviewInput, StatementContext, StatementSet,
    RATE_UNIT_TOKENS, UNALLOCATED,
};
