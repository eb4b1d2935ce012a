//! Ledger aggregation (pure): usage records deduplicated by `requestId`, grouped by consumer,
//! model (the priced name), deployment, operation, day, month, cost center or team, with token
//! totals (u128: never wraps) and exact costs per currency (a group never mixes currencies);
//! rendered as a table, CSV or JSON with fixed decimals, rounded once (`docs/money.md`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::Serialize;

use chargeback_core::pricing::{round_to, PriceSheet, Usage};
use chargeback_core::UsageRecord;

use crate::consumers::ConsumerMap;

/// Decimals of the report's cost columns: per-call-sized sums are shown exactly to 1e-8.
pub const COST_DECIMALS: u32 = 8;

/// A grouping dimension of `report --by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum GroupBy {
    Consumer,
    /// The priced model name (the rate's model: `gpt-4o-mini-2024-07-18` → `gpt-4o-mini`).
    Model,
    Deployment,
    Operation,
    Day,
    Month,
    /// The consumer's cost center from `--consumers` (`(unmapped)` when none).
    #[cfg_attr(feature = "clap", value(name = "costCenter", alias = "cost-center"))]
    CostCenter,
    /// The consumer's team from `--consumers` (`(unmapped)` when none).
    Team,
}

impl GroupBy {
    pub fn header(self) -> &'static str {
        match self {
            GroupBy::Consumer => "consumer",
            GroupBy::Model => "model",
            GroupBy::Deployment => "deployment",
            GroupBy::Operation => "operation",
            GroupBy::Day => "day",
            GroupBy::Month => "month",
            GroupBy::CostCenter => "costCenter",
            GroupBy::Team => "team",
        }
    }
}

/// The label of consumers with no entry in the consumer map.
pub const UNMAPPED: &str = "(unmapped)";

/// One output row: a group in one currency (unpriced-only groups have no currency).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    #[serde(skip)]
    pub keys: Vec<String>,
    /// The consumer's display name beside its stable id (`--by consumer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The model names as recorded that were grouped under the priced name (`--by model`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub raw_model: Vec<String>,
    pub calls: u64,
    pub prompt_tokens: u128,
    pub completion_tokens: u128,
    pub total_tokens: u128,
    pub cached_tokens: u128,
    pub reasoning_tokens: u128,
    /// Calls without a per-call cost (no rate, or a provisioned deployment); their tokens are in
    /// the totals, not in `cost`.
    pub unpriced_calls: u64,
    /// Pay-as-you-go cost as recorded (or re-priced), exact.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    /// Provisioned (PTU) cost allocated to this group (`report --price-sheet`), exact.
    #[serde(with = "rust_decimal::serde::str")]
    pub allocated: Decimal,
    pub currency: Option<String>,
}

impl Row {
    /// Pay-as-you-go plus allocated.
    pub fn total_cost(&self) -> Decimal {
        self.cost + self.allocated
    }
}

/// Accumulates records, dropping repeated `requestId`s (at-least-once delivery).
#[derive(Debug)]
pub struct Aggregator {
    by: Vec<GroupBy>,
    seen: HashSet<String>,
    rows: BTreeMap<(Vec<String>, Option<String>), Row>,
    names: ModelNames,
    consumers: Option<ConsumerMap>,
    /// The sheet currency and the (lower-case) provisioned deployments whose cost is allocated.
    allocation: Option<(String, BTreeSet<String>)>,
    /// Consumers with no entry in the consumer map (by stable id).
    pub unmapped: BTreeSet<String>,
    pub duplicates: u64,
    pub non_billable: u64,
}

impl Aggregator {
    /// Groups by `by`; model names are the embedded sheet's.
    pub fn new(by: Vec<GroupBy>) -> Aggregator {
        Aggregator::with_sheet(by, PriceSheet::embedded().ok())
    }

    /// Groups by `by`, naming models as `sheet` prices them.
    pub fn with_sheet(by: Vec<GroupBy>, sheet: Option<PriceSheet>) -> Aggregator {
        Aggregator {
            by,
            seen: HashSet::new(),
            rows: BTreeMap::new(),
            names: ModelNames::new(sheet),
            consumers: None,
            allocation: None,
            unmapped: BTreeSet::new(),
            duplicates: 0,
            non_billable: 0,
        }
    }

    /// Maps consumers to cost centers, teams and display names.
    pub fn with_consumers(mut self, consumers: ConsumerMap) -> Aggregator {
        self.consumers = Some(consumers);
        self
    }

    /// Calls without a cost on these provisioned deployments are covered by the allocation (in
    /// `currency`): they are grouped with that currency's amounts and not counted as unpriced.
    pub fn with_allocation(
        mut self,
        currency: &str,
        deployments: impl IntoIterator<Item = String>,
    ) -> Aggregator {
        self.allocation = Some((currency.to_string(), deployments.into_iter().collect()));
        self
    }

    fn allocated_currency(&self, r: &UsageRecord) -> Option<String> {
        let (currency, names) = self.allocation.as_ref()?;
        let deployment = r.deployment.as_deref()?.to_ascii_lowercase();
        (r.cost.is_none() && names.contains(&deployment)).then(|| currency.clone())
    }

    /// Adds a record; returns false when its `requestId` was already counted.
    pub fn add(&mut self, r: &UsageRecord) -> bool {
        if !self.seen.insert(r.request_id.clone()) {
            self.duplicates += 1;
            return false;
        }
        if !r.billable {
            self.non_billable += 1;
            return true;
        }
        let keys: Vec<String> = self.by.clone().iter().map(|g| self.key(*g, r)).collect();
        let covered = self.allocated_currency(r);
        let currency = r
            .cost
            .as_ref()
            .map(|c| c.currency.clone())
            .or_else(|| covered.clone());
        let display_name = self.display_name(r);
        let by_model = self.by.contains(&GroupBy::Model);
        let row = self.row(keys, currency);
        if row.display_name.is_none() {
            row.display_name = display_name;
        }
        add_tokens(row, r);
        if by_model {
            let raw = r.model.clone().unwrap_or_else(|| "-".into());
            if let Err(i) = row.raw_model.binary_search(&raw) {
                row.raw_model.insert(i, raw);
            }
        }
        match &r.cost {
            Some(c) => row.cost += c.total,
            None if covered.is_some() => {}
            None => row.unpriced_calls += 1,
        }
        true
    }

    /// Adds an allocated (PTU) amount to the group `keys` in `currency`.
    pub fn add_allocated(&mut self, keys: Vec<String>, currency: &str, amount: Decimal) {
        self.row(keys, Some(currency.to_string())).allocated += amount;
    }

    /// The row of a group and currency, made empty when new.
    fn row(&mut self, keys: Vec<String>, currency: Option<String>) -> &mut Row {
        self.rows
            .entry((keys.clone(), currency.clone()))
            .or_insert_with(|| Row {
                keys,
                currency,
                ..Row::default()
            })
    }

    /// The group keys of a record (for callers that attribute amounts to its group).
    pub fn keys_of(&mut self, r: &UsageRecord) -> Vec<String> {
        self.by.clone().iter().map(|g| self.key(*g, r)).collect()
    }

    fn key(&mut self, g: GroupBy, r: &UsageRecord) -> String {
        let or_dash = |s: Option<&str>| s.filter(|v| !v.is_empty()).unwrap_or("-").to_string();
        match g {
            GroupBy::Consumer => r.consumer.billing_key().to_string(),
            GroupBy::Model => self.names.priced(r),
            GroupBy::Deployment => or_dash(r.deployment.as_deref()),
            GroupBy::Operation => r.api_operation.as_str().to_string(),
            GroupBy::Day => r.event_time.get(..10).unwrap_or("-").to_string(),
            GroupBy::Month => r.event_time.get(..7).unwrap_or("-").to_string(),
            GroupBy::CostCenter | GroupBy::Team => {
                let entry = self.consumers.as_ref().and_then(|m| m.lookup(&r.consumer));
                let value = entry.and_then(|e| match g {
                    GroupBy::CostCenter => e.cost_center.clone(),
                    _ => e.team.clone(),
                });
                if entry.is_none() && self.consumers.is_some() {
                    self.unmapped.insert(r.consumer.billing_key().to_string());
                }
                value
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| UNMAPPED.to_string())
            }
        }
    }

    fn display_name(&mut self, r: &UsageRecord) -> Option<String> {
        if !self.by.contains(&GroupBy::Consumer) {
            return None;
        }
        let mapped = self
            .consumers
            .as_ref()
            .and_then(|m| m.lookup(&r.consumer))
            .and_then(|e| e.display_name.clone());
        if self.consumers.is_some() && mapped.is_none() {
            self.unmapped.insert(r.consumer.billing_key().to_string());
        }
        Some(mapped.unwrap_or_else(|| r.consumer.label().to_string()))
    }

    /// Rows sorted by their keys, then currency.
    pub fn rows(&self) -> Vec<Row> {
        self.rows.values().cloned().collect()
    }

    pub fn headers(&self) -> Vec<&'static str> {
        self.by.iter().map(|g| g.header()).collect()
    }
}

fn add_tokens(row: &mut Row, r: &UsageRecord) {
    row.calls += 1;
    row.prompt_tokens += u128::from(r.prompt_tokens);
    row.completion_tokens += u128::from(r.completion_tokens);
    row.total_tokens += u128::from(r.total_tokens);
    row.cached_tokens += u128::from(r.cached_tokens);
    row.reasoning_tokens += u128::from(r.reasoning_tokens);
}

/// The priced model name of a record: the model of the rate that prices it (any pay-as-you-go
/// type when its own type has none, e.g. provisioned), else the recorded name lower-cased.
#[derive(Debug)]
pub struct ModelNames {
    sheet: Option<PriceSheet>,
    cache: HashMap<(Option<String>, String, &'static str), String>,
}

impl ModelNames {
    /// Names models as `sheet` prices them (the recorded name lower-cased without a sheet).
    pub fn new(sheet: Option<PriceSheet>) -> ModelNames {
        ModelNames {
            sheet,
            cache: HashMap::new(),
        }
    }

    /// The priced model name of `r` (`-` when the record names no model).
    pub fn priced(&mut self, r: &UsageRecord) -> String {
        let Some(model) = r.model.as_deref().filter(|m| !m.is_empty()) else {
            return "-".into();
        };
        let day = r.event_time.get(..10).map(str::to_string);
        let key = (day, model.to_string(), r.deployment_type.as_str());
        if let Some(n) = self.cache.get(&key) {
            return n.clone();
        }
        let at = chargeback_core::parse_time(&r.event_time).unwrap_or_default();
        let name = self.sheet.as_ref().and_then(|s| {
            [r.deployment_type, chargeback_core::DeploymentType::DEFAULT]
                .into_iter()
                .find_map(|t| {
                    let u = Usage {
                        model: Some(model),
                        version: None,
                        deployment_type: t,
                        event_time: at,
                        prompt: 0,
                        cached: 0,
                        completion: 0,
                    };
                    s.rate_for(&u).ok().map(|rate| rate.model.clone())
                })
        });
        let name = name.unwrap_or_else(|| model.to_ascii_lowercase());
        self.cache.insert(key, name.clone());
        name
    }
}

/// The header and cells of a rendering: key columns, the consumer's name when grouped by
/// consumer, the numbers, and the allocation columns when some row has an allocated amount.
struct Layout {
    keys: Vec<String>,
    name: bool,
    raw_model: bool,
    allocation: bool,
}

impl Layout {
    fn new(headers: &[&str], rows: &[Row]) -> Layout {
        Layout {
            keys: headers.iter().map(|h| h.to_string()).collect(),
            name: headers.contains(&"consumer"),
            raw_model: headers.contains(&"model"),
            allocation: rows.iter().any(|r| !r.allocated.is_zero()),
        }
    }

    fn header(&self, csv: bool) -> Vec<String> {
        let mut h = self.keys.clone();
        if self.name {
            h.push(if csv { "displayName" } else { "name" }.into());
        }
        if self.raw_model && csv {
            h.push("rawModel".into());
        }
        let numbers: [&str; 8] = if csv {
            [
                "calls",
                "promptTokens",
                "completionTokens",
                "totalTokens",
                "cachedTokens",
                "reasoningTokens",
                "unpricedCalls",
                "cost",
            ]
        } else {
            [
                "calls",
                "prompt",
                "completion",
                "total",
                "cached",
                "reasoning",
                "unpriced",
                "cost",
            ]
        };
        h.extend(numbers.iter().map(|s| s.to_string()));
        if self.allocation {
            h.push("allocated".into());
            h.push(if csv { "totalCost" } else { "total cost" }.into());
        }
        h.push("currency".into());
        h
    }

    fn cells(&self, row: &Row, csv: bool) -> Vec<String> {
        let money =
            |d: Decimal| format!("{:.*}", COST_DECIMALS as usize, round_to(d, COST_DECIMALS));
        let mut c = row.keys.clone();
        if self.name {
            c.push(row.display_name.clone().unwrap_or_default());
        }
        if self.raw_model && csv {
            c.push(row.raw_model.join(";"));
        }
        c.extend([
            row.calls.to_string(),
            row.prompt_tokens.to_string(),
            row.completion_tokens.to_string(),
            row.total_tokens.to_string(),
            row.cached_tokens.to_string(),
            row.reasoning_tokens.to_string(),
            row.unpriced_calls.to_string(),
            money(row.cost),
        ]);
        if self.allocation {
            c.push(money(row.allocated));
            c.push(money(row.total_cost()));
        }
        c.push(row.currency.clone().unwrap_or_else(|| "-".into()));
        c
    }
}

/// One TOTAL row per currency (and one for unpriced-only groups), exact sums; never `mixed`.
pub fn totals(rows: &[Row], key_count: usize) -> Vec<Row> {
    let mut by_currency: BTreeMap<Option<String>, Row> = BTreeMap::new();
    for r in rows {
        let t = by_currency.entry(r.currency.clone()).or_insert_with(|| {
            let mut keys = vec![String::new(); key_count];
            if let Some(k) = keys.first_mut() {
                *k = "TOTAL".into();
            }
            Row {
                keys,
                currency: r.currency.clone(),
                ..Row::default()
            }
        });
        t.calls += r.calls;
        t.prompt_tokens += r.prompt_tokens;
        t.completion_tokens += r.completion_tokens;
        t.total_tokens += r.total_tokens;
        t.cached_tokens += r.cached_tokens;
        t.reasoning_tokens += r.reasoning_tokens;
        t.unpriced_calls += r.unpriced_calls;
        t.cost += r.cost;
        t.allocated += r.allocated;
    }
    // Priced currencies first, the unpriced-only total last.
    let mut out: Vec<Row> = Vec::new();
    let none = by_currency.remove(&None);
    out.extend(by_currency.into_values());
    out.extend(none);
    out
}

/// An aligned text table with a TOTAL line per currency.
pub fn render_table(headers: &[&str], rows: &[Row]) -> String {
    let layout = Layout::new(headers, rows);
    let head = layout.header(false);
    let body: Vec<Vec<String>> = rows.iter().map(|r| layout.cells(r, false)).collect();
    let total: Vec<Vec<String>> = totals(rows, headers.len())
        .iter()
        .map(|r| layout.cells(r, false))
        .collect();
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for line in body.iter().chain(&total) {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let left = headers.len() + usize::from(layout.name);
    let fmt_line = |line: &[String]| -> String {
        let parts: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < left || i == line.len() - 1 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len().saturating_sub(1));
    let mut out = String::new();
    let _ = writeln!(out, "{}", fmt_line(&head));
    let _ = writeln!(out, "{}", "-".repeat(rule));
    for line in &body {
        let _ = writeln!(out, "{}", fmt_line(line));
    }
    let _ = writeln!(out, "{}", "-".repeat(rule));
    for line in &total {
        let _ = writeln!(out, "{}", fmt_line(line));
    }
    out
}

/// RFC 4180 CSV (`csv` crate: fields quoted only when they hold `,`, `"` or a line break) with a
/// header line; lines end in `\n`. Costs have fixed decimals; `rawModel` joins names with `;`.
pub fn render_csv(headers: &[&str], rows: &[Row]) -> String {
    let layout = Layout::new(headers, rows);
    let mut out = csv::Writer::from_writer(Vec::new());
    let written = std::iter::once(layout.header(true))
        .chain(rows.iter().map(|r| layout.cells(r, true)))
        .try_for_each(|line: Vec<String>| out.write_record(&line));
    // Writing to memory cannot fail; the cells are UTF-8.
    match (written, out.into_inner()) {
        (Ok(()), Ok(bytes)) => String::from_utf8(bytes).unwrap_or_default(),
        _ => String::new(),
    }
}

/// A JSON array of objects keyed by the grouping headers; amounts are exact decimal strings,
/// token sums JSON integers (u128).
pub fn render_json(headers: &[&str], rows: &[Row]) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct JsonRow<'a> {
        #[serde(flatten)]
        keys: BTreeMap<&'a str, &'a str>,
        #[serde(flatten)]
        row: &'a Row,
        total_cost: String,
    }
    let items: Vec<JsonRow<'_>> = rows
        .iter()
        .map(|r| JsonRow {
            keys: headers
                .iter()
                .copied()
                .zip(r.keys.iter().map(String::as_str))
                .collect(),
            row: r,
            total_cost: r.total_cost().to_string(),
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into())
}
