//! `chargeback statement`: a month's statements (one HTML page and CSV per consumer, cost center
//! or team, plus `index.html`), and the ledger → calls → pricing glue `report --format
//! html|focus` and `--budgets` share with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use chargeback_billing::{
    allocate_months, build_statements, call_of, party_of, Call, Dedupe, Grouping, ProvisionedMonth,
    StatementContext,
};
use chargeback_pricing::{PriceSheet, ProvisionedDeployment};
use chargeback_statements::{
    any_exceeded, load_budgets, render_budget_lines, write_statement_set, BudgetStatus, Budgets,
    Duplicates, YearMonth,
};

use super::read_ledgers;

/// Exit code when a budget is exceeded (the scheme: 0 ok, 1 failed, 2 usage, 3 rejects, 4).
pub(super) const EXIT_BUDGET: i32 = chargeback_statements::EXIT_BUDGET_EXCEEDED;
/// Exit code when some lines could not be read.
pub(super) const EXIT_REJECTS: i32 = 3;

#[derive(Clone, Copy, ValueEnum)]
enum By {
    Consumer,
    CostCenter,
    Team,
}

#[derive(Args)]
pub(crate) struct StatementArgs {
    /// Ledger files (usage-record JSON lines); `-` or none reads stdin.
    files: Vec<PathBuf>,
    /// The UTC calendar month, `YYYY-MM`.
    #[arg(long, value_name = "YYYY-MM", value_parser = parse_period)]
    period: YearMonth,
    /// Directory to write index.html and one .html + .csv per statement into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// One statement per consumer (default), per cost center or per team.
    #[arg(long, value_enum, default_value = "consumer")]
    by: By,
    /// Budgets file (JSON: currency, monthly amount per consumer or cost center, thresholds);
    /// each statement shows its budget; exit 4 when one is exceeded.
    #[arg(long, value_name = "FILE")]
    budgets: Option<PathBuf>,
}

fn parse_period(s: &str) -> Result<YearMonth, String> {
    YearMonth::parse(s).ok_or_else(|| format!("{s:?} is not a month (YYYY-MM)"))
}

/// Deduplicated calls of the ledgers and what reading them saw.
pub(super) struct Ledger {
    pub(super) calls: Vec<Call>,
    pub(super) duplicates: Duplicates,
    pub(super) unreadable: u64,
}

pub(super) fn load_calls(files: &[PathBuf]) -> Result<Ledger> {
    let mut dedupe = Dedupe::default();
    let mut calls = Vec::new();
    let counts = read_ledgers(files, "chargeback", |r| {
        if dedupe.first(&r) {
            calls.extend(call_of(&r, party_of(&r)));
        }
    })?;
    Ok(Ledger {
        calls,
        duplicates: dedupe.duplicates,
        unreadable: counts.unreadable,
    })
}

/// The price sheet given with `--price-sheet` (for its version, currency and provisioned part).
pub(super) struct Pricing {
    pub(super) currency: String,
    pub(super) version: String,
    pub(super) scale: u32,
    pub(super) provisioned: BTreeMap<String, ProvisionedDeployment>,
}

impl Pricing {
    pub(super) fn load(sheet: Option<&Path>, calls: &[Call]) -> Result<Pricing> {
        if let Some(path) = sheet.filter(|p| !p.as_os_str().is_empty()) {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the price sheet {}", path.display()))?;
            let s = PriceSheet::from_json(&text)
                .with_context(|| format!("invalid price sheet {}", path.display()))?;
            return Ok(Pricing {
                currency: s.currency.code().to_string(),
                version: s.version.clone(),
                scale: s.currency.minor_unit_scale(),
                provisioned: s.provisioned,
            });
        }
        let costs = || calls.iter().filter_map(|c| c.cost.as_ref());
        let currency = costs().next().map_or("USD".into(), |c| c.currency.clone());
        let mut versions: Vec<&str> = costs().map(|c| c.price_sheet.as_str()).collect();
        versions.sort_unstable();
        versions.dedup();
        Ok(Pricing {
            scale: chargeback_pricing::minor_unit_scale(&currency),
            currency,
            version: versions.join(", "),
            provisioned: BTreeMap::new(),
        })
    }

    /// Lower-case names of the provisioned deployments.
    pub(super) fn provisioned_names(&self) -> Vec<String> {
        self.provisioned.keys().cloned().collect()
    }

    pub(super) fn allocate(
        &self,
        calls: &[Call],
        months: &[YearMonth],
    ) -> Result<Vec<ProvisionedMonth>> {
        allocate_months(calls, &self.provisioned, months, self.scale)
            .context("cannot allocate the provisioned deployments' cost")
    }
}

/// Every other currency than the statement's is refused: amounts are never converted.
pub(super) fn one_currency(calls: &[Call], currency: &str) -> Result<()> {
    if let Some(c) = calls
        .iter()
        .filter_map(|c| c.cost.as_ref())
        .find(|c| !c.currency.eq_ignore_ascii_case(currency))
    {
        bail!(
            "the ledger holds costs in {} and {currency}; statements never add currencies",
            c.currency
        );
    }
    Ok(())
}

pub(super) fn load_budgets_file(path: Option<&Path>) -> Result<Option<Budgets>> {
    path.map(|p| load_budgets(p).with_context(|| format!("invalid budgets file {}", p.display())))
        .transpose()
}

/// The exit code of what was seen, each cause named on stderr; the highest code wins.
pub(super) fn outcome(unreadable: u64, budgets: &[BudgetStatus]) -> i32 {
    for line in render_budget_lines(budgets) {
        eprintln!("chargeback: budget {line}");
    }
    let mut code = 0;
    if unreadable > 0 {
        eprintln!("chargeback: {unreadable} unreadable ledger lines skipped (exit {EXIT_REJECTS})");
        code = EXIT_REJECTS;
    }
    if any_exceeded(budgets) {
        let over: Vec<String> = budgets
            .iter()
            .filter(|b| b.exceeded)
            .map(|b| b.scope.to_string())
            .collect();
        eprintln!(
            "chargeback: budget exceeded for {} (exit {EXIT_BUDGET})",
            over.join(", ")
        );
        code = EXIT_BUDGET;
    }
    code
}

pub(crate) fn statement(a: StatementArgs, sheet: Option<&Path>) -> Result<i32> {
    let ledger = load_calls(&a.files)?;
    let pricing = Pricing::load(sheet, &ledger.calls)?;
    one_currency(&ledger.calls, &pricing.currency)?;
    let budgets = load_budgets_file(a.budgets.as_deref())?;
    let provisioned = pricing.allocate(&ledger.calls, &[a.period])?;
    let ctx = StatementContext {
        period: a.period,
        grouping: match a.by {
            By::Consumer => Grouping::Consumer,
            By::CostCenter => Grouping::CostCenter,
            By::Team => Grouping::Team,
        },
        currency: pricing.currency.clone(),
        price_sheet_version: pricing.version.clone(),
        duplicates: ledger.duplicates,
        provisioned: &provisioned,
        provisioned_deployments: pricing.provisioned_names(),
        budgets: budgets.as_ref(),
    };
    let set = build_statements(&ledger.calls, &ctx)?;
    let written = write_statement_set(&a.out, &set.overview, &set.statements)
        .with_context(|| format!("cannot write the statements to {}", a.out.display()))?;
    eprintln!(
        "chargeback: {} statements for {} written to {} ({} files)",
        set.statements.len(),
        a.period,
        a.out.display(),
        written.len()
    );
    Ok(outcome(ledger.unreadable, &set.overview.budgets))
}
