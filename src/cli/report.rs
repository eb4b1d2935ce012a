//! `chargeback report`: ledgers aggregated by `chargeback-billing`, rendered as a table, CSV or
//! JSON.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

use chargeback_billing::{render_csv, render_json, render_table, Aggregator, GroupBy};

use super::bill::BillView;
use super::read_ledgers;
use chargeback_core::UsageRecord;

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
    /// The overview page (HTML with inline SVG charts) for the --by grouping.
    Html,
    /// FOCUS 1.2 cost-and-usage CSV (docs/focus.md).
    Focus,
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
    /// Budgets file (JSON, docs/budgets.md): budget, spent, share and thresholds crossed of the
    /// ledger's latest month on stderr (and in the HTML); exit 4 when one is exceeded.
    #[arg(long, value_name = "FILE")]
    budgets: Option<PathBuf>,
}

pub(crate) fn report(a: ReportArgs, sheet: Option<&Path>) -> Result<i32> {
    if a.by.is_empty() {
        bail!("--by needs at least one of consumer, model, deployment, operation, day, month");
    }
    if matches!(a.format, Format::Html | Format::Focus) || a.budgets.is_some() {
        let html = matches!(a.format, Format::Html);
        let focus = matches!(a.format, Format::Focus);
        let view = BillView {
            by: &a.by,
            budgets: a.budgets.as_deref(),
            sheet,
        };
        if html || focus {
            return view.render(&a.files, focus);
        }
        // Budgets with a text format: the table as usual, then the budgets' verdict.
        let mut kept = Vec::new();
        let code = report_text(&a, Some(&mut kept))?;
        return Ok(code.max(view.budgets_only(kept)?));
    }
    report_text(&a, None)
}

fn report_text(a: &ReportArgs, mut keep: Option<&mut Vec<UsageRecord>>) -> Result<i32> {
    let mut agg = Aggregator::new(a.by.clone());
    let bad_lines = read_ledgers(&a.files, "chargeback", |r| {
        if agg.add(&r) {
            if let Some(k) = keep.as_deref_mut() {
                k.push(r);
            }
        }
    })?
    .unreadable;
    let headers = agg.headers();
    let rows = agg.rows();
    let text = match a.format {
        Format::Table => render_table(&headers, &rows),
        Format::Csv => render_csv(&headers, &rows),
        Format::Json => render_json(&headers, &rows),
        Format::Html | Format::Focus => String::new(),
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if let Format::Table = a.format {
        writeln!(
            out,
            "\n{} duplicate requestIds ignored, {} non-billable rows ignored, {} unreadable lines",
            agg.duplicates, agg.non_billable, bad_lines
        )?;
    }
    Ok(if bad_lines > 0 { 1 } else { 0 })
}
