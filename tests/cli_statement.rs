//! `chargeback statement`, `report --format html|focus` and `--budgets` through the binary, on a
//! ledger replayed from the samples: the pages' exact totals agree with `report --format json`,
//! FOCUS BilledCost sums to the same, and budgets give exit 0 under, 4 over, 4 over 3.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::str::FromStr;

use rust_decimal::Decimal;

const BIN: &str = env!("CARGO_BIN_EXE_chargeback");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The samples replayed into a ledger file.
fn ledger(dir: &Path) -> String {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut files: Vec<String> = std::fs::read_dir(&samples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    let mut args = vec!["replay"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&args);
    let path = dir.join("usage.jsonl");
    std::fs::write(&path, &out.stdout).unwrap();
    path.display().to_string()
}

fn report_total(ledger: &str) -> Decimal {
    let out = run(&["report", "--format", "json", "--by", "consumer", ledger]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.iter()
        .map(|r| {
            Decimal::from_str(r["cost"].as_str().unwrap()).unwrap()
                + Decimal::from_str(r["allocated"].as_str().unwrap()).unwrap()
        })
        .sum()
}

fn attr(text: &str, name: &str) -> Decimal {
    let key = format!("{name}=\"");
    let at = text.find(&key).unwrap() + key.len();
    let rest = &text[at..];
    Decimal::from_str(&rest[..rest.find('"').unwrap()]).unwrap()
}

#[test]
fn the_statement_set_of_the_samples_totals_what_report_json_totals() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(dir.path());
    let out_dir = dir.path().join("bill");
    let out = run(&[
        "statement",
        "--period",
        "2026-11",
        "--out",
        out_dir.to_str().unwrap(),
        &ledger,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    let expected = report_total(&ledger);
    assert!(expected > Decimal::ZERO);
    assert_eq!(attr(&index, "data-total-total"), expected);
    let mut pages = Decimal::ZERO;
    for e in std::fs::read_dir(&out_dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "html") && !p.ends_with("index.html") {
            pages += attr(&std::fs::read_to_string(&p).unwrap(), "data-total-total");
        }
    }
    assert_eq!(pages, expected);
}

#[test]
fn focus_billed_cost_sums_to_the_report_total_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(dir.path());
    let out = run(&["report", "--format", "focus", &ledger]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut csv = csv::Reader::from_reader(&out.stdout[..]);
    let col = csv
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "BilledCost")
        .unwrap();
    let sum: Decimal = csv
        .records()
        .map(|r| Decimal::from_str(&r.unwrap()[col]).unwrap())
        .sum();
    assert_eq!(sum, report_total(&ledger));
    let html = run(&["report", "--format", "html", "--by", "model", &ledger]);
    assert_eq!(
        attr(&String::from_utf8_lossy(&html.stdout), "data-total-total"),
        sum
    );
}

fn budgets(dir: &Path, monthly: &str) -> String {
    let path = dir.join(format!("budgets-{monthly}.json"));
    let text = format!(
        r#"{{"currency":"USD","budgets":[{{"consumer":"support-bot","monthly":{monthly},"thresholds":[50,80,100]}}]}}"#
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn report_exits_0_under_budget_4_over_and_4_beats_3_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(dir.path());
    let under = run(&[
        "report",
        "--format",
        "html",
        "--budgets",
        &budgets(dir.path(), "100"),
        &ledger,
    ]);
    assert_eq!(
        under.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&under.stderr)
    );
    let over_file = budgets(dir.path(), "0.00001");
    let over = run(&[
        "report",
        "--format",
        "html",
        "--budgets",
        &over_file,
        &ledger,
    ]);
    assert_eq!(over.status.code(), Some(4));
    let mut bad = std::fs::read(&ledger).unwrap();
    bad.extend_from_slice(b"{not a record\n");
    let bad_ledger = dir.path().join("bad.jsonl");
    std::fs::write(&bad_ledger, bad).unwrap();
    let both = run(&[
        "report",
        "--format",
        "html",
        "--budgets",
        &over_file,
        bad_ledger.to_str().unwrap(),
    ]);
    assert_eq!(both.status.code(), Some(4));
    let err = String::from_utf8_lossy(&both.stderr);
    assert!(
        err.contains("unreadable") && err.contains("budget exceeded"),
        "{err}"
    );
}
