//! `chargeback resend` (and `replay --resend`): ledger rows marked `telemetryUndelivered` sent to
//! Application Insights again. The rows are picked by `chargeback-billing`, sent by
//! `chargeback-appinsights`; this file reads the files and prints.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use chargeback_appinsights::AppInsights;
use chargeback_billing::Undelivered;
use chargeback_core::json_lines;

use super::exit::Outcome;
use super::{init_tracing, read_ledgers, SelectArgs, Selection};

#[derive(Args)]
pub(crate) struct ResendArgs {
    /// Ledger files (usage-record JSON lines), `-` or none for stdin, or container URLs.
    pub(crate) files: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
}

pub(crate) fn resend(files: &[PathBuf], select: &Selection) -> Result<i32> {
    init_tracing();
    let Some(sink) = AppInsights::from_env().context("cannot start telemetry")? else {
        eprintln!(
            "chargeback resend: telemetry is not configured: set APPLICATIONINSIGHTS_CONNECTION_STRING \
             (and, for Entra authentication, APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD \
             with IDENTITY_ENDPOINT/IDENTITY_HEADER) to resend; nothing was sent"
        );
        return Ok(Outcome::Failed.code());
    };
    let mut marked = Undelivered::default();
    let read = read_ledgers(files, select, "chargeback resend", |r| marked.add(r))?;
    let counts = read.counts;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let resent = runtime.block_on(sink.resend(&marked.rows));
    let remaining = &resent.remaining;
    let mut out = io::stdout().lock();
    match out
        .write_all(json_lines(remaining).as_bytes())
        .and_then(|()| out.flush())
    {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            return Err(e).context("cannot write output")
        }
        _ => {}
    }
    eprintln!(
        "chargeback resend: {} ledger rows read, {} marked telemetryUndelivered \
         ({} duplicate requestIds skipped); {} accepted, {} still undelivered, {} refused \
         permanently, in {} requests; {} unreadable lines",
        counts.rows,
        marked.rows.len(),
        marked.duplicates + counts.duplicates(),
        resent.accepted,
        resent.undelivered,
        resent.dropped,
        resent.requests,
        counts.unreadable
    );
    if !remaining.is_empty() {
        eprintln!(
            "chargeback resend: {} rows remain undelivered; they were printed on stdout (keep them \
             and resend later)",
            remaining.len()
        );
    }
    let mut outcomes = read.outcomes();
    outcomes.count(
        Outcome::Failed,
        remaining.len() as u64,
        "rows still undelivered",
    );
    Ok(outcomes.finish("chargeback resend"))
}
