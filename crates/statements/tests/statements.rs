//! Statements, the overview and the statement set on disk: what each page shows, escaping, exact
//! figures in data attributes and CSV, safe file names.

mod common;

use chargeback_statements::*;
use common::*;

fn attr<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let key = format!("{name}=\"");
    html.match_indices(&key)
        .map(|(i, _)| {
            let rest = &html[i + key.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

#[test]
fn a_statement_shows_who_period_sheet_totals_lines_chart_unpriced_and_duplicates() {
    let st = statement(0);
    let html = render_statement_html(&st);
    for want in [
        "Finance analytics",
        "3f9a1c52-7d1e-4b0a-9c1f-2e8d5a6b7c90",
        "CC-4100",
        "2026-11 (2026-11-01 to 2026-11-30, UTC)",
        SHEET,
        "Pay-as-you-go",
        "Allocated provisioned cost",
        "chat-global",
        "chat-eu",
        "DataZoneStandard",
        "ptu-core",
        "provisioned share",
        "2.30 / 1M tokens",
        "10.12 / 1M tokens",
        "<svg class=\"chart\" id=\"daily-chart\"",
        "no rate for gpt-4.1-mini / GlobalStandard in the sheet",
        "data-unpriced-calls=\"37\"",
        "data-identical=\"12\"",
        "@page { size: A4;",
    ] {
        assert!(html.contains(want), "missing {want:?}");
    }
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert_eq!(
        html.matches("<rect class=\"bar\"").count(),
        30,
        "a column per day of November"
    );
}

#[test]
fn totals_are_exact_in_data_attributes_and_rounded_once_where_shown() {
    let st = statement(0);
    let html = render_statement_html(&st);
    assert_eq!(attr(&html, "data-total-payg"), [st.totals.payg.to_string()]);
    assert_eq!(attr(&html, "data-total-allocated"), ["15000.00"]);
    assert_eq!(
        attr(&html, "data-total-total"),
        [st.totals.total.to_string()]
    );
    assert!(
        st.totals.payg.scale() > 2,
        "the sample's payg total has sub-cent digits"
    );
    let shown = format!(">{} EUR<", present_total(st.totals.total, "EUR"));
    assert!(html.contains(&shown), "{shown}");
    let lines: rust_decimal::Decimal = attr(&html, "data-amount").iter().map(|a| d(a)).sum();
    assert_eq!(
        lines, st.totals.total,
        "the lines add up to the total exactly"
    );
}

#[test]
fn text_from_the_data_is_escaped_everywhere() {
    let mut st = statement(2);
    st.who.team = Some("<img src=x onerror=alert(1)>".into());
    st.lines[0].deployment = "dep\"><b>".into();
    st.unpriced = vec![Unpriced {
        reason: "model '<none>' & no rate".into(),
        calls: 1,
    }];
    let html = render_statement_html(&st);
    assert!(html.contains("R&amp;D &quot;Labs&quot; &lt;beta&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("dep&quot;&gt;&lt;b&gt;"));
    assert!(html.contains("model &#39;&lt;none&gt;&#39; &amp; no rate"));
    assert!(!html.contains("<beta>") && !html.contains("<img") && !html.contains("<b>"));
    let ov = render_overview_html(&overview());
    assert!(ov.contains("R&amp;D &quot;Labs&quot; &lt;beta&gt;") && !ov.contains("<beta>"));
}

#[test]
fn the_overview_shows_bars_per_consumer_the_trend_a_table_and_unallocated_cost() {
    let ov = overview();
    let html = render_overview_html(&ov);
    assert!(html.contains("id=\"bars-0\"") && html.contains("id=\"trend-0\""));
    assert_eq!(
        attr(&html, "data-total-total"),
        [ov.sections[0].totals.total.to_string()]
    );
    assert_eq!(attr(&html, "data-unallocated"), ["4000.00"]);
    let ids = attr(&html, "data-id");
    assert_eq!(ids.len(), 3);
    assert_eq!(
        ids[0], "3f9a1c52-7d1e-4b0a-9c1f-2e8d5a6b7c90",
        "largest first"
    );
    assert!(
        !html.contains("<a href"),
        "no links without a statement set"
    );
    assert!(html.contains("Budgets") && html.contains("cost center CC-4100"));
}

#[test]
fn the_overview_works_for_any_grouping_and_keeps_currencies_apart() {
    let mut ov = overview();
    ov.group_label = "costCenter".into();
    let mut usd = ov.sections[0].clone();
    usd.currency = "USD".into();
    ov.sections.push(usd);
    let html = render_overview_html(&ov);
    assert!(
        html.contains("Cost per cost center (EUR)") && html.contains("Cost per cost center (USD)")
    );
    assert_eq!(
        attr(&html, "data-total-total").len(),
        2,
        "one total per currency, never summed"
    );
}

#[test]
fn a_statement_set_is_written_with_safe_names_and_linked_from_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("2026-11");
    let paths = write_statement_set(&out, &overview(), &statements()).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names[0], "index.html");
    assert_eq!(paths.len(), 7);
    for p in &paths {
        assert_eq!(
            p.parent().unwrap(),
            out,
            "{} stays in the directory",
            p.display()
        );
        assert!(p.is_file());
    }
    assert!(
        names.contains(&"_._.._rnd-labs.html".to_string()),
        "{names:?}"
    );
    assert!(!dir.path().join("rnd-labs.html").exists());
    let index = std::fs::read_to_string(&paths[0]).unwrap();
    assert!(index
        .contains("<a href=\"3f9a1c52-7d1e-4b0a-9c1f-2e8d5a6b7c90.html\">Finance analytics</a>"));
    assert!(index.contains("<a href=\"_._.._rnd-labs.html\">"));
}

#[test]
fn two_ids_that_map_to_one_name_get_distinct_files() {
    let mut a = statement(0);
    let mut b = statement(1);
    a.who.id = "team/a".into();
    b.who.id = "team:a".into();
    let dir = tempfile::tempdir().unwrap();
    let paths = write_statement_set(dir.path(), &overview(), &[a, b]).unwrap();
    let htmls: Vec<_> = paths
        .iter()
        .filter(|p| p.extension().unwrap() == "html")
        .collect();
    assert_eq!(htmls.len(), 3);
    assert_ne!(htmls[1], htmls[2]);
}

#[test]
fn the_csv_carries_every_line_with_exact_amounts() {
    let st = statement(1);
    let text = render_statement_csv(&st).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let head = r.headers().unwrap().clone();
    assert_eq!(&head[0], "period");
    let amount = head.iter().position(|h| h == "amount").unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), st.lines.len());
    let sum: rust_decimal::Decimal = rows.iter().map(|x| d(&x[amount])).sum();
    assert_eq!(sum, st.totals.total);
    assert!(rows
        .iter()
        .any(|x| &x[13] == "provisionedShare" && x[10].is_empty()));
}

#[test]
fn an_overview_over_every_month_draws_the_trend_from_first_to_last_day() {
    let mut ov = overview();
    ov.period = None;
    ov.group_label = "month".into();
    let mut october = ov.sections[0].daily.clone();
    for x in &mut october {
        x.day = x.day - chrono::Days::new(31);
    }
    ov.sections[0].daily.extend(october);
    let html = render_overview_html(&ov);
    assert!(html.contains("all months"));
    let trend = &html[html.find("id=\"trend-0\"").unwrap()..];
    let trend = &trend[..trend.find("</svg>").unwrap()];
    assert_eq!(
        trend.matches("<rect class=\"bar\"").count(),
        61,
        "2026-10-01 to 2026-11-30"
    );
    assert!(trend.contains(">2026-11</text>") && trend.contains(">month (UTC)</text>"));
}

/// Every element opened is closed in order (void elements aside): the templates are well formed.
fn assert_well_formed(html: &str) {
    const VOID: [&str; 4] = ["meta", "br", "img", "hr"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("a tag is closed by >");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let self_closing = tag.ends_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if tag.starts_with('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.as_str()),
                "closing </{name}>"
            );
        } else if !self_closing && !VOID.contains(&name.as_str()) {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "left open: {stack:?}");
}

#[test]
fn every_page_is_well_formed() {
    for st in statements() {
        assert_well_formed(&render_statement_html(&st));
    }
    let mut empty = statement(0);
    empty.lines.clear();
    empty.unpriced.clear();
    empty.budget = None;
    assert_well_formed(&render_statement_html(&empty));
    assert_well_formed(&render_overview_html(&overview()));
}
