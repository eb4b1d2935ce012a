//! Self-contained HTML pages (inline CSS and SVG, no script, nothing fetched at view time, A4 print
//! rules): the shared page shell and escaping; the statement and overview pages live beside it.

mod chart;
mod overview;
mod statement;

pub use overview::{render_overview_html, render_overview_html_with_links};
pub use statement::render_statement_html;

use std::fmt::Write as _;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::model::{DailyCost, YearMonth};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ink: #1d2733; --muted: #5b6775; --rule: #d5dbe2; --bar: #2f6fb3; --bar2: #7aa7d9; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink); margin: 0; padding: 28px 36px; max-width: 1100px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 26px 0 8px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
p.sub, .muted { color: var(--muted); margin: 0; }
dl.who { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 14px 0; }
dl.who dt { color: var(--muted); } dl.who dd { margin: 0; overflow-wrap: anywhere; }
.totals { display: flex; gap: 14px; margin: 16px 0; flex-wrap: wrap; }
.totals > div { background: var(--bg); border: 1px solid var(--rule); border-radius: 6px; padding: 10px 16px; min-width: 200px; }
.totals .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.totals .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.totals .grand { border-color: var(--bar); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; }
tr.sum td { font-weight: 600; border-top: 2px solid var(--ink); }
td.id { overflow-wrap: anywhere; font-size: 12px; color: var(--muted); }
svg.chart { display: block; max-width: 100%; height: auto; }
svg .grid { stroke: var(--rule); stroke-width: 1; }
svg .axis { stroke: var(--ink); stroke-width: 1; }
svg .bar { fill: var(--bar); }
svg .bar2 { fill: var(--bar2); }
svg text { font: 11px "DejaVu Sans", Helvetica, Arial, sans-serif; fill: var(--muted); }
svg text.val { fill: var(--ink); font-weight: 600; }
svg text.empty { font-size: 14px; }
.budget { border: 1px solid var(--rule); border-radius: 6px; padding: 10px 14px; }
.budget.exceeded { border-color: #b3261e; background: #fdf0ef; }
.meter { height: 10px; background: var(--bg); border: 1px solid var(--rule); border-radius: 5px; overflow: hidden; margin: 6px 0; }
.meter span { display: block; height: 100%; background: var(--bar); }
.budget.exceeded .meter span { background: #b3261e; }
footer { margin-top: 28px; font-size: 12px; color: var(--muted); }
@page { size: A4; margin: 14mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, svg.chart, .totals, .budget, section { break-inside: avoid; page-break-inside: avoid; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  footer { font-size: 9px; }
}
"#;

/// A whole page around `body`.
pub(crate) fn page(title: &str, body: &str) -> String {
    let mut s = String::with_capacity(body.len() + STYLE.len() + 256);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape(title)
    );
    s
}

/// Every day of `period` (or, without one, from the first to the last day in `daily`) with its
/// amount: zero where `daily` has none, same-day entries added up.
pub(crate) fn every_day(
    period: Option<YearMonth>,
    daily: &[DailyCost],
) -> Vec<(NaiveDate, Decimal)> {
    let days: Vec<NaiveDate> = match period {
        Some(p) => p.days().collect(),
        None => match (
            daily.iter().map(|d| d.day).min(),
            daily.iter().map(|d| d.day).max(),
        ) {
            (Some(first), Some(last)) => first.iter_days().take_while(|d| *d <= last).collect(),
            _ => Vec::new(),
        },
    };
    days.into_iter()
        .map(|day| {
            let amount = daily
                .iter()
                .filter(|d| d.day == day)
                .map(|d| d.amount)
                .sum();
            (day, amount)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_and_quotes_are_escaped() {
        assert_eq!(
            escape(r#"<b>R&D "bots" 'x'</b>"#),
            "&lt;b&gt;R&amp;D &quot;bots&quot; &#39;x&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn the_page_has_no_script_and_fetches_nothing() {
        let p = page("t", "<p>x</p>");
        assert!(!p.to_ascii_lowercase().contains("<script"));
        assert!(
            !p.contains("http://")
                || !p
                    .replace("http://www.w3.org/2000/svg", "")
                    .contains("http://")
        );
        assert!(!p.contains("https://"));
        assert!(p.contains("@media print"));
    }
}
