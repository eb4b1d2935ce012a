//! `prices import` on Retail Prices API answers written from the documented item format.

use std::str::FromStr;

use chargeback_pricing::{
    check, import_retail, CheckOutcome, DeploymentType, ImportError, ImportOptions, PriceSheet,
    SkipReason, Usage,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

const PAGE_1: &str = include_str!("fixtures/retail/page-1.json");
const PAGE_2: &str = include_str!("fixtures/retail/page-2.json");
const NDJSON: &str = include_str!("fixtures/retail/items.ndjson");

fn usd() -> ImportOptions {
    ImportOptions {
        currency: Some("USD".into()),
        ..ImportOptions::default()
    }
}

fn cost(sheet: &PriceSheet, model: &str, ty: DeploymentType, time: &str) -> Decimal {
    let usage = Usage {
        model: Some(model),
        version: None,
        deployment_type: ty,
        event_time: DateTime::parse_from_rfc3339(time)
            .unwrap()
            .with_timezone(&Utc),
        prompt: 1_000_000,
        cached: 0,
        completion: 1_000_000,
    };
    sheet
        .price(&usage)
        .unwrap_or_else(|e| panic!("{model}: {e}"))
        .total
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn a_multi_page_answer_with_1k_and_1m_meters_imports_into_a_valid_v2_sheet() {
    let got = import_retail(&[("page-1.json", PAGE_1), ("page-2.json", PAGE_2)], &usd()).unwrap();
    let CheckOutcome::Valid { table, .. } = check(&got.sheet_json) else {
        panic!("imported sheet does not check:\n{}", got.sheet_json)
    };
    assert_eq!(table.currency, "USD");
    let sheet = PriceSheet::from_json(&got.sheet_json).unwrap();
    let gs = DeploymentType::GlobalStandard;
    // 1K meters ×1000: gpt-4o 1120 at 2.5 / 10 per 1M, the version written as in the meter.
    assert_eq!(
        cost(&sheet, "gpt-4o-2024-11-20", gs, "2026-11-02T00:00:00Z"),
        d("12.5")
    );
    assert_eq!(
        cost(&sheet, "gpt-4o-2024-05-13", gs, "2026-11-02T00:00:00Z"),
        d("20")
    );
    assert!(got.sheet_json.contains(r#""model": "gpt-4o", "version": "1120", "deploymentType": "GlobalStandard", "from": "2024-11-20", "input": 2.5, "cachedInput": 1.25, "output": 10 }"#), "{}", got.sheet_json);
    // 1M meters as they are, and the bare `5.4` of the GPT5 product is gpt-5.4.
    assert_eq!(
        cost(&sheet, "gpt-5-mini", gs, "2026-11-02T00:00:00Z"),
        d("2.25")
    );
    assert_eq!(
        cost(
            &sheet,
            "gpt-5.4-mini",
            DeploymentType::DataZoneStandard,
            "2026-11-02T00:00:00Z"
        ),
        d("5.775")
    );
    assert_eq!(
        cost(
            &sheet,
            "gpt-5.4-mini",
            DeploymentType::GlobalBatch,
            "2026-11-02T00:00:00Z"
        ),
        d("2.625")
    );
    // A new effectiveStartDate is a dated rate: the cached and output meters carry on.
    assert_eq!(cost(&sheet, "gpt-4.1", gs, "2026-11-14T00:00:00Z"), d("10"));
    assert_eq!(
        cost(&sheet, "gpt-4.1", gs, "2026-11-15T00:00:00Z"),
        d("9.9")
    );
    // The same meter in another region at the same price merged silently.
    assert_eq!(got.rates, table.rows.len());
}

#[test]
fn every_meter_left_out_is_listed_by_name_with_its_reason() {
    let got = import_retail(&[("page-1.json", PAGE_1), ("page-2.json", PAGE_2)], &usd()).unwrap();
    let unmapped: Vec<&str> = got.unmapped.iter().map(|m| m.meter_name.as_str()).collect();
    assert_eq!(
        unmapped,
        [
            "gpt-4o-aud-1217 Inp glbl Tokens",
            "gpt 4.1 weirdly worded glbl Tokens"
        ]
    );
    assert!(got.unmapped[1].reason.contains("token kind"));
    let reason = |name: &str| {
        got.skipped
            .iter()
            .filter(|(m, _)| m.meter_name == name)
            .map(|(_, r)| r.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        reason("Provisioned Managed Global Unit"),
        [
            SkipReason::ProvisionedHourly,
            SkipReason::Reservation("Reservation".into())
        ]
    );
    assert_eq!(
        reason("Code-Interpreter-global"),
        [SkipReason::NotTokens("1".into())]
    );
    assert_eq!(
        reason("o4 mini ft hosting Dz"),
        [SkipReason::NotTokens("1 Hour".into())]
    );
    assert_eq!(reason("R1 Inp glbl Tokens"), [SkipReason::NotAzureOpenAI]);
    assert!(got.incomplete.is_empty(), "{:?}", got.incomplete);
}

#[test]
fn several_currencies_need_a_choice_and_the_currency_selects_its_copies() {
    let files = [("page-1.json", PAGE_1), ("page-2.json", PAGE_2)];
    let err = import_retail(&files, &ImportOptions::default()).unwrap_err();
    assert_eq!(
        err,
        ImportError::SeveralCurrencies(vec!["EUR".into(), "USD".into()])
    );
    let eur = ImportOptions {
        currency: Some("eur".into()),
        region: Some("WestEurope".into()),
        version: Some("eu".into()),
    };
    let got = import_retail(&files, &eur).unwrap();
    assert_eq!(got.rates, 0);
    assert_eq!(got.not_selected, 31);
    assert_eq!(got.incomplete, ["gpt-4o 1120 GlobalStandard"]);
    assert!(
        got.sheet_json.contains("\"version\": \"eu\"")
            && got.sheet_json.contains("\"currency\": \"EUR\"")
    );
}

#[test]
fn ndjson_items_import_and_conflicting_duplicates_are_errors_until_a_region_is_chosen() {
    let err = import_retail(&[("items.ndjson", NDJSON)], &ImportOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ImportError::Conflicts(ref c) if c.len() == 1),
        "{text}"
    );
    assert!(
        text.contains("brazilsouth") && text.contains("--region"),
        "{text}"
    );
    let east = ImportOptions {
        region: Some("eastus".into()),
        ..ImportOptions::default()
    };
    let got = import_retail(&[("items.ndjson", NDJSON)], &east).unwrap();
    let sheet = PriceSheet::from_json(&got.sheet_json).unwrap();
    let gs = DeploymentType::GlobalStandard;
    assert_eq!(
        cost(&sheet, "gpt-4o-mini-2024-07-18", gs, "2026-11-02T00:00:00Z"),
        d("0.75")
    );
    // Embeddings have an input meter only: their output rate is 0.
    assert_eq!(
        cost(&sheet, "text-embedding-3-small", gs, "2026-11-02T00:00:00Z"),
        d("0.02")
    );
}

#[test]
fn a_file_that_is_not_an_answer_is_an_error_with_its_position() {
    let err =
        import_retail(&[("x.json", "{\"Items\": [ {\"meterName\": 3} ]}")], &usd()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("x.json: not a Retail Prices API answer"),
        "{err}"
    );
    let err = import_retail(&[("y.json", "{\n  oops")], &usd()).unwrap_err();
    assert!(matches!(err, ImportError::Parse { line: 2, .. }), "{err}");
}

#[test]
fn a_retail_price_is_read_from_its_digits_never_through_a_float() {
    let item = r#"{"currencyCode": "USD", "tierMinimumUnits": 0.0, "retailPrice": 0.0000250000000000000001, "armRegionName": "eastus", "effectiveStartDate": "2024-02-01T00:00:00Z", "meterName": "text-embedding-3-small glbl Tokens", "productName": "Azure OpenAI", "serviceName": "Foundry Models", "unitOfMeasure": "1K", "type": "Consumption"}"#;
    let got = import_retail(&[("one.ndjson", item)], &usd()).unwrap();
    let sheet = PriceSheet::from_json(&got.sheet_json).unwrap();
    // 1K units: the per-1M rate is the price × 1000, every digit kept.
    assert_eq!(sheet.rates[0].input, d("0.0250000000000000001"));
}
