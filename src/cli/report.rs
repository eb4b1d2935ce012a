//! `chargeback report`: ledgers aggregated by `chargeback-billing`, rendered as a table, CSV or
//! JSON.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

use chargeback_billing::{render_csv, render_json, render_table, Aggregator, GroupBy};

use super::exit::{Outcome, Outcomes};
use super::read_ledgers;

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// Ledger files (usage-record JSON lines); `-` or none reads stdin.
    files: Vec<PathBuf>,
    /// Grouping, in order (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "consumer,model,month"
    )]
    by: Vec<GroupBy>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub(crate) fn report(a: ReportArgs) -> Result<i32> {
    if a.by.is_empty() {
        bail!("--by needs at least one of consumer, model, deployment, operation, day, month");
    }
    let mut agg = Aggregator::new(a.by.clone());
    let counts = read_ledgers(&a.files, "chargeback report", |r| {
        agg.add(&r);
    })?;
    let bad_lines = counts.unreadable;
    let headers = agg.headers();
    let rows = agg.rows();
    let text = match a.format {
        Format::Table => render_table(&headers, &rows),
        Format::Csv => render_csv(&headers, &rows),
        Format::Json => render_json(&headers, &rows),
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if let Format::Table = a.format {
        writeln!(
            out,
            "\n{} duplicate requestIds ignored, {} non-billable rows ignored, {} unreadable lines",
            counts.duplicates(),
            agg.non_billable,
            bad_lines
        )?;
    }
    eprintln!(
        "chargeback report: {} duplicate requestIds ignored: {} identical, {} conflicting (first row read wins); {} unreadable lines skipped",
        counts.duplicates(), counts.duplicates_identical, counts.duplicates_conflicting, bad_lines
    );
    let mut outcomes = Outcomes::default();
    outcomes.count(Outcome::Rejects, bad_lines, "unreadable lines skipped");
    Ok(outcomes.finish("chargeback report"))
}
