//! Budget rendering: text lines for `report`'s stderr and HTML blocks for statements and the
//! overview.

use std::fmt::Write as _;

use rust_decimal::Decimal;

use super::{BudgetScope, BudgetStatus};
use crate::html::escape;
use crate::money::{present, present_total};

fn share(s: &BudgetStatus) -> String {
    present(s.share_percent, 1)
}

fn crossed(s: &BudgetStatus) -> String {
    let list: Vec<String> = s
        .thresholds
        .iter()
        .filter(|t| t.crossed)
        .map(|t| format!("{} %", t.percent.normalize()))
        .collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

fn scope_text(scope: &BudgetScope) -> (&'static str, &str) {
    match scope {
        BudgetScope::Consumer(id) => ("consumer", id),
        BudgetScope::CostCenter(cc) => ("cost center", cc),
    }
}

/// One line per budget, e.g. `budget cost center CC-4100: spent 412.30 of 500.00 EUR (82.5 %);
/// thresholds crossed: 50 %, 80 %` and `EXCEEDED` when over.
pub fn render_budget_lines(statuses: &[BudgetStatus]) -> Vec<String> {
    statuses
        .iter()
        .map(|s| {
            format!(
                "budget {}: spent {} of {} {} ({} %); thresholds crossed: {}{}",
                s.scope,
                present_total(s.spent, &s.currency),
                present_total(s.monthly, &s.currency),
                s.currency,
                share(s),
                crossed(s),
                if s.exceeded { "; EXCEEDED" } else { "" }
            )
        })
        .collect()
}

fn meter_width(s: &BudgetStatus) -> Decimal {
    s.share_percent.clamp(Decimal::ZERO, Decimal::ONE_HUNDRED)
}

/// The statement's budget block.
pub fn render_budget_html(s: &BudgetStatus) -> String {
    let (kind, name) = scope_text(&s.scope);
    let cur = &s.currency;
    let mut b = String::new();
    let _ = write!(
        b,
        "<div class=\"budget{cls}\" id=\"budget\" data-budget=\"{}\" data-spent=\"{}\" data-exceeded=\"{}\"><div><strong>{}</strong> of the {} {} monthly budget of {kind} {}: spent {} {}.</div><div class=\"meter\"><span style=\"width: {}%\"></span></div><div class=\"muted\">Thresholds crossed: {}.{}</div></div>",
        s.monthly,
        s.spent,
        s.exceeded,
        share(s) + " %",
        present_total(s.monthly, cur),
        escape(cur),
        escape(name),
        present_total(s.spent, cur),
        escape(cur),
        present(meter_width(s), 1),
        crossed(s),
        if s.exceeded { " <strong>Budget exceeded.</strong>" } else { "" },
        cls = if s.exceeded { " exceeded" } else { "" }
    );
    b
}

/// The overview's budget table.
pub fn render_budgets_table_html(statuses: &[BudgetStatus]) -> String {
    let mut b = String::from("<table id=\"budgets\"><thead><tr><th>Scope</th><th class=\"n\">Budget</th><th class=\"n\">Spent</th><th class=\"n\">Share</th><th>Thresholds crossed</th><th>Status</th></tr></thead><tbody>");
    for s in statuses {
        let (kind, name) = scope_text(&s.scope);
        let _ = write!(
            b,
            "<tr data-exceeded=\"{}\"><td>{kind} {}</td><td class=\"n\">{} {}</td><td class=\"n\">{}</td><td class=\"n\">{} %</td><td>{}</td><td>{}</td></tr>",
            s.exceeded,
            escape(name),
            present_total(s.monthly, &s.currency),
            escape(&s.currency),
            present_total(s.spent, &s.currency),
            share(s),
            crossed(s),
            if s.exceeded { "<strong>exceeded</strong>" } else { "within" }
        );
    }
    b.push_str("</tbody></table>");
    b
}

#[cfg(test)]
mod tests {
    use super::super::{evaluate, parse_budgets};
    use super::*;
    use std::str::FromStr;

    #[test]
    fn a_text_line_shows_budget_spent_share_and_thresholds_crossed() {
        let b = parse_budgets(
            r#"{"currency":"EUR","budgets":[{"costCenter":"CC-4100","monthly":500}]}"#,
        )
        .unwrap();
        let s = evaluate(&b.budgets[0], "EUR", Decimal::from_str("412.305").unwrap());
        assert_eq!(
            render_budget_lines(&[s]),
            ["budget cost center CC-4100: spent 412.31 of 500.00 EUR (82.5 %); thresholds crossed: 50 %, 80 %"]
        );
        let over = evaluate(&b.budgets[0], "EUR", Decimal::from(600));
        assert!(render_budget_lines(std::slice::from_ref(&over))[0]
            .ends_with("thresholds crossed: 50 %, 80 %, 100 %; EXCEEDED"));
        let html = render_budget_html(&over);
        assert!(html.contains("data-exceeded=\"true\"") && html.contains("width: 100.0%"));
    }

    #[test]
    fn scope_names_are_escaped_in_html() {
        let b = parse_budgets(r#"{"currency":"EUR","budgets":[{"consumer":"<x&y>","monthly":5}]}"#)
            .unwrap();
        let s = evaluate(&b.budgets[0], "EUR", Decimal::ONE);
        assert!(render_budget_html(&s).contains("&lt;x&amp;y&gt;"));
        assert!(render_budgets_table_html(&[s]).contains("&lt;x&amp;y&gt;"));
    }
}
