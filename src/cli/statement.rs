//! `chargeback statement`: a month's statements — one self-contained HTML page and a CSV of its
//! lines per consumer, cost center or team, plus `index.html` with the overview.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use chargeback_billing::{build_statements, Grouping, StatementContext};
use chargeback_statements::{write_statement_set, YearMonth};

use super::bill::{budget_outcome, ledger_outcomes, one_currency, BillArgs};
use super::Selection;

#[derive(Clone, Copy, ValueEnum)]
enum By {
    Consumer,
    #[value(name = "costCenter", alias = "cost-center")]
    CostCenter,
    Team,
}

#[derive(Args)]
pub(crate) struct StatementArgs {
    /// Ledger files (usage-record JSON lines), `-` or none for stdin, or container URLs
    /// (`https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]`).
    files: Vec<PathBuf>,
    /// The UTC calendar month, `YYYY-MM`: records are selected by their eventTime (a container
    /// is listed from the month's first day to the backlog days after its end).
    #[arg(long, value_name = "YYYY-MM", value_parser = parse_period)]
    period: YearMonth,
    /// Directory to write index.html and one .html + .csv per statement into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// One statement per consumer (default), per cost center or per team (from --consumers).
    #[arg(long, value_enum, default_value = "consumer")]
    by: By,
    #[command(flatten)]
    bill: BillArgs,
}

fn parse_period(s: &str) -> Result<YearMonth, String> {
    YearMonth::parse(s).ok_or_else(|| format!("{s:?} is not a month (YYYY-MM)"))
}

const PREFIX: &str = "chargeback statement";

pub(crate) fn statement(a: StatementArgs) -> Result<i32> {
    let bill = a.bill.load()?;
    let select = Selection::period(&a.period.to_string())?;
    let ledger = bill.read(&a.files, &select, PREFIX)?;
    let mut outcomes = ledger_outcomes(&ledger, PREFIX);
    let calls = bill.calls(&ledger.records);
    let pricing = bill.pricing(&calls, &[a.period])?;
    one_currency(&calls, &pricing.currency)?;
    bill.warn_unmapped(&ledger.records, PREFIX);
    let ctx = StatementContext {
        period: a.period,
        grouping: match a.by {
            By::Consumer => Grouping::Consumer,
            By::CostCenter => Grouping::CostCenter,
            By::Team => Grouping::Team,
        },
        currency: pricing.currency.clone(),
        price_sheet_version: pricing.version.clone(),
        duplicates: ledger.duplicates(),
        provisioned: &pricing.provisioned,
        provisioned_deployments: pricing.provisioned_names.clone(),
        budgets: bill.budgets.as_ref(),
    };
    let set = build_statements(&calls, &ctx)?;
    let written = write_statement_set(&a.out, &set.overview, &set.statements)
        .with_context(|| format!("cannot write the statements to {}", a.out.display()))?;
    eprintln!(
        "{PREFIX}: {} statements for {} written to {} ({} files)",
        set.statements.len(),
        a.period,
        a.out.display(),
        written.len()
    );
    budget_outcome(&set.overview.budgets, PREFIX, &mut outcomes);
    Ok(outcomes.finish(PREFIX))
}
