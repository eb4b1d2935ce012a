//! chargeback-billing: what the ledger says — pure, no async, no network.
//!
//! Layout:
//! - `ledger` — reading ledger files (usage-record JSON lines) line by line; unreadable lines are
//!   reported by position, never by content; the rows `chargeback resend` must send again.
//! - `report` — aggregation deduplicated by `requestId`, grouped by consumer, model, deployment,
//!   operation, day or month, rendered as a table, CSV or JSON (`chargeback report`, `replay
//!   --summary`).
//! - `calls` — a billable call with exact cost per token kind ([`Call`], [`call_of`]) and the
//!   deduplication that counts identical and conflicting repeats ([`Dedupe`]).
//! - `provisioned` — PTU months split over consumers by weighted tokens ([`allocate_months`]).
//! - `statement` — calls → the statements crate's [`chargeback_statements::Statement`]s and
//!   overview ([`build_statements`]), budgets evaluated on the period's spend.
//! - `focus` — calls and provisioned months → FOCUS 1.2 rows ([`focus_rows`]).

#![warn(unreachable_pub)]

mod calls;
mod focus;
mod ledger;
mod provisioned;
mod report;
mod statement;

pub use calls::{call_of, party_of, Call, CallCost, Dedupe};
pub use focus::{focus_provisioned, focus_rows};
pub use ledger::{read_ledger, BadLine, LedgerCounts, Undelivered};
pub use provisioned::{allocate_months, is_provisioned, months_of, ProvisionedMonth, Share};
pub use report::{render_csv, render_json, render_table, Aggregator, GroupBy, Row};
pub use statement::{
    build_overview, build_statements, evaluate_budgets, group_key, implied_rate, party_by,
    Grouping, OverviewInput, StatementContext, StatementSet, RATE_UNIT_TOKENS,
};
