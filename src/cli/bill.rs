//! The ledger as a bill, shared by `report` and `statement`: the `--price-sheet`, `--reprice`,
//! `--consumers` and `--budgets` flags, the ledger read once (and re-priced when asked), its
//! calls, the provisioned months allocated, and the budgets' verdict.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use chargeback_billing::{
    allocate_months, call_of, party_of, reprice, Call, ConsumerMap, ModelNames, ProvisionedMonth,
};
use chargeback_core::{PriceSheet, UsageRecord};
use chargeback_statements::{
    any_exceeded, parse_budgets, render_budget_lines, BudgetStatus, Budgets, Duplicates, YearMonth,
};

use super::exit::{Outcome, Outcomes};
use super::source::LedgerRead;
use super::{read_ledgers, Selection};

/// The money flags of `report` and `statement`.
#[derive(Args, Clone, Default)]
pub(crate) struct BillArgs {
    /// A price sheet (v1 or v2, see `chargeback prices check`) for this report: its provisioned
    /// deployments' monthly cost is allocated to the consumers that used them, in proportion to
    /// their weighted tokens, and its model names group `--by model`. A flag only: the handler's
    /// CHARGEBACK_PRICE_SHEET setting is not read here. Per-call costs stay as recorded unless
    /// --reprice is given.
    #[arg(long, value_name = "FILE")]
    pub(crate) price_sheet: Option<PathBuf>,
    /// Price every row again from its tokens, eventTime, model and deployment type under
    /// --price-sheet (what would this month cost at the new rates?), instead of the recorded cost.
    #[arg(long, requires = "price_sheet")]
    pub(crate) reprice: bool,
    /// Consumers CSV `match,value,costCenter,team,displayName` (match: callerAppId,
    /// subscriptionId, productId or userId; the most specific wins, in that order): the cost
    /// centers, teams and display names `--by costCenter|team` and statements use. Unmapped
    /// consumers are grouped as `(unmapped)` and listed on stderr.
    #[arg(long, value_name = "FILE")]
    pub(crate) consumers: Option<PathBuf>,
    /// Budgets JSON (currency, monthly amount per consumer or cost center, alert thresholds; see
    /// docs/budgets.md): budget, spent, share and thresholds crossed; exit 4 when one is exceeded.
    #[arg(long, value_name = "FILE")]
    pub(crate) budgets: Option<PathBuf>,
}

/// The loaded inputs of [`BillArgs`].
pub(crate) struct Bill {
    pub(crate) sheet: Option<PriceSheet>,
    pub(crate) consumers: Option<ConsumerMap>,
    pub(crate) budgets: Option<Budgets>,
    reprice: bool,
}

impl BillArgs {
    pub(crate) fn load(&self) -> Result<Bill> {
        let sheet = read_as(self.price_sheet.as_deref(), "price sheet", |t| {
            Ok(PriceSheet::from_json(t)?)
        })?;
        let consumers = read_as(self.consumers.as_deref(), "consumers file", |t| {
            Ok(ConsumerMap::from_csv(t)?)
        })?;
        let budgets = read_as(self.budgets.as_deref(), "budgets file", |t| {
            Ok(parse_budgets(t)?)
        })?;
        Ok(Bill {
            sheet,
            consumers,
            budgets,
            reprice: self.reprice,
        })
    }
}

/// Reads the file at `path` (when given) and parses it, both errors naming the file as `what`.
fn read_as<T>(
    path: Option<&Path>,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T>,
) -> Result<Option<T>> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?;
    parse(&text)
        .map(Some)
        .with_context(|| format!("invalid {what} {}", path.display()))
}

/// The deduplicated rows of the ledgers (re-priced with `--reprice`) and what reading saw.
pub(crate) struct Ledger {
    pub(crate) records: Vec<UsageRecord>,
    pub(crate) read: LedgerRead,
}

impl Ledger {
    pub(crate) fn duplicates(&self) -> Duplicates {
        Duplicates {
            identical: self.read.counts.duplicates_identical,
            conflicting: self.read.counts.duplicates_conflicting,
        }
    }
}

/// The provisioned deployments' currency, version and minor unit, and the months allocated.
pub(crate) struct Pricing {
    pub(crate) currency: String,
    pub(crate) version: String,
    pub(crate) provisioned: Vec<ProvisionedMonth>,
    pub(crate) provisioned_names: Vec<String>,
}

impl Bill {
    /// Reads the ledgers once (the records of `select`); rows are re-priced under the sheet
    /// with `--reprice`.
    pub(crate) fn read(
        &self,
        inputs: &[PathBuf],
        select: &Selection,
        prefix: &str,
    ) -> Result<Ledger> {
        let mut records = Vec::new();
        let sheet = self.sheet.as_ref().filter(|_| self.reprice);
        let read = read_ledgers(inputs, select, prefix, |r| {
            records.push(match sheet {
                Some(s) => reprice(r, s),
                None => r,
            })
        })?;
        Ok(Ledger { records, read })
    }

    /// The billable calls of `records`, with the consumers map's parties and the priced model
    /// names (the sheet's, else the embedded one's).
    pub(crate) fn calls(&self, records: &[UsageRecord]) -> Vec<Call> {
        let sheet = self.sheet.clone().or_else(|| PriceSheet::embedded().ok());
        let mut names = ModelNames::new(sheet);
        records
            .iter()
            .filter_map(|r| {
                let mut c = call_of(r, party_of(r, self.consumers.as_ref()))?;
                c.model = names.priced(r);
                Some(c)
            })
            .collect()
    }

    /// Consumers of `records` the consumers map does not name, listed on stderr.
    pub(crate) fn warn_unmapped(&self, records: &[UsageRecord], prefix: &str) {
        let Some(map) = &self.consumers else { return };
        let mut unmapped: Vec<&str> = records
            .iter()
            .filter(|r| r.billable && map.lookup(&r.consumer).is_none())
            .map(|r| r.consumer.billing_key())
            .collect();
        unmapped.sort_unstable();
        unmapped.dedup();
        if !unmapped.is_empty() {
            eprintln!(
                "{prefix}: {} consumers are not in the consumers file (grouped as (unmapped)): {}",
                unmapped.len(),
                unmapped.join(", ")
            );
        }
    }

    /// The currency, sheet version and provisioned months of `months` (none without a sheet).
    pub(crate) fn pricing(&self, calls: &[Call], months: &[YearMonth]) -> Result<Pricing> {
        let Some(sheet) = &self.sheet else {
            let costs = || calls.iter().filter_map(|c| c.cost.as_ref());
            let currency = costs().next().map_or("USD".into(), |c| c.currency.clone());
            let mut versions: Vec<&str> = costs().map(|c| c.price_sheet.as_str()).collect();
            versions.sort_unstable();
            versions.dedup();
            return Ok(Pricing {
                currency,
                version: versions.join(", "),
                provisioned: Vec::new(),
                provisioned_names: Vec::new(),
            });
        };
        let provisioned = allocate_months(
            calls,
            &sheet.provisioned,
            months,
            sheet.currency.minor_unit_scale(),
        )
        .context("cannot allocate the provisioned deployments' cost")?;
        Ok(Pricing {
            currency: sheet.currency.code().to_string(),
            version: sheet.version.clone(),
            provisioned,
            provisioned_names: sheet.provisioned.keys().cloned().collect(),
        })
    }
}

/// Refuses a ledger whose costs are in another currency than `currency`: amounts are never
/// converted, and a statement or FOCUS file holds one currency.
pub(crate) fn one_currency(calls: &[Call], currency: &str) -> Result<()> {
    if let Some(c) = calls
        .iter()
        .filter_map(|c| c.cost.as_ref())
        .find(|c| !c.currency.eq_ignore_ascii_case(currency))
    {
        bail!(
            "the ledger holds costs in {} and {currency}; statements and FOCUS files never add \
             currencies (use `report`, which totals each currency apart, or --reprice under one sheet)",
            c.currency
        );
    }
    Ok(())
}

/// Prints the budgets' lines on stderr and records an exceeded budget.
pub(crate) fn budget_outcome(budgets: &[BudgetStatus], prefix: &str, outcomes: &mut Outcomes) {
    for line in render_budget_lines(budgets) {
        eprintln!("{prefix}: {line}");
    }
    if any_exceeded(budgets) {
        let over: Vec<String> = budgets
            .iter()
            .filter(|b| b.exceeded)
            .map(|b| b.scope.to_string())
            .collect();
        outcomes.count(
            Outcome::BudgetExceeded,
            over.len() as u64,
            &format!("budget exceeded ({})", over.join(", ")),
        );
    }
}

/// The ledger's read problems as outcomes (unreadable lines and blobs are rejects).
pub(crate) fn ledger_outcomes(ledger: &Ledger, prefix: &str) -> Outcomes {
    let c = &ledger.read.counts;
    eprintln!(
        "{prefix}: {} rows read; {} duplicate requestIds ignored: {} identical, {} conflicting \
         (first row read wins); {} unreadable lines skipped",
        ledger.records.len(),
        c.duplicates(),
        c.duplicates_identical,
        c.duplicates_conflicting,
        c.unreadable
    );
    ledger.read.outcomes()
}

/// The latest month of the calls (budgets of `report` are judged on it).
pub(crate) fn latest_month(calls: &[Call]) -> Option<YearMonth> {
    chargeback_billing::months_of(calls).last().copied()
}
