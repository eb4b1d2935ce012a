//! `report --format html|focus` and `report --budgets`: the report's ledgers as exact calls, the
//! overview page for any `--by` grouping, the FOCUS 1.2 export and the budgets' verdict.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use chargeback_billing::{
    build_overview, call_of, evaluate_budgets, focus_provisioned, focus_rows, months_of, party_by,
    party_of, Call, GroupBy, Grouping, OverviewInput, StatementContext,
};
use chargeback_core::UsageRecord;
use chargeback_statements::{
    render_focus_csv, render_overview_html, BudgetStatus, Duplicates, FocusContext,
};

use super::statement::{load_budgets_file, load_calls, one_currency, outcome, Pricing};

/// What `report` needs beyond its table.
pub(super) struct BillView<'a> {
    pub(super) by: &'a [GroupBy],
    pub(super) budgets: Option<&'a Path>,
    pub(super) sheet: Option<&'a Path>,
}

impl BillView<'_> {
    /// Budgets against the latest month of the calls.
    fn statuses(&self, calls: &[Call], pricing: &Pricing) -> Result<Vec<BudgetStatus>> {
        let Some(budgets) = load_budgets_file(self.budgets)? else {
            return Ok(Vec::new());
        };
        let Some(latest) = months_of(calls).last().copied() else {
            return Ok(budgets.evaluate(&[])?);
        };
        let provisioned = pricing.allocate(calls, &[latest])?;
        let ctx = StatementContext {
            period: latest,
            grouping: Grouping::Consumer,
            currency: pricing.currency.clone(),
            price_sheet_version: pricing.version.clone(),
            duplicates: Duplicates::default(),
            provisioned: &provisioned,
            provisioned_deployments: pricing.provisioned_names(),
            budgets: Some(&budgets),
        };
        eprintln!("chargeback: budgets of {latest} (the ledger's latest month)");
        Ok(evaluate_budgets(calls, &ctx)?)
    }

    /// The budgets' verdict after a text report (records already deduplicated by the report).
    pub(super) fn budgets_only(&self, records: Vec<UsageRecord>) -> Result<i32> {
        let calls: Vec<Call> = records
            .iter()
            .filter_map(|r| call_of(r, party_of(r)))
            .collect();
        let pricing = Pricing::load(self.sheet, &calls)?;
        one_currency(&calls, &pricing.currency)?;
        Ok(outcome(0, &self.statuses(&calls, &pricing)?))
    }

    /// Writes the overview HTML or the FOCUS CSV of `files` to stdout.
    pub(super) fn render(&self, files: &[PathBuf], focus: bool) -> Result<i32> {
        let ledger = load_calls(files)?;
        let pricing = Pricing::load(self.sheet, &ledger.calls)?;
        one_currency(&ledger.calls, &pricing.currency)?;
        let provisioned = pricing.allocate(&ledger.calls, &months_of(&ledger.calls))?;
        let statuses = self.statuses(&ledger.calls, &pricing)?;
        let text = if focus {
            let ctx = FocusContext::azure_openai(
                "aoai-chargeback",
                "Azure OpenAI chargeback",
                &pricing.currency,
                &pricing.version,
            );
            render_focus_csv(
                &ctx,
                &focus_rows(&ledger.calls),
                &focus_provisioned(&provisioned),
            )
            .context("cannot write the FOCUS export")?
        } else {
            let group = |c: &Call| party_by(self.by, c);
            let names = pricing.provisioned_names();
            let headers: Vec<&str> = self.by.iter().map(|g| g.header()).collect();
            render_overview_html(&build_overview(
                &ledger.calls,
                OverviewInput {
                    period: None,
                    group_label: headers.join(" · "),
                    group: &group,
                    currency: pricing.currency.clone(),
                    price_sheet_version: pricing.version.clone(),
                    duplicates: ledger.duplicates,
                    provisioned: &provisioned,
                    provisioned_deployments: &names,
                    budgets: statuses.clone(),
                },
            ))
        };
        io::stdout().lock().write_all(text.as_bytes())?;
        Ok(outcome(ledger.unreadable, &statuses))
    }
}
