//! `chargeback report`: ledgers aggregated by `chargeback-billing`, rendered as a table, CSV or
//! JSON.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

use chargeback_billing::{render_csv, render_json, render_table, Aggregator, GroupBy};

use super::read_ledgers;
use super::source::SelectArgs;

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// Ledger files (usage-record JSON lines), `-` or none for stdin, or container URLs
    /// (`https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]`).
    files: Vec<PathBuf>,
    #[command(flatten)]
    select: SelectArgs,
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
    let read = read_ledgers(&a.files, &a.select.selection()?, "chargeback", |r| {
        agg.add(&r);
    })?;
    let bad_lines = read.counts.unreadable;
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
            agg.duplicates, agg.non_billable, bad_lines
        )?;
    }
    // Exit scheme: 3 when lines were skipped or blobs could not be read.
    Ok(if bad_lines > 0 || read.unreadable_blobs > 0 {
        3
    } else {
        0
    })
}
