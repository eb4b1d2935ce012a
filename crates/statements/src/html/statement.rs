//! The statement page: who, the period, the sheet, the totals, one line per deployment × model ×
//! token kind, the daily chart, unpriced calls, duplicates removed and the budget.

use std::fmt::Write as _;

use super::{chart, escape, every_day, page};
use crate::budgets::render_budget_html;
use crate::model::{LineKind, Statement, TokenKind};
use crate::money::{group_digits, present_line, present_rate, present_total};

/// The statement as one self-contained HTML page.
pub fn render_statement_html(st: &Statement) -> String {
    let title = format!("{} · {} · usage statement", st.who.display_name, st.period);
    let mut b = String::new();
    header(&mut b, st);
    totals(&mut b, st);
    if let Some(budget) = &st.budget {
        b.push_str("<h2>Budget</h2>");
        b.push_str(&render_budget_html(budget));
    }
    lines(&mut b, st);
    b.push_str("<section><h2>Daily pay-as-you-go cost</h2>");
    b.push_str(&chart::daily_columns(
        &every_day(Some(st.period), &st.daily),
        &st.currency,
        "daily-chart",
    ));
    let _ = write!(
        b,
        "<p class=\"muted\">Amounts in {}. Provisioned shares are monthly and are not part of the daily chart.</p></section>",
        escape(&st.currency)
    );
    quality(&mut b, st);
    b.push_str(FOOTER);
    page(&title, &b)
}

pub(crate) const FOOTER: &str = "<footer>Amounts are exact in the data and rounded once, here, half away from zero: totals to the currency's minor unit, line and daily amounts to two more digits; rates are shown exactly. The CSV beside this page carries the exact amounts.</footer>";

fn header(b: &mut String, st: &Statement) {
    let w = &st.who;
    let _ = write!(
        b,
        "<header><h1>Azure OpenAI usage statement</h1><p class=\"sub\">{} · {}</p></header><dl class=\"who\">",
        escape(&w.display_name),
        st.period
    );
    let mut row = |k: &str, id: &str, v: &str| {
        let _ = write!(b, "<dt>{k}</dt><dd id=\"{id}\">{}</dd>", escape(v));
    };
    row("Name", "who-name", &w.display_name);
    row("Id", "who-id", &w.id);
    row(
        "Cost center",
        "who-cost-center",
        w.cost_center.as_deref().unwrap_or("—"),
    );
    if let Some(team) = &w.team {
        row("Team", "who-team", team);
    }
    let last = st.period.next().first_day().pred_opt().unwrap_or_default();
    row(
        "Period",
        "period",
        &format!("{} ({} to {}, UTC)", st.period, st.period.first_day(), last),
    );
    row("Price sheet", "price-sheet", &st.price_sheet_version);
    row("Currency", "currency", &st.currency);
    row("Calls", "calls", &group_digits(st.calls));
    b.push_str("</dl>");
}

fn totals(b: &mut String, st: &Statement) {
    let t = &st.totals;
    let cur = escape(&st.currency);
    b.push_str("<div class=\"totals\">");
    for (class, key, label, v) in [
        ("", "payg", "Pay-as-you-go", t.payg),
        ("", "allocated", "Allocated provisioned cost", t.allocated),
        ("grand", "total", "Total", t.total),
    ] {
        let _ = write!(
            b,
            "<div class=\"{class}\"><div class=\"k\">{label}</div><div class=\"v\" id=\"total-{key}\" data-total-{key}=\"{exact}\">{shown} {cur}</div></div>",
            exact = v,
            shown = present_total(v, &st.currency)
        );
    }
    b.push_str("</div>");
}

fn lines(b: &mut String, st: &Statement) {
    let cur = &st.currency;
    b.push_str("<section><h2>Lines</h2><table id=\"lines\"><thead><tr><th>Deployment</th><th>Model</th><th>Type</th><th>Token kind</th><th class=\"n\">Tokens</th><th class=\"n\">Rate</th><th class=\"n\">Amount</th></tr></thead><tbody>");
    for l in &st.lines {
        let rate = match (l.kind, l.rate) {
            (LineKind::ProvisionedShare, _) => "provisioned share".to_string(),
            (_, Some(r)) => format!("{} / {}", present_rate(r, cur), escape(&l.unit)),
            (_, None) => "—".to_string(),
        };
        let _ = write!(
            b,
            "<tr data-kind=\"{}\" data-amount=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{rate}</td><td class=\"n\">{}</td></tr>",
            l.kind.as_str(),
            l.amount,
            escape(&l.deployment),
            escape(&l.model),
            escape(&l.deployment_type),
            l.token_kind.map(TokenKind::label).unwrap_or("all (weighted)"),
            group_digits(l.quantity),
            present_line(l.amount, cur)
        );
    }
    if st.lines.is_empty() {
        b.push_str("<tr><td colspan=\"7\" class=\"muted\">No usage in this period.</td></tr>");
    }
    let _ = write!(
        b,
        "<tr class=\"sum\"><td colspan=\"6\">Total</td><td class=\"n\">{} {}</td></tr></tbody></table></section>",
        present_total(st.totals.total, cur),
        escape(cur)
    );
}

fn quality(b: &mut String, st: &Statement) {
    b.push_str("<section><h2>Calls that could not be priced</h2>");
    if st.unpriced.is_empty() {
        b.push_str("<p id=\"unpriced\" data-unpriced-calls=\"0\">None: every call was priced.</p>");
    } else {
        let total: u64 = st.unpriced.iter().map(|u| u.calls).sum();
        let _ = write!(
            b,
            "<table id=\"unpriced\" data-unpriced-calls=\"{total}\"><thead><tr><th>Why</th><th class=\"n\">Calls</th></tr></thead><tbody>"
        );
        for u in &st.unpriced {
            let _ = write!(
                b,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                escape(&u.reason),
                group_digits(u.calls)
            );
        }
        b.push_str("</tbody></table><p class=\"muted\">Their tokens are counted; they carry no cost until a rate exists.</p>");
    }
    let d = st.duplicates_removed;
    let _ = write!(
        b,
        "</section><section><h2>Duplicates removed</h2><p id=\"duplicates\" data-identical=\"{}\" data-conflicting=\"{}\">{} identical repeats (at-least-once delivery) and {} conflicting repeats of a request id were left out; each call is billed once.</p></section>",
        d.identical,
        d.conflicting,
        group_digits(d.identical),
        group_digits(d.conflicting)
    );
}
