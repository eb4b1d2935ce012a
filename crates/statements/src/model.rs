//! The input model: plain data the billing crate fills (exact `Decimal` amounts, one currency per
//! statement or overview section) and this crate renders. Nothing here computes money.

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::budgets::BudgetStatus;

/// A UTC calendar month, e.g. `2026-11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl YearMonth {
    /// `None` unless `month` is 1 to 12.
    pub fn new(year: i32, month: u32) -> Option<YearMonth> {
        NaiveDate::from_ymd_opt(year, month, 1).map(|_| YearMonth { year, month })
    }

    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Option<YearMonth> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        YearMonth::new(y.parse().ok()?, m.parse().ok()?)
    }

    /// The month's first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The first day of the next month (the period's exclusive end).
    pub fn next(self) -> YearMonth {
        if self.month == 12 {
            YearMonth {
                year: self.year + 1,
                month: 1,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Every day of the month, in order.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        let end = self.next().first_day();
        self.first_day().iter_days().take_while(move |d| *d < end)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Who a statement is for: a consumer (stable id, e.g. an APIM subscription id) or a group such as
/// a cost center (then `id` is the cost center).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    pub display_name: String,
    /// Stable id; also the source of the statement's file name.
    pub id: String,
    pub cost_center: Option<String>,
    pub team: Option<String>,
}

/// The three totals of a statement, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Pay-as-you-go cost (the sum of priced calls).
    pub payg: Decimal,
    /// The party's share of provisioned (PTU) deployments' monthly cost.
    pub allocated: Decimal,
    /// `payg + allocated`; billing fills it, this crate shows it as given.
    pub total: Decimal,
}

impl Totals {
    /// The totals of a pay-as-you-go and an allocated amount (`total` is their exact sum).
    pub fn of(payg: Decimal, allocated: Decimal) -> Totals {
        Totals {
            payg,
            allocated,
            total: payg + allocated,
        }
    }
}

/// Which token count a line prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenKind {
    Input,
    CachedInput,
    Output,
}

impl TokenKind {
    /// The sheet's name for it (`input`, `cachedInput`, `output`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Input => "input",
            TokenKind::CachedInput => "cachedInput",
            TokenKind::Output => "output",
        }
    }

    /// A reader's label.
    pub fn label(self) -> &'static str {
        match self {
            TokenKind::Input => "Input",
            TokenKind::CachedInput => "Cached input",
            TokenKind::Output => "Output",
        }
    }
}

/// How a line's amount arose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Tokens × the sheet's rate.
    PayAsYouGo,
    /// A share of a provisioned deployment's monthly cost, by weighted tokens (no rate).
    ProvisionedShare,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::PayAsYouGo => "payAsYouGo",
            LineKind::ProvisionedShare => "provisionedShare",
        }
    }
}

/// One line: a deployment × model × token kind of the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub deployment: String,
    pub model: String,
    /// Azure SKU name, e.g. `GlobalStandard`, `DataZoneStandard`, `ProvisionedManaged`.
    pub deployment_type: String,
    /// `None` for a provisioned share, which covers every kind (weighted).
    pub token_kind: Option<TokenKind>,
    /// Tokens.
    pub quantity: u64,
    /// The rate's unit as shown, e.g. `1M tokens`.
    pub unit: String,
    /// Per `unit`; `None` for a provisioned share (or when rates changed within the month: then the
    /// billing crate splits the line per rate, or leaves this empty).
    pub rate: Option<Decimal>,
    /// Exact amount.
    pub amount: Decimal,
    pub kind: LineKind,
}

/// Calls that carry no price, with why (e.g. "no rate for gpt-5 / GlobalStandard").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpriced {
    pub reason: String,
    pub calls: u64,
}

/// Repeated `requestId`s dropped while reading the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Duplicates {
    /// Same requestId, same content (at-least-once redelivery).
    pub identical: u64,
    /// Same requestId, different content (the first was kept).
    pub conflicting: u64,
}

/// One day's cost (pay-as-you-go; provisioned shares are monthly and are not spread over days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyCost {
    pub day: NaiveDate,
    pub amount: Decimal,
}

/// A statement: one party, one month, one currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub who: Party,
    pub period: YearMonth,
    /// ISO 4217 code.
    pub currency: String,
    pub price_sheet_version: String,
    pub totals: Totals,
    pub calls: u64,
    pub lines: Vec<Line>,
    /// Days without cost may be left out; the chart shows every day of the period.
    pub daily: Vec<DailyCost>,
    pub unpriced: Vec<Unpriced>,
    pub duplicates_removed: Duplicates,
    pub budget: Option<BudgetStatus>,
}

/// One row of the overview: a consumer, or a group (cost center, team, model…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverviewRow {
    /// The group key; for consumers the stable id (links to the statement with this id).
    pub id: String,
    /// Shown beside the id (display name); may equal it.
    pub label: String,
    pub calls: u64,
    pub totals: Totals,
}

/// A provisioned deployment's monthly cost no one used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unallocated {
    pub deployment: String,
    pub amount: Decimal,
}

/// The overview's figures in one currency (currencies are never added together).
#[derive(Debug, Clone, PartialEq)]
pub struct OverviewSection {
    pub currency: String,
    pub rows: Vec<OverviewRow>,
    pub daily: Vec<DailyCost>,
    /// Over `rows` (billing fills it; this crate shows it as given).
    pub totals: Totals,
    pub unallocated: Vec<Unallocated>,
}

/// The overview page (`index.html`, or `report --format html`).
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// The month shown; `None` for a report over every month of the ledger (the trend then spans
    /// the first to the last day in `daily`).
    pub period: Option<YearMonth>,
    /// What a row is, e.g. `consumer`, `costCenter`, `team`, `model`.
    pub group_label: String,
    pub price_sheet_version: String,
    pub sections: Vec<OverviewSection>,
    pub duplicates_removed: Duplicates,
    pub budgets: Vec<BudgetStatus>,
}
