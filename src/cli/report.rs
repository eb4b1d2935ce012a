//! `chargeback report`: ledgers aggregated by `chargeback-billing` (pay-as-you-go as recorded or
//! re-priced, provisioned cost allocated with `--price-sheet`), rendered as a table, CSV, JSON,
//! the HTML overview or a FOCUS 1.2 export; budgets judged with `--budgets`.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use chargeback_billing::{
    build_overview, evaluate_budgets, focus_provisioned, focus_rows, months_of, party_by,
    render_csv, render_json, render_table, share_keys, unallocated_party, Aggregator, Call,
    GroupBy, Grouping, OverviewInput, StatementContext,
};
use chargeback_statements::{render_focus_csv, render_overview_html, BudgetStatus, FocusContext};

use super::bill::{
    budget_outcome, latest_month, ledger_outcomes, one_currency, Bill, BillArgs, Ledger, Pricing,
};
use super::SelectArgs;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
    /// The overview page (self-contained HTML, inline SVG charts) for the --by grouping.
    Html,
    /// FOCUS 1.2 cost-and-usage CSV (docs/focus.md); --by does not apply.
    Focus,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// Ledger files (usage-record JSON lines), `-` or none for stdin, or container URLs
    /// (`https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]`).
    files: Vec<PathBuf>,
    #[command(flatten)]
    select: SelectArgs,
    /// Grouping, in order (comma-separated): consumer, model (the priced name), deployment,
    /// operation, day, month, costCenter, team (the last two from --consumers).
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
    #[command(flatten)]
    bill: BillArgs,
}

const PREFIX: &str = "chargeback report";

pub(crate) fn report(a: ReportArgs) -> Result<i32> {
    if a.by.is_empty() {
        bail!("--by needs at least one of consumer, model, deployment, operation, day, month, costCenter, team");
    }
    let bill = a.bill.load()?;
    let ledger = bill.read(&a.files, &a.select.selection()?, PREFIX)?;
    let mut outcomes = ledger_outcomes(&ledger, PREFIX);
    let calls = bill.calls(&ledger.records);
    let pricing = bill.pricing(&calls, &months_of(&calls))?;
    bill.warn_unmapped(&ledger.records, PREFIX);
    let budgets = budget_statuses(&bill, &calls, &pricing)?;
    let text = match a.format {
        Format::Table | Format::Csv | Format::Json => rows_text(&a, &bill, &ledger, &pricing),
        Format::Html => {
            one_currency(&calls, &pricing.currency)?;
            overview_html(&a.by, &calls, &ledger, &pricing, budgets.clone())
        }
        Format::Focus => {
            one_currency(&calls, &pricing.currency)?;
            let ctx = FocusContext::azure_openai(
                "aoai-chargeback",
                "Azure OpenAI chargeback",
                &pricing.currency,
                &pricing.version,
            );
            render_focus_csv(
                &ctx,
                &focus_rows(&calls),
                &focus_provisioned(&pricing.provisioned),
            )
            .context("cannot write the FOCUS export")?
        }
    };
    io::stdout().lock().write_all(text.as_bytes())?;
    budget_outcome(&budgets, PREFIX, &mut outcomes);
    Ok(outcomes.finish(PREFIX))
}

/// The table, CSV or JSON: recorded (or re-priced) costs per group and currency, provisioned
/// shares added to the group of their consumer, deployment and month (on the month's first day,
/// operation `-`), unallocated months under `(unallocated)`.
fn rows_text(a: &ReportArgs, bill: &Bill, ledger: &Ledger, pricing: &Pricing) -> String {
    let sheet = bill
        .sheet
        .clone()
        .or_else(|| chargeback_core::PriceSheet::embedded().ok());
    let mut agg = Aggregator::with_sheet(a.by.clone(), sheet);
    if let Some(c) = &bill.consumers {
        agg = agg.with_consumers(c.clone());
    }
    if !pricing.provisioned_names.is_empty() {
        agg = agg.with_allocation(&pricing.currency, pricing.provisioned_names.iter().cloned());
    }
    for r in &ledger.records {
        agg.add(r);
    }
    for pm in &pricing.provisioned {
        for s in &pm.shares {
            let keys = share_keys(&a.by, pm, &s.consumer);
            agg.add_allocated(keys, &pricing.currency, s.amount);
        }
        if !pm.unallocated.is_zero() {
            let keys = share_keys(&a.by, pm, &unallocated_party());
            agg.add_allocated(keys, &pricing.currency, pm.unallocated);
        }
    }
    let headers = agg.headers();
    let rows = agg.rows();
    match a.format {
        Format::Csv => render_csv(&headers, &rows),
        Format::Json => render_json(&headers, &rows),
        _ => {
            let mut t = render_table(&headers, &rows);
            t.push_str(&format!(
                "\n{} duplicate requestIds ignored, {} non-billable rows ignored, {} unreadable lines\n",
                ledger.read.counts.duplicates(),
                agg.non_billable,
                ledger.read.counts.unreadable
            ));
            t
        }
    }
}

fn overview_html(
    by: &[GroupBy],
    calls: &[Call],
    ledger: &Ledger,
    pricing: &Pricing,
    budgets: Vec<BudgetStatus>,
) -> String {
    let group = |c: &Call| party_by(by, c);
    let headers: Vec<&str> = by.iter().map(|g| g.header()).collect();
    render_overview_html(&build_overview(
        calls,
        OverviewInput {
            period: None,
            group_label: headers.join(" · "),
            group: &group,
            currency: pricing.currency.clone(),
            price_sheet_version: pricing.version.clone(),
            duplicates: ledger.duplicates(),
            provisioned: &pricing.provisioned,
            provisioned_deployments: &pricing.provisioned_names,
            budgets,
        },
    ))
}

/// Budgets judged on the ledger's latest month (pay-as-you-go + allocated).
fn budget_statuses(bill: &Bill, calls: &[Call], pricing: &Pricing) -> Result<Vec<BudgetStatus>> {
    let Some(budgets) = &bill.budgets else {
        return Ok(Vec::new());
    };
    let Some(latest) = latest_month(calls) else {
        return Ok(budgets.evaluate(&[])?);
    };
    eprintln!("{PREFIX}: budgets judged on {latest}, the ledger's latest month");
    let ctx = StatementContext {
        period: latest,
        grouping: Grouping::Consumer,
        currency: pricing.currency.clone(),
        price_sheet_version: pricing.version.clone(),
        duplicates: Default::default(),
        provisioned: &pricing.provisioned,
        provisioned_deployments: pricing.provisioned_names.clone(),
        budgets: Some(budgets),
    };
    Ok(evaluate_budgets(calls, &ctx)?)
}
