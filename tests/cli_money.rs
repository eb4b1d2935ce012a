//! The money model through the binary: Data Zone and Global meters from the sheet's deployments,
//! a rate change mid-month, provisioned (PTU) months allocated by `report --price-sheet` (3:1
//! with the remainder by largest remainder, a month without calls unallocated), re-pricing,
//! cost centers with unmapped consumers listed, and `prices check|import` exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_chargeback");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CHARGEBACK_PRICE_SHEET")
        .env_remove("CHARGEBACK_DEPLOYMENTS")
        .env_remove("CHARGEBACK_DEPLOYMENT_MODELS")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("a decimal")
}

fn sheet() -> String {
    root()
        .join("samples/billing/contoso-ea.json")
        .display()
        .to_string()
}

/// The billing samples replayed under the Contoso sheet (its `deployments` give the types).
fn billing_ledger(dir: &Path) -> String {
    let events = root().join("samples/billing/events-2026-11-12.jsonl");
    let out = run(&[
        "replay",
        "--price-sheet",
        &sheet(),
        &events.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = dir.join("ledger.jsonl");
    std::fs::write(&path, &out.stdout).expect("write the ledger");
    path.display().to_string()
}

fn records(ledger: &str) -> Vec<Value> {
    std::fs::read_to_string(ledger)
        .expect("read the ledger")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record"))
        .collect()
}

fn by_id<'a>(rows: &'a [Value], id_suffix: &str) -> &'a Value {
    rows.iter()
        .find(|r| {
            r["requestId"]
                .as_str()
                .is_some_and(|s| s.ends_with(id_suffix))
        })
        .expect("the record")
}

fn report_json(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["report", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(
        matches!(out.status.code(), Some(0 | 3 | 4)),
        "{}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).expect("report json")
}

fn amount(row: &Value, field: &str) -> Decimal {
    d(row[field].as_str().expect("an amount as text"))
}

#[test]
fn data_zone_and_global_deployments_of_one_model_are_priced_at_their_own_meters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = records(&billing_ledger(dir.path()));
    let global = by_id(&rows, "000000000005");
    assert_eq!(global["deploymentType"], "GlobalStandard");
    // 45,000 × 2.30 + 6,000 × 9.20 per 1M tokens.
    assert_eq!(global["cost"]["total"], json!(0.1587));
    let dz = by_id(&rows, "000000000002");
    assert_eq!(dz["deploymentType"], "DataZoneStandard");
    // 30,000 × 2.53 + 2,500 × 10.12 per 1M tokens.
    assert_eq!(dz["cost"]["total"], json!(0.1012));
    assert_eq!(dz["cost"]["priceSheet"], "contoso-ea-2026-11");
}

#[test]
fn a_rate_change_in_the_middle_of_the_month_prices_each_call_at_its_own_date() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = records(&billing_ledger(dir.path()));
    // 2026-11-14 23:15: the old Data Zone rate (18,000 × 2.53 + 1,200 × 10.12).
    assert_eq!(
        by_id(&rows, "000000000003")["cost"]["total"],
        json!(0.057684)
    );
    // 2026-11-16: the new one (22,000 × 2.41 + 1,900 × 9.64).
    assert_eq!(
        by_id(&rows, "000000000004")["cost"]["total"],
        json!(0.071336)
    );
}

#[test]
fn provisioned_calls_carry_tokens_but_no_per_call_price() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = records(&billing_ledger(dir.path()));
    let ptu = by_id(&rows, "000000000006");
    // `Provisioned` (as the sheet says) stands for any of the three provisioned SKUs.
    assert_eq!(ptu["deploymentType"], "Provisioned");
    assert_eq!(ptu["promptTokens"], 200000);
    assert!(ptu.get("cost").is_none());
    assert_eq!(ptu["unpriced"], "provisioned");
}

#[test]
fn report_price_sheet_splits_a_ptu_month_three_to_one_and_leaves_a_month_without_calls_unallocated()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = billing_ledger(dir.path());
    let rows = report_json(&["--by", "consumer,month", "--price-sheet", &sheet(), &ledger]);
    let find = |who: &str, month: &str| {
        rows.iter()
            .find(|r| r["consumer"] == who && r["month"] == month)
            .unwrap_or_else(|| panic!("row {who} {month} in {rows:?}"))
    };
    // Weighted tokens: planning 300,000 + 4 × 37,500 = 450,000; finance 100,000 + 4 × 12,500.
    assert_eq!(
        amount(find("planning-agent", "2026-11"), "allocated"),
        d("1500.00")
    );
    assert_eq!(
        amount(find("finance-analytics", "2026-11"), "allocated"),
        d("500.00")
    );
    // December covers the ledger but ptu-core had no call: the whole month is unallocated.
    assert_eq!(
        amount(find("(unallocated)", "2026-12"), "allocated"),
        d("2000.00")
    );
    // Without the flag nothing is allocated.
    let plain = report_json(&["--by", "consumer,month", &ledger]);
    assert!(plain.iter().all(|r| amount(r, "allocated").is_zero()));
}

/// A ledger of two provisioned calls whose weights split 1000.01 EUR 3:1 with a cent left over.
fn ptu_ledger(dir: &Path) -> (String, String) {
    let sheet = json!({
        "version": "ptu-test", "currency": "EUR", "unit": "per 1M tokens",
        "rates": [{ "model": "gpt-4o", "deploymentType": "GlobalStandard", "from": "2026-01-01",
                    "input": 2.30, "output": 9.20 }],
        "deployments": { "ptu-core": { "model": "gpt-4o", "deploymentType": "Provisioned" } },
        "provisioned": { "ptu-core": { "monthly": 1000.01 } }
    });
    let row = |id: &str, sub: &str, prompt: u64| {
        json!({"requestId": id, "eventTime": "2026-11-05T10:00:00Z",
               "consumer": {"subscriptionId": sub}, "apiOperation": "ChatCompletion",
               "deployment": "ptu-core", "deploymentType": "ProvisionedManaged", "model": "gpt-4o",
               "stream": false, "statusCode": 200, "billable": true, "promptTokens": prompt,
               "completionTokens": 0, "totalTokens": prompt, "cachedTokens": 0,
               "reasoningTokens": 0, "countSource": "usage", "unpriced": "provisioned"})
        .to_string()
    };
    let sheet_path = dir.join("ptu.json");
    std::fs::write(&sheet_path, sheet.to_string()).expect("write the sheet");
    let ledger = dir.join("ptu.jsonl");
    std::fs::write(
        &ledger,
        format!(
            "{}\n{}\n",
            row("r-1", "team-a", 3000),
            row("r-2", "team-b", 1000)
        ),
    )
    .expect("write the ledger");
    (
        sheet_path.display().to_string(),
        ledger.display().to_string(),
    )
}

#[test]
fn ptu_shares_are_rounded_by_largest_remainder_and_sum_to_the_monthly_cost_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sheet, ledger) = ptu_ledger(dir.path());
    let rows = report_json(&["--by", "consumer", "--price-sheet", &sheet, &ledger]);
    let share = |who: &str| {
        amount(
            rows.iter().find(|r| r["consumer"] == who).expect("row"),
            "allocated",
        )
    };
    // Exact quotas 750.0075 and 250.0025: the cent left goes to the larger remainder.
    assert_eq!(share("team-a"), d("750.01"));
    assert_eq!(share("team-b"), d("250.00"));
    assert_eq!(share("team-a") + share("team-b"), d("1000.01"));
}

#[test]
fn the_table_shows_allocated_cost_beside_pay_as_you_go_and_their_total() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = billing_ledger(dir.path());
    let out = run(&[
        "report",
        "--by",
        "month",
        "--price-sheet",
        &sheet(),
        &ledger,
    ]);
    let text = stdout(&out);
    let header = text.lines().next().expect("a header");
    assert!(header.contains("allocated"), "{text}");
    assert!(
        header.contains("total cost") || header.contains("totalCost"),
        "{text}"
    );
}

#[test]
fn reprice_prices_every_row_again_under_the_new_sheet_and_without_it_costs_stay_as_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = billing_ledger(dir.path());
    let cheaper = dir.path().join("cheaper.json");
    let text = std::fs::read_to_string(sheet())
        .expect("sheet")
        .replace("\"contoso-ea-2026-11\"", "\"contoso-ea-2027-01\"")
        .replace("\"input\": 2.30", "\"input\": 1.15");
    std::fs::write(&cheaper, text).expect("write");
    let cheaper = cheaper.display().to_string();
    let total = |rows: &[Value]| -> Decimal {
        rows.iter()
            .filter(|r| r["consumer"] == "planning-agent")
            .map(|r| amount(r, "cost"))
            .sum()
    };
    let recorded = report_json(&["--by", "consumer", "--price-sheet", &cheaper, &ledger]);
    let repriced = report_json(&[
        "--by",
        "consumer",
        "--price-sheet",
        &cheaper,
        "--reprice",
        &ledger,
    ]);
    // planning-agent's one Global call: 45,000 × 2.30 + 6,000 × 9.20 = 0.1587 as recorded;
    // 45,000 × 1.15 + 6,000 × 9.20 = 0.10695 re-priced.
    assert_eq!(total(&recorded), d("0.1587"));
    assert_eq!(total(&repriced), d("0.10695"));
}

#[test]
fn reprice_needs_a_price_sheet() {
    let out = run(&["report", "--reprice", "-"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn cost_centers_group_the_bill_and_unmapped_consumers_are_listed_on_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = billing_ledger(dir.path());
    let consumers = root().join("samples/billing/consumers.csv");
    let out = run(&[
        "report",
        "--format",
        "json",
        "--by",
        "costCenter",
        "--consumers",
        &consumers.display().to_string(),
        &ledger,
    ]);
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    let centers: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["costCenter"].as_str())
        .collect();
    // finance-analytics and planning-agent by subscription (CC-4100); support-bot by its
    // product (CC-9000): a subscription match wins over a product match. Without
    // --price-sheet the provisioned calls are unpriced, in a row of their own (no currency).
    assert_eq!(centers, ["CC-4100", "CC-4100", "CC-9000"], "{rows:?}");
    assert_eq!(rows[0]["currency"], Value::Null);
    assert_eq!(rows[0]["unpricedCalls"], 3);
    // November and December pay-as-you-go of finance-analytics and planning-agent.
    assert_eq!(amount(&rows[1], "cost"), d("0.2160896"));
    assert_eq!(rows[2]["calls"], 4);
}

#[test]
fn a_consumer_in_no_row_of_the_consumers_file_is_unmapped_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = billing_ledger(dir.path());
    let consumers = dir.path().join("consumers.csv");
    std::fs::write(
        &consumers,
        "match,value,costCenter,team,displayName\nsubscriptionId,finance-analytics,CC-4100,Finance,Finance\n",
    )
    .expect("write");
    let out = run(&[
        "report",
        "--by",
        "costCenter",
        "--consumers",
        &consumers.display().to_string(),
        &ledger,
    ]);
    assert!(stdout(&out).contains("(unmapped)"), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("support-bot") && err.contains("planning-agent"),
        "{err}"
    );
}

#[test]
fn prices_check_prints_the_table_of_a_valid_sheet_and_exits_1_with_positions_for_a_bad_one() {
    let ok = run(&["prices", "check", &sheet()]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let table = stdout(&ok);
    assert!(
        table.contains("DataZoneStandard") && table.contains("2026-11-15"),
        "{table}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"version\": \"x\",\n  \"rates\": [\n    { \"model\": \"gpt-4o\", \"deploymentType\": \"Turbo\", \"from\": \"2026-01-01\", \"input\": -1, \"output\": 2 }\n  ]\n}\n",
    )
    .expect("write");
    let out = run(&["prices", "check", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.json:4:"), "{err}");
    assert!(err.contains("currency"), "{err}");
}

#[test]
fn prices_import_writes_a_v2_sheet_and_exits_3_naming_each_meter_it_cannot_map() {
    let dir = root().join("crates/pricing/tests/fixtures/retail");
    let page = |n: &str| dir.join(n).display().to_string();
    let (p1, p2) = (page("page-1.json"), page("page-2.json"));
    let out = run(&["prices", "import", "--currency", "USD", &p1, &p2]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot map meter \"gpt-4o-aud-1217 Inp glbl Tokens\""),
        "{err}"
    );
    assert!(
        err.contains("cannot map meter \"gpt 4.1 weirdly worded glbl Tokens\""),
        "{err}"
    );
    // The sheet it wrote checks, and prices the 1K meter's model per 1M.
    let dir = tempfile::tempdir().expect("tempdir");
    let sheet = dir.path().join("imported.json");
    std::fs::write(&sheet, &out.stdout).expect("write");
    let check = run(&["prices", "check", &sheet.display().to_string()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(stdout(&check).contains("gpt-4o"), "{}", stdout(&check));
}
