//! Ledger aggregation (pure): usage records deduplicated by `requestId`, grouped by consumer,
//! model, deployment, operation, day or month, with token totals and cost; rendered as a
//! table, CSV or JSON.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use serde::Serialize;

use chargeback_core::{round_money, UsageRecord};

/// A grouping dimension of `report --by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum GroupBy {
    Consumer,
    Model,
    Deployment,
    Operation,
    Day,
    Month,
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
        }
    }

    fn key(self, r: &UsageRecord) -> String {
        let or_dash = |s: Option<&str>| s.filter(|v| !v.is_empty()).unwrap_or("-").to_string();
        match self {
            GroupBy::Consumer => r.consumer.label().to_string(),
            GroupBy::Model => or_dash(r.model.as_deref()),
            GroupBy::Deployment => or_dash(r.deployment.as_deref()),
            GroupBy::Operation => r.api_operation.as_str().to_string(),
            GroupBy::Day => r.event_time.get(..10).unwrap_or("-").to_string(),
            GroupBy::Month => r.event_time.get(..7).unwrap_or("-").to_string(),
        }
    }
}

/// One output row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub keys: Vec<String>,
    pub calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    /// Calls whose model had no price (their tokens are in the totals, not in the cost).
    pub unpriced_calls: u64,
    pub cost: f64,
    /// The currency, or `mixed` when the group's records came from sheets in several currencies.
    pub currency: Option<String>,
}

/// Accumulates records, dropping repeated `requestId`s (at-least-once delivery).
#[derive(Debug)]
pub struct Aggregator {
    by: Vec<GroupBy>,
    seen: HashSet<String>,
    rows: BTreeMap<Vec<String>, Row>,
    pub duplicates: u64,
    pub non_billable: u64,
}

impl Aggregator {
    pub fn new(by: Vec<GroupBy>) -> Aggregator {
        Aggregator {
            by,
            seen: HashSet::new(),
            rows: BTreeMap::new(),
            duplicates: 0,
            non_billable: 0,
        }
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
        let keys: Vec<String> = self.by.iter().map(|g| g.key(r)).collect();
        let row = self.rows.entry(keys.clone()).or_insert_with(|| Row {
            keys,
            ..Row::default()
        });
        row.calls += 1;
        row.prompt_tokens += r.prompt_tokens;
        row.completion_tokens += r.completion_tokens;
        row.total_tokens += r.total_tokens;
        row.cached_tokens += r.cached_tokens;
        row.reasoning_tokens += r.reasoning_tokens;
        match &r.cost {
            Some(c) => {
                row.cost = round_money(row.cost + c.total);
                row.currency = match row.currency.take() {
                    None => Some(c.currency.clone()),
                    Some(cur) if cur == c.currency => Some(cur),
                    Some(_) => Some("mixed".into()),
                };
            }
            None => row.unpriced_calls += 1,
        }
        true
    }

    /// Rows sorted by their keys.
    pub fn rows(&self) -> Vec<Row> {
        self.rows.values().cloned().collect()
    }

    pub fn headers(&self) -> Vec<&'static str> {
        self.by.iter().map(|g| g.header()).collect()
    }
}

const NUMERIC_HEADERS: [&str; 9] = [
    "calls",
    "prompt",
    "completion",
    "total",
    "cached",
    "reasoning",
    "unpriced",
    "cost",
    "currency",
];

fn cells(row: &Row) -> Vec<String> {
    let mut c = row.keys.clone();
    c.extend([
        row.calls.to_string(),
        row.prompt_tokens.to_string(),
        row.completion_tokens.to_string(),
        row.total_tokens.to_string(),
        row.cached_tokens.to_string(),
        row.reasoning_tokens.to_string(),
        row.unpriced_calls.to_string(),
        format!("{:.8}", row.cost),
        row.currency.clone().unwrap_or_else(|| "-".into()),
    ]);
    c
}

fn totals(rows: &[Row], key_count: usize) -> Row {
    let mut t = Row {
        keys: vec![String::new(); key_count],
        ..Row::default()
    };
    if let Some(k) = t.keys.first_mut() {
        *k = "TOTAL".into();
    }
    for r in rows {
        t.calls += r.calls;
        t.prompt_tokens += r.prompt_tokens;
        t.completion_tokens += r.completion_tokens;
        t.total_tokens += r.total_tokens;
        t.cached_tokens += r.cached_tokens;
        t.reasoning_tokens += r.reasoning_tokens;
        t.unpriced_calls += r.unpriced_calls;
        t.cost = round_money(t.cost + r.cost);
        t.currency = match (t.currency.take(), &r.currency) {
            (None, c) => c.clone(),
            (Some(a), Some(b)) if &a == b => Some(a),
            (Some(a), None) => Some(a),
            _ => Some("mixed".into()),
        };
    }
    t
}

/// An aligned text table with a TOTAL line.
pub fn render_table(headers: &[&str], rows: &[Row]) -> String {
    let mut head: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    head.extend(NUMERIC_HEADERS.iter().map(|h| h.to_string()));
    let mut body: Vec<Vec<String>> = rows.iter().map(cells).collect();
    let total = cells(&totals(rows, headers.len()));
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for line in body.iter().chain(std::iter::once(&total)) {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let keys = headers.len();
    let fmt_line = |line: &[String]| -> String {
        let parts: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < keys || i == line.len() - 1 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", fmt_line(&head));
    let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len().saturating_sub(1));
    let _ = writeln!(out, "{}", "-".repeat(rule));
    body.push(total);
    let last = body.len() - 1;
    for (i, line) in body.iter().enumerate() {
        if i == last {
            let _ = writeln!(out, "{}", "-".repeat(rule));
        }
        let _ = writeln!(out, "{}", fmt_line(line));
    }
    out
}

/// RFC 4180 CSV (`csv` crate: fields quoted only when they hold `,`, `"` or a line break) with a
/// header line; lines end in `\n`.
pub fn render_csv(headers: &[&str], rows: &[Row]) -> String {
    let mut head: Vec<&str> = headers.to_vec();
    head.extend([
        "calls",
        "promptTokens",
        "completionTokens",
        "totalTokens",
        "cachedTokens",
        "reasoningTokens",
        "unpricedCalls",
        "cost",
        "currency",
    ]);
    let mut out = csv::Writer::from_writer(Vec::new());
    let written = std::iter::once(head.iter().map(|h| h.to_string()).collect())
        .chain(rows.iter().map(cells))
        .try_for_each(|line: Vec<String>| out.write_record(&line));
    // Writing to memory cannot fail; the cells are UTF-8.
    match (written, out.into_inner()) {
        (Ok(()), Ok(bytes)) => String::from_utf8(bytes).unwrap_or_default(),
        _ => String::new(),
    }
}

/// A JSON array of objects keyed by the grouping headers.
pub fn render_json(headers: &[&str], rows: &[Row]) -> String {
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            for (h, k) in headers.iter().zip(&r.keys) {
                m.insert((*h).to_string(), serde_json::Value::String(k.clone()));
            }
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.remove("keys");
                m.extend(obj.clone());
            }
            serde_json::Value::Object(m)
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_they_hold_a_comma_a_quote_or_a_line_break() {
        let row = Row {
            keys: vec![
                "Team \"A\", EMEA".into(),
                "plain".into(),
                "two\nlines".into(),
            ],
            calls: 1,
            cost: 0.5,
            currency: Some("USD".into()),
            ..Row::default()
        };
        let text = render_csv(&["consumer", "model", "deployment"], &[row]);
        let mut lines = text.split_inclusive('\n');
        assert_eq!(
            lines.next(),
            Some("consumer,model,deployment,calls,promptTokens,completionTokens,totalTokens,cachedTokens,reasoningTokens,unpricedCalls,cost,currency\n")
        );
        assert_eq!(
            lines.collect::<String>(),
            "\"Team \"\"A\"\", EMEA\",plain,\"two\nlines\",1,0,0,0,0,0,0,0.50000000,USD\n"
        );
    }
}
