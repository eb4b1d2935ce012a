//! `prices check`: the table of a valid sheet, and diagnostics with line:column otherwise.

use chargeback_pricing::{check, CheckOutcome, Diagnostic, PriceSheet, SheetError, EMBEDDED_SHEET};

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match check(text) {
        CheckOutcome::Invalid(d) => d,
        CheckOutcome::Valid { .. } => panic!("expected diagnostics"),
    }
}

const BAD: &str = r#"{
  "version": "bad-2026-12",
  "unit": "per 1M tokens",
  "rates": [
    { "model": "gpt-4o", "deploymentType": "GlobalStandard", "from": "2026-11-15", "input": 2.5, "output": 10 },
    { "model": "gpt-4o", "deploymentType": "GlobalStandard", "from": "2026-11-15", "input": 2.4, "output": 9 },
    { "model": "gpt-4o", "deploymentType": "GlobalStandard", "from": "2026-01-01", "input": 2.6, "output": 11 },
    { "model": "gpt-4o", "deploymentType": "Regional", "from": "2026-01-01", "input": 2.6, "output": 11 },
    { "model": "gpt-4o-mini", "deploymentType": "DataZoneStandard", "from": "2026-13-01",
      "input": 0.165, "output": -0.66 }
  ]
}"#;

#[test]
fn check_reports_each_problem_with_the_line_and_column_of_the_offending_rate() {
    let d = diagnostics(BAD);
    let text: Vec<String> = d.iter().map(ToString::to_string).collect();
    let has = |prefix: &str, words: &str| {
        text.iter()
            .any(|t| t.starts_with(prefix) && t.contains(words))
    };
    assert!(has("1:1: error", "missing `currency`"), "{text:#?}");
    assert!(
        has("6:5: error", "overlapping rates: rates[0]"),
        "{text:#?}"
    );
    assert!(has("7:5: error", "out of date order"), "{text:#?}");
    assert!(
        has("8:44: error", "unknown deployment type \"Regional\""),
        "{text:#?}"
    );
    assert!(
        has("9:77: error", "`from` \"2026-13-01\" is not a date"),
        "{text:#?}"
    );
    assert!(has("10:33: error", "`output` is negative"), "{text:#?}");
    assert_eq!(d[1].path, "rates[1]");
}

#[test]
fn a_syntax_error_carries_serde_json_position() {
    let d = diagnostics("{\n  \"version\": \"x\",\n  \"rates\": [ { \"model\": } ]\n}");
    assert_eq!((d[0].line, d[0].column), (3, 25));
    assert!(matches!(
        PriceSheet::from_json("{"),
        Err(SheetError::Syntax { .. })
    ));
}

#[test]
fn a_valid_sheet_checks_into_its_models_types_and_dates_table() {
    let CheckOutcome::Valid { table, warnings } = check(EMBEDDED_SHEET) else {
        panic!("embedded sheet invalid")
    };
    assert!(warnings.is_empty());
    let text = table.render_table();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("price sheet azure-openai-usd-2026-11 (USD, per 1M tokens)"));
    assert!(lines[1].starts_with("model"));
    let gpt4o: Vec<&&str> = lines.iter().filter(|l| l.starts_with("gpt-4o ")).collect();
    assert_eq!(gpt4o.len(), 2, "{text}");
    assert!(
        gpt4o[0].contains("DataZoneStandard")
            && gpt4o[0].contains("2026-01-01")
            && gpt4o[0].contains("2.75")
    );
    assert!(gpt4o[1].contains("GlobalStandard") && gpt4o[1].trim_end().ends_with("10"));
}

#[test]
fn a_v1_sheet_checks_with_any_type_and_no_dates() {
    let CheckOutcome::Valid { table, .. } = check(include_str!(
        "../../../prices/azure-openai-global-standard-usd.json"
    )) else {
        panic!("v1 sheet invalid")
    };
    let text = table.render_table();
    assert!(
        text.lines()
            .any(|l| l.starts_with("gpt-4 ") && l.contains("(any)")),
        "{text}"
    );
}

#[test]
fn deployments_and_provisioned_sections_are_checked_too() {
    let text = r#"{
  "version": "x", "currency": "EUR",
  "rates": [
    { "model": "gpt-4o", "deploymentType": "GlobalStandard", "input": 1, "output": 4, "cachedinput": 0.5 }
  ],
  "deployments": { "chat": { "model": "gpt-4o", "deploymentType": "Regional" },
                   "std": { "model": "gpt-4o", "deploymentType": "Standard" } },
  "provisioned": { "ptu": { "monthly": -5 } }
}"#;
    let d = diagnostics(text);
    let text: Vec<String> = d.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("4:102: warning")
                && t.contains("unknown rate field `cachedinput`")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("6:28: error") && t.contains("unknown deployment type")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("8:40: error") && t.contains("`monthly` is negative")),
        "{text:#?}"
    );
}

#[test]
fn warnings_do_not_make_a_sheet_invalid() {
    let text = r#"{"version":"x","currency":"USD",
 "rates":[{"model":"m","deploymentType":"Standard","input":1,"output":1,"comment":"?"},
   {"model":"m","deploymentType":"ProvisionedManaged","input":1,"output":1}],
 "deployments":{"ptu":{"deploymentType":"Standard"}},
 "provisioned":{"ptu":{"monthly":100}}}"#;
    let CheckOutcome::Valid { table, warnings } = check(text) else {
        panic!("invalid")
    };
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(warnings[1].message.contains("never prices a call"));
    assert!(warnings[2]
        .message
        .contains("priced per call, not allocated"));
    assert!(table
        .render_table()
        .contains("provisioned ptu: 100 USD per month"));
    assert!(PriceSheet::from_json(text).is_ok());
}
