//! `chargeback statement` on the billing samples (two months, Data Zone with a rate change, a
//! provisioned deployment, cost centers, budgets), opened in headless Chromium: each page's DOM
//! totals equal `report --format json` on the same ledger and flags, the screenshots are not
//! blank (they stay under target/browser/ to be looked at), and the statement prints to PDF.
//! Skips when chromium is missing, except under `CI=true`.

#[path = "../crates/statements/tests/support/browser.rs"]
mod browser;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use browser::{attr, chromium, out_dir, pdf, run as render, screenshot, text_of};

const BIN: &str = env!("CARGO_BIN_EXE_chargeback");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> String {
    root()
        .join("samples/billing")
        .join(name)
        .display()
        .to_string()
}

fn chargeback(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CHARGEBACK_PRICE_SHEET")
        .env_remove("CHARGEBACK_DEPLOYMENTS")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn ledger(dir: &Path) -> String {
    let out = chargeback(&[
        "replay",
        "--price-sheet",
        &sample("contoso-ea.json"),
        &sample("events-2026-11-12.jsonl"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let path = dir.join("ledger.jsonl");
    std::fs::write(&path, &out.stdout).expect("write the ledger");
    path.display().to_string()
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("a decimal")
}

#[test]
fn the_samples_statements_render_in_chromium_with_the_totals_report_computes() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let ledger = ledger(tmp.path());
    let (sheet, consumers, budgets) = (
        sample("contoso-ea.json"),
        sample("consumers.csv"),
        sample("budgets.json"),
    );
    let money = ["--price-sheet", &sheet, "--consumers", &consumers];
    let set = out_dir().join("samples-2026-11");
    let _ = std::fs::remove_dir_all(&set);
    let set_arg = set.display().to_string();
    let mut args = vec!["statement", "--period", "2026-11", "--out", &set_arg];
    args.extend(money);
    args.extend(["--budgets", &budgets, &ledger]);
    let out = chargeback(&args);
    // support-bot's 0.20 EUR budget is exceeded by its 0.23022 EUR.
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut args = vec!["report", "--format", "json", "--by", "consumer,month"];
    args.extend(money);
    args.push(&ledger);
    let rows: Vec<Value> = serde_json::from_slice(&chargeback(&args).stdout).expect("report json");
    let total_of = |who: &str| -> Decimal {
        rows.iter()
            .filter(|r| r["consumer"] == who && r["month"] == "2026-11")
            .map(|r| d(r["totalCost"].as_str().expect("totalCost")))
            .sum()
    };

    let page = set.join("planning-agent.html");
    let dom = render(&browser, &page, &["--dump-dom".into()]);
    assert_eq!(
        d(&attr(&dom, "data-total-total")[0]),
        total_of("planning-agent")
    );
    assert_eq!(d(&attr(&dom, "data-total-allocated")[0]), d("1500.00"));
    assert_eq!(text_of(&dom, "who-name"), "FP&amp;A planning agent");
    assert!(!dom.contains("<script"));

    let index = set.join("index.html");
    let overview = render(&browser, &index, &["--dump-dom".into()]);
    let all: Decimal = ["planning-agent", "finance-analytics", "support-bot"]
        .iter()
        .map(|w| total_of(w))
        .sum();
    assert_eq!(d(&attr(&overview, "data-total-total")[0]), all);
    assert_eq!(attr(&overview, "data-exceeded"), ["false", "true"]);

    screenshot(&browser, &page, "samples-statement-planning-agent");
    screenshot(&browser, &index, "samples-overview-2026-11");
    let pages = pdf(&browser, &page, "samples-statement-planning-agent");
    assert!(
        (1..=3).contains(&pages),
        "prints on 1 to 3 pages, not {pages}"
    );
}

#[test]
fn report_format_html_renders_the_overview_with_reports_total_and_the_unallocated_month_apart() {
    let Some(browser) = chromium() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let ledger = ledger(tmp.path());
    let sheet = sample("contoso-ea.json");
    let report = |format: &str| {
        chargeback(&[
            "report",
            "--format",
            format,
            "--by",
            "consumer",
            "--price-sheet",
            &sheet,
            &ledger,
        ])
    };
    let html = report("html");
    assert_eq!(html.status.code(), Some(0));
    let page = out_dir().join("samples-overview-by-consumer.html");
    std::fs::write(&page, &html.stdout).expect("write");
    let rows: Vec<Value> = serde_json::from_slice(&report("json").stdout).expect("json");
    let total = |unallocated: bool| -> Decimal {
        rows.iter()
            .filter(|r| (r["consumer"] == "(unallocated)") == unallocated)
            .map(|r| d(r["totalCost"].as_str().expect("totalCost")))
            .sum()
    };
    let dom = render(&browser, &page, &["--dump-dom".into()]);
    // The groups' totals agree; December's provisioned month, which no call used, is shown
    // apart in the overview and as the (unallocated) row in the report.
    assert_eq!(d(&attr(&dom, "data-total-total")[0]), total(false));
    assert_eq!(total(true), d("2000.00"));
    assert_eq!(
        attr(&dom, "data-unallocated")
            .iter()
            .map(|a| d(a))
            .sum::<Decimal>(),
        total(true)
    );
    screenshot(&browser, &page, "samples-overview-by-consumer");
}
