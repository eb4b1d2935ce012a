//! The pages in a real browser: Debian's headless `chromium` loads a written statement set from
//! disk (no network), its DOM's totals are checked against the input model, its screenshots must
//! not be blank, and it prints to PDF. Skips when chromium is missing, except under `CI=true`.
//! Screenshots and PDFs stay under `target/browser/` for a person to look at.

#[path = "support/browser.rs"]
mod browser;
mod common;

use browser::*;

use chargeback_statements::*;
use common::*;

#[test]
fn a_statement_and_the_overview_render_in_chromium_with_the_models_totals() {
    let Some(browser) = chromium() else { return };
    let dir = out_dir().join("set");
    let sts = statements();
    let ov = overview();
    let paths = write_statement_set(&dir, &ov, &sts).unwrap();

    let st = &sts[0];
    let page = &paths[1];
    let dom = run(&browser, page, &["--dump-dom".into()]);
    assert_eq!(attr(&dom, "data-total-payg"), [st.totals.payg.to_string()]);
    assert_eq!(
        attr(&dom, "data-total-allocated"),
        [st.totals.allocated.to_string()]
    );
    assert_eq!(
        attr(&dom, "data-total-total"),
        [st.totals.total.to_string()]
    );
    assert_eq!(
        text_of(&dom, "total-total"),
        format!("{} EUR", present_total(st.totals.total, "EUR"))
    );
    assert_eq!(text_of(&dom, "who-name"), "Finance analytics");
    assert!(!dom.contains("<script"));

    let rnd = run(&browser, &paths[5], &["--dump-dom".into()]);
    assert_eq!(
        text_of(&rnd, "who-name"),
        "R&amp;D \"Labs\" &lt;beta&gt;",
        "the name is text, not markup"
    );

    let index = run(&browser, &paths[0], &["--dump-dom".into()]);
    let t = ov.sections[0].totals;
    assert_eq!(attr(&index, "data-total-payg"), [t.payg.to_string()]);
    assert_eq!(attr(&index, "data-total-total"), [t.total.to_string()]);
    let row_totals: Vec<String> = attr(&index, "data-total");
    assert_eq!(row_totals.len(), 3);

    screenshot(&browser, page, "statement");
    screenshot(&browser, &paths[0], "overview");
    let pages = pdf(&browser, page, "statement");
    assert!(
        (1..=3).contains(&pages),
        "the statement prints on 1 to 3 A4 pages, not {pages}"
    );
}

/// Many rows with long names, a second currency with no minor unit, and a statement without usage.
fn crowded() -> (Overview, Statement) {
    let mut ov = overview();
    let base = ov.sections[0].rows[0].clone();
    ov.sections[0].rows = (0..24)
        .map(|i| OverviewRow {
            id: format!("sub-{i:02}-0c2d2a7e4f8b9d3c"),
            label: format!("Team {i} — a consumer whose display name is far too long <{i}> & more"),
            calls: base.calls / (i + 1),
            totals: Totals::of(
                base.totals.payg / rust_decimal::Decimal::from(i + 1),
                if i % 3 == 0 { d("1250.50") } else { d("0") },
            ),
        })
        .collect();
    let mut yen = ov.sections[0].clone();
    yen.currency = "JPY".into();
    yen.rows.truncate(3);
    for r in &mut yen.rows {
        r.totals = Totals::of(
            r.totals.payg * d("161.37"),
            r.totals.allocated * d("161.37"),
        );
    }
    ov.sections.push(yen);
    let mut empty = statement(2);
    empty.lines.clear();
    empty.daily.clear();
    empty.totals = Totals::default();
    empty.unpriced.clear();
    let budgets = parse_budgets(
        r#"{"currency":"EUR","budgets":[{"consumer":"../../rnd-labs","monthly":10}]}"#,
    )
    .unwrap();
    empty.budget = Some(evaluate_budget(&budgets.budgets[0], "EUR", d("12.5")));
    (ov, empty)
}

#[test]
fn crowded_pages_render_without_blank_or_broken_charts() {
    let Some(browser) = chromium() else { return };
    let dir = out_dir().join("crowded");
    let (ov, empty) = crowded();
    let paths = write_statement_set(&dir, &ov, &[empty]).unwrap();
    let index = run(&browser, &paths[0], &["--dump-dom".into()]);
    assert_eq!(
        attr(&index, "data-total-total").len(),
        2,
        "EUR and JPY apart"
    );
    assert_eq!(attr(&index, "data-id").len(), 27);
    let st = run(&browser, &paths[1], &["--dump-dom".into()]);
    assert_eq!(attr(&st, "data-total-total"), ["0"]);
    assert_eq!(attr(&st, "data-exceeded"), ["true"]);
    assert!(st.contains("No pay-as-you-go cost in this period"));
    screenshot(&browser, &paths[0], "crowded-overview");
    screenshot(&browser, &paths[1], "empty-statement");
}
