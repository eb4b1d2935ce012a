//! Statements and the overview from deduplicated calls: one statement per party (consumer, cost
//! center or team) for a month, lines per deployment × model × token kind × rate, daily cost,
//! unpriced calls with why, provisioned shares, budgets. Every amount is an exact sum of the
//! calls' own costs (or of allocation shares), so the pages agree with `report` to the last
//! decimal.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use chargeback_statements::{
    BudgetError, BudgetScope, BudgetStatus, Budgets, DailyCost, Duplicates, Line, LineKind,
    Overview, OverviewRow, OverviewSection, Party, Spend, Statement, TokenKind, Totals,
    Unallocated, Unpriced, YearMonth,
};

use crate::calls::Call;
use crate::provisioned::ProvisionedMonth;
use crate::report::GroupBy;

/// The tokens a shown rate is per.
pub const RATE_UNIT_TOKENS: u64 = 1_000_000;
const TOKEN_KINDS: [TokenKind; 3] = [TokenKind::Input, TokenKind::CachedInput, TokenKind::Output];
use crate::report::UNMAPPED;
/// The label of a provisioned month's cost that no call carried.
pub const UNALLOCATED: &str = "(unallocated)";

/// Who a statement is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Consumer,
    CostCenter,
    Team,
}

impl Grouping {
    pub fn label(self) -> &'static str {
        match self {
            Grouping::Consumer => "consumer",
            Grouping::CostCenter => "costCenter",
            Grouping::Team => "team",
        }
    }

    /// The party a consumer's cost goes to.
    pub fn party(self, consumer: &Party) -> Party {
        let group = |v: &Option<String>| {
            let id = v.clone().unwrap_or_else(|| UNMAPPED.into());
            Party {
                display_name: id.clone(),
                id,
                cost_center: consumer.cost_center.clone(),
                team: consumer.team.clone(),
            }
        };
        match self {
            Grouping::Consumer => consumer.clone(),
            Grouping::CostCenter => Party {
                team: None,
                ..group(&consumer.cost_center)
            },
            Grouping::Team => Party {
                cost_center: None,
                ..group(&consumer.team)
            },
        }
    }
}

/// What every statement of a set shares.
#[derive(Debug, Clone)]
pub struct StatementContext<'a> {
    pub period: YearMonth,
    pub grouping: Grouping,
    pub currency: String,
    pub price_sheet_version: String,
    pub duplicates: Duplicates,
    /// Provisioned months (any month; those of `period` are used).
    pub provisioned: &'a [ProvisionedMonth],
    /// Calls on these deployments (lower-case) are covered by provisioned shares, not unpriced.
    pub provisioned_deployments: Vec<String>,
    pub budgets: Option<&'a Budgets>,
}

/// The overview and the statements of one month.
#[derive(Debug, Clone)]
pub struct StatementSet {
    pub overview: Overview,
    pub statements: Vec<Statement>,
}

/// Deployment, model, deployment type, token kind, rate.
type LineKey = (String, String, String, TokenKind, Decimal);

#[derive(Default)]
struct Acc {
    party: Party,
    calls: u64,
    lines: BTreeMap<LineKey, (u64, Decimal)>,
    shares: BTreeMap<(String, String, String), (u64, Decimal)>,
    daily: BTreeMap<NaiveDate, Decimal>,
    unpriced: BTreeMap<String, u64>,
    payg: Decimal,
    allocated: Decimal,
}

fn in_period(day: NaiveDate, p: YearMonth) -> bool {
    day.year() == p.year && day.month() == p.month
}

/// The exact rate per [`RATE_UNIT_TOKENS`] that priced `tokens` at `amount`.
pub fn implied_rate(tokens: u64, amount: Decimal) -> Decimal {
    if tokens == 0 {
        return Decimal::ZERO;
    }
    (amount * Decimal::from(RATE_UNIT_TOKENS) / Decimal::from(tokens)).normalize()
}

fn add_call(acc: &mut Acc, c: &Call, provisioned: &[String]) {
    acc.calls += 1;
    let Some(cost) = &c.cost else {
        if !provisioned.contains(&c.deployment.to_lowercase()) {
            *acc.unpriced.entry(c.unpriced_reason()).or_default() += 1;
        }
        return;
    };
    for kind in TOKEN_KINDS {
        let (tokens, amount) = c.kind(kind);
        if tokens == 0 && amount.is_zero() {
            continue;
        }
        let rate = implied_rate(tokens, amount);
        let key = (
            c.deployment.clone(),
            c.model.clone(),
            c.deployment_type.clone(),
            kind,
            rate,
        );
        let e = acc.lines.entry(key).or_default();
        e.0 += tokens;
        e.1 += amount;
    }
    *acc.daily.entry(c.day).or_default() += cost.total;
    acc.payg += cost.total;
}

fn lines_of(acc: &Acc) -> Vec<Line> {
    let payg = acc
        .lines
        .iter()
        .map(|((dep, model, ty, kind, rate), (q, a))| Line {
            deployment: dep.clone(),
            model: model.clone(),
            deployment_type: ty.clone(),
            token_kind: Some(*kind),
            quantity: *q,
            unit: "1M tokens".into(),
            rate: Some(*rate),
            amount: *a,
            kind: LineKind::PayAsYouGo,
        });
    let shares = acc.shares.iter().map(|((dep, model, ty), (q, a))| Line {
        deployment: dep.clone(),
        model: model.clone(),
        deployment_type: ty.clone(),
        token_kind: None,
        quantity: *q,
        unit: "month".into(),
        rate: None,
        amount: *a,
        kind: LineKind::ProvisionedShare,
    });
    payg.chain(shares).collect()
}

fn daily_of(m: &BTreeMap<NaiveDate, Decimal>) -> Vec<DailyCost> {
    m.iter()
        .map(|(day, amount)| DailyCost {
            day: *day,
            amount: *amount,
        })
        .collect()
}

/// A stand-in call for a provisioned share, so groupings by call apply to shares too.
fn share_call(pm: &ProvisionedMonth, consumer: &Party) -> Call {
    Call {
        day: pm.period.first_day(),
        consumer: consumer.clone(),
        source: chargeback_core::Consumer::default(),
        deployment: pm.deployment.clone(),
        model: pm.model.clone(),
        deployment_type: pm.deployment_type.clone(),
        operation: "-".into(),
        input_tokens: 0,
        cached_tokens: 0,
        output_tokens: 0,
        unpriced: None,
        cost: None,
    }
}

/// The party unallocated provisioned cost is shown under.
pub fn unallocated_party() -> Party {
    Party {
        display_name: UNALLOCATED.into(),
        id: UNALLOCATED.into(),
        cost_center: Some(UNALLOCATED.into()),
        team: Some(UNALLOCATED.into()),
    }
}

/// The `report --by` keys a provisioned share (or, with [`unallocated_party`], the unallocated
/// rest) is added to: the month's first day, operation `-`, the deployment's model.
pub fn share_keys(by: &[GroupBy], pm: &ProvisionedMonth, party: &Party) -> Vec<String> {
    let c = share_call(pm, party);
    by.iter().map(|g| group_key(*g, &c)).collect()
}

/// The calls and shares of a period (every month when `None`), grouped by `group`.
struct Scope<'a> {
    period: Option<YearMonth>,
    provisioned: &'a [ProvisionedMonth],
    provisioned_deployments: &'a [String],
    group: &'a dyn Fn(&Call) -> Party,
}

fn accumulate(calls: &[Call], scope: &Scope<'_>) -> BTreeMap<String, Acc> {
    let mut accs: BTreeMap<String, Acc> = BTreeMap::new();
    let within = |day: NaiveDate| scope.period.is_none_or(|p| in_period(day, p));
    for c in calls.iter().filter(|c| within(c.day)) {
        let party = (scope.group)(c);
        let acc = accs.entry(party.id.clone()).or_insert_with(|| Acc {
            party,
            ..Acc::default()
        });
        add_call(acc, c, scope.provisioned_deployments);
    }
    for pm in scope
        .provisioned
        .iter()
        .filter(|p| within(p.period.first_day()))
    {
        for s in &pm.shares {
            let party = (scope.group)(&share_call(pm, &s.consumer));
            let acc = accs.entry(party.id.clone()).or_insert_with(|| Acc {
                party,
                ..Acc::default()
            });
            let key = (
                pm.deployment.clone(),
                pm.model.clone(),
                pm.deployment_type.clone(),
            );
            let e = acc.shares.entry(key).or_default();
            e.0 += s.tokens;
            e.1 += s.amount;
            acc.allocated += s.amount;
        }
    }
    accs
}

impl StatementContext<'_> {
    fn scope<'a>(&'a self, group: &'a dyn Fn(&Call) -> Party) -> Scope<'a> {
        Scope {
            period: Some(self.period),
            provisioned: self.provisioned,
            provisioned_deployments: &self.provisioned_deployments,
            group,
        }
    }
}

/// Each consumer's and each cost center's spend of the period (pay-as-you-go + allocated).
fn spends(calls: &[Call], ctx: &StatementContext<'_>) -> Vec<Spend> {
    let by_consumer = |c: &Call| c.consumer.clone();
    let mut out = Vec::new();
    for acc in accumulate(calls, &ctx.scope(&by_consumer)).into_values() {
        let amount = acc.payg + acc.allocated;
        out.push(Spend {
            scope: BudgetScope::Consumer(acc.party.id.clone()),
            currency: ctx.currency.clone(),
            amount,
        });
        if let Some(cc) = &acc.party.cost_center {
            out.push(Spend {
                scope: BudgetScope::CostCenter(cc.clone()),
                currency: ctx.currency.clone(),
                amount,
            });
        }
    }
    out
}

fn budget_for(party: &Party, g: Grouping, statuses: &[BudgetStatus]) -> Option<BudgetStatus> {
    let own = match g {
        Grouping::Consumer => Some(BudgetScope::Consumer(party.id.clone())),
        Grouping::CostCenter => Some(BudgetScope::CostCenter(party.id.clone())),
        Grouping::Team => None,
    };
    let cc = party.cost_center.clone().map(BudgetScope::CostCenter);
    [own, cc]
        .into_iter()
        .flatten()
        .find_map(|scope| statuses.iter().find(|s| s.scope == scope).cloned())
}

/// Budgets evaluated against the period's spend (empty without budgets).
pub fn evaluate_budgets(
    calls: &[Call],
    ctx: &StatementContext<'_>,
) -> Result<Vec<BudgetStatus>, BudgetError> {
    match ctx.budgets {
        Some(b) => b.evaluate(&spends(calls, ctx)),
        None => Ok(Vec::new()),
    }
}

/// What an overview shows, for any grouping (`report --format html`).
pub struct OverviewInput<'a> {
    /// `None`: every month of the calls.
    pub period: Option<YearMonth>,
    pub group_label: String,
    pub group: &'a dyn Fn(&Call) -> Party,
    pub currency: String,
    pub price_sheet_version: String,
    pub duplicates: Duplicates,
    pub provisioned: &'a [ProvisionedMonth],
    pub provisioned_deployments: &'a [String],
    pub budgets: Vec<BudgetStatus>,
}

fn overview_of(accs: &BTreeMap<String, Acc>, input: OverviewInput<'_>) -> Overview {
    let mut daily: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
    let mut totals = Totals::default();
    let mut rows = Vec::with_capacity(accs.len());
    for acc in accs.values() {
        let t = Totals::of(acc.payg, acc.allocated);
        totals = Totals::of(totals.payg + t.payg, totals.allocated + t.allocated);
        for (d, a) in &acc.daily {
            *daily.entry(*d).or_default() += *a;
        }
        rows.push(OverviewRow {
            id: acc.party.id.clone(),
            label: acc.party.display_name.clone(),
            calls: acc.calls,
            totals: t,
        });
    }
    let within = |p: YearMonth| input.period.is_none_or(|q| q == p);
    let unallocated = input
        .provisioned
        .iter()
        .filter(|p| within(p.period) && !p.unallocated.is_zero())
        .map(|p| Unallocated {
            deployment: format!("{} ({})", p.deployment, p.period),
            amount: p.unallocated,
        })
        .collect();
    Overview {
        period: input.period,
        group_label: input.group_label,
        price_sheet_version: input.price_sheet_version,
        sections: vec![OverviewSection {
            currency: input.currency,
            rows,
            daily: daily_of(&daily),
            totals,
            unallocated,
        }],
        duplicates_removed: input.duplicates,
        budgets: input.budgets,
    }
}

/// The overview of `calls` grouped by `input.group`.
pub fn build_overview(calls: &[Call], input: OverviewInput<'_>) -> Overview {
    let scope = Scope {
        period: input.period,
        provisioned: input.provisioned,
        provisioned_deployments: input.provisioned_deployments,
        group: input.group,
    };
    let accs = accumulate(calls, &scope);
    overview_of(&accs, input)
}

/// The statements of `ctx.period`, one per party with calls or shares, and their overview.
pub fn build_statements(
    calls: &[Call],
    ctx: &StatementContext<'_>,
) -> Result<StatementSet, BudgetError> {
    let statuses = evaluate_budgets(calls, ctx)?;
    let group = |c: &Call| ctx.grouping.party(&c.consumer);
    let accs = accumulate(calls, &ctx.scope(&group));
    let statements = accs
        .values()
        .map(|acc| Statement {
            who: acc.party.clone(),
            period: ctx.period,
            currency: ctx.currency.clone(),
            price_sheet_version: ctx.price_sheet_version.clone(),
            totals: Totals::of(acc.payg, acc.allocated),
            calls: acc.calls,
            lines: lines_of(acc),
            daily: daily_of(&acc.daily),
            unpriced: acc
                .unpriced
                .iter()
                .map(|(reason, calls)| Unpriced {
                    reason: reason.clone(),
                    calls: *calls,
                })
                .collect(),
            duplicates_removed: ctx.duplicates,
            budget: budget_for(&acc.party, ctx.grouping, &statuses),
        })
        .collect();
    let overview = overview_of(
        &accs,
        OverviewInput {
            period: Some(ctx.period),
            group_label: ctx.grouping.label().into(),
            group: &group,
            currency: ctx.currency.clone(),
            price_sheet_version: ctx.price_sheet_version.clone(),
            duplicates: ctx.duplicates,
            provisioned: ctx.provisioned,
            provisioned_deployments: &ctx.provisioned_deployments,
            budgets: statuses,
        },
    );
    Ok(StatementSet {
        overview,
        statements,
    })
}

/// A call's key under one `report --by` dimension (as `report` keys its rows).
pub fn group_key(by: GroupBy, c: &Call) -> String {
    match by {
        GroupBy::Consumer => c.consumer.id.clone(),
        GroupBy::Model => c.model.clone(),
        GroupBy::Deployment => c.deployment.clone(),
        GroupBy::Operation => c.operation.clone(),
        GroupBy::Day => c.day.format("%Y-%m-%d").to_string(),
        GroupBy::Month => c.day.format("%Y-%m").to_string(),
        GroupBy::CostCenter => c
            .consumer
            .cost_center
            .clone()
            .unwrap_or_else(|| UNMAPPED.into()),
        GroupBy::Team => c.consumer.team.clone().unwrap_or_else(|| UNMAPPED.into()),
    }
}

/// The party of a call under `report --by` dimensions: the keys joined by ` · `; a single
/// consumer key shows the display name beside the id.
pub fn party_by(by: &[GroupBy], c: &Call) -> Party {
    let id = by
        .iter()
        .map(|g| group_key(*g, c))
        .collect::<Vec<_>>()
        .join(" · ");
    let display_name = by
        .iter()
        .map(|g| match g {
            GroupBy::Consumer => c.consumer.display_name.clone(),
            _ => group_key(*g, c),
        })
        .collect::<Vec<_>>()
        .join(" · ");
    Party {
        display_name,
        id,
        cost_center: c.consumer.cost_center.clone(),
        team: c.consumer.team.clone(),
    }
}
