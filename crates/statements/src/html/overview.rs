//! The overview page: per currency, cost per row (consumer or group) as a bar chart, the month's
//! daily trend, a table with links to the statements, unallocated provisioned cost and budgets.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{chart, escape, every_day, page, statement::FOOTER};
use crate::budgets::render_budgets_table_html;
use crate::model::{Overview, OverviewSection};
use crate::money::{group_digits, present_total};

/// The overview without links (e.g. `report --format html` for any grouping).
pub fn render_overview_html(ov: &Overview) -> String {
    render_overview_html_with_links(ov, &BTreeMap::new())
}

/// The overview; rows whose id is in `links` link to that (relative) file.
pub fn render_overview_html_with_links(ov: &Overview, links: &BTreeMap<String, String>) -> String {
    let period = ov
        .period
        .map(|p| p.to_string())
        .unwrap_or_else(|| "all months".into());
    let title = format!("Azure OpenAI cost · {period} · by {}", ov.group_label);
    let mut b = String::new();
    let _ = write!(
        b,
        "<header><h1>Azure OpenAI cost overview</h1><p class=\"sub\"><span id=\"period\">{}</span> · by {} · price sheet <span id=\"price-sheet\">{}</span></p></header>",
        period,
        escape(&group_name(&ov.group_label).to_lowercase()),
        escape(&ov.price_sheet_version)
    );
    if ov.sections.is_empty() {
        b.push_str("<p>No usage in this period.</p>");
    }
    for (i, sec) in ov.sections.iter().enumerate() {
        section(&mut b, ov, sec, i, links);
    }
    if !ov.budgets.is_empty() {
        b.push_str("<section><h2>Budgets</h2>");
        b.push_str(&render_budgets_table_html(&ov.budgets));
        b.push_str("</section>");
    }
    let d = ov.duplicates_removed;
    let _ = write!(
        b,
        "<p class=\"muted\" id=\"duplicates\" data-identical=\"{}\" data-conflicting=\"{}\">Duplicates removed: {} identical, {} conflicting.</p>",
        d.identical, d.conflicting, d.identical, d.conflicting
    );
    b.push_str(FOOTER);
    page(&title, &b)
}

/// A reader's name for a grouping key (`costCenter` → `Cost center`); unknown keys as given.
fn group_name(key: &str) -> String {
    match key {
        "consumer" => "Consumer".into(),
        "costCenter" => "Cost center".into(),
        "team" => "Team".into(),
        "model" => "Model".into(),
        "deployment" => "Deployment".into(),
        "operation" => "Operation".into(),
        "day" => "Day".into(),
        "month" => "Month".into(),
        other => other.into(),
    }
}

fn section(
    b: &mut String,
    ov: &Overview,
    sec: &OverviewSection,
    i: usize,
    links: &BTreeMap<String, String>,
) {
    let cur = &sec.currency;
    let mut rows: Vec<_> = sec.rows.iter().collect();
    rows.sort_by(|a, b| b.totals.total.cmp(&a.totals.total).then(a.id.cmp(&b.id)));
    let bars: Vec<chart::Bar> = rows
        .iter()
        .map(|r| chart::Bar {
            label: r.label.clone(),
            payg: r.totals.payg,
            allocated: r.totals.allocated,
            total: r.totals.total,
        })
        .collect();
    let _ = write!(
        b,
        "<section data-currency=\"{c}\"><h2>Cost per {g} ({c})</h2>{}</section>",
        chart::horizontal_bars(&bars, cur, &format!("bars-{i}")),
        c = escape(cur),
        g = escape(&group_name(&ov.group_label).to_lowercase())
    );
    let _ = write!(
        b,
        "<section><h2>Daily pay-as-you-go trend ({})</h2>{}</section>",
        escape(cur),
        chart::daily_columns(
            &every_day(ov.period, &sec.daily),
            cur,
            &format!("trend-{i}")
        )
    );
    let _ = write!(
        b,
        "<section><h2>Table ({c})</h2><table class=\"overview\" data-currency=\"{c}\"><thead><tr><th>{g}</th><th>Id</th><th class=\"n\">Calls</th><th class=\"n\">Pay-as-you-go</th><th class=\"n\">Allocated</th><th class=\"n\">Total</th></tr></thead><tbody>",
        c = escape(cur),
        g = escape(&group_name(&ov.group_label))
    );
    for r in &rows {
        let name = match links.get(&r.id) {
            Some(href) => format!("<a href=\"{}\">{}</a>", escape(href), escape(&r.label)),
            None => escape(&r.label),
        };
        let _ = write!(
            b,
            "<tr data-id=\"{}\" data-total=\"{}\"><td>{name}</td><td class=\"id\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&r.id),
            r.totals.total,
            escape(&r.id),
            group_digits(r.calls),
            present_total(r.totals.payg, cur),
            present_total(r.totals.allocated, cur),
            present_total(r.totals.total, cur)
        );
    }
    let t = sec.totals;
    let calls: u64 = sec.rows.iter().map(|r| r.calls).sum();
    let _ = write!(
        b,
        "<tr class=\"sum\"><td colspan=\"2\">Total</td><td class=\"n\">{}</td><td class=\"n\" data-total-payg=\"{}\">{}</td><td class=\"n\" data-total-allocated=\"{}\">{}</td><td class=\"n\" data-total-total=\"{}\">{}</td></tr></tbody></table>",
        group_digits(calls),
        t.payg,
        present_total(t.payg, cur),
        t.allocated,
        present_total(t.allocated, cur),
        t.total,
        present_total(t.total, cur)
    );
    for u in &sec.unallocated {
        let _ = write!(
            b,
            "<p class=\"muted\" data-unallocated=\"{}\">Unallocated provisioned cost of {}: {} {} (no calls this month).</p>",
            u.amount,
            escape(&u.deployment),
            present_total(u.amount, cur),
            escape(cur)
        );
    }
    b.push_str("</section>");
}
