//! Price sheets v1 and v2: lookup precedence, dated rates, deployment types, unpriced reasons.

use std::str::FromStr;

use chargeback_pricing::{
    DeploymentType, PriceSheet, SheetFormat, Unpriced, Usage, EMBEDDED_SHEET,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn at(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
}

fn usage<'a>(model: &'a str, ty: DeploymentType, time: &str, p: u64, c: u64, o: u64) -> Usage<'a> {
    Usage {
        model: Some(model),
        version: None,
        deployment_type: ty,
        event_time: at(time),
        prompt: p,
        cached: c,
        completion: o,
    }
}

const GS: DeploymentType = DeploymentType::GlobalStandard;
const DZ: DeploymentType = DeploymentType::DataZoneStandard;

const V1_TODAY: &str = include_str!("../../../prices/azure-openai-global-standard-usd.json");

const ISSUE_SHEET: &str = r#"{
  "version": "contoso-ea-2026-12", "currency": "EUR", "unit": "per 1M tokens",
  "rates": [
    { "model": "gpt-4o", "deploymentType": "GlobalStandard", "from": "2026-01-01",
      "input": 2.30, "cachedInput": 1.15, "output": 9.20 },
    { "model": "gpt-4o", "deploymentType": "GlobalStandard", "from": "2026-11-15",
      "input": 2.00, "cachedInput": 1.00, "output": 8.00 },
    { "model": "gpt-4o", "deploymentType": "DataZoneStandard", "from": "2026-11-15",
      "input": 2.53, "cachedInput": 1.27, "output": 10.12 },
    { "model": "gpt-4o", "version": "2024-05-13", "deploymentType": "GlobalStandard", "from": "2026-01-01",
      "input": 5.00, "output": 15.00 }
  ],
  "deployments": { "chat-eu": { "model": "gpt-4o", "deploymentType": "DataZoneStandard" },
                   "ptu-core": { "model": "gpt-4o", "deploymentType": "Provisioned" } },
  "provisioned": { "ptu-core": { "monthly": 20000.00,
                                 "weights": { "input": 1, "cachedInput": 0, "output": 4 } } }
}"#;

#[test]
fn a_v1_sheet_still_reads_and_prices_as_today() {
    let s = PriceSheet::from_json(
        r#"{"version":"t","currency":"EUR","models":{"m":{"input":2.0,"cachedInput":0.5,"output":8.0}}}"#,
    )
    .unwrap();
    assert_eq!(s.format, SheetFormat::V1);
    let c = s
        .price(&usage(
            "m",
            GS,
            "2026-11-02T09:00:00Z",
            1_000_000,
            400_000,
            500_000,
        ))
        .unwrap();
    assert_eq!(
        (c.input, c.cached_input, c.output, c.total),
        (d("1.2"), d("0.2"), d("4"), d("5.4"))
    );
    assert_eq!(c.currency, "EUR");
    // Today's sheet: the same suffix rules, the same cached fallback, no sibling pricing.
    let today = PriceSheet::from_json(V1_TODAY).unwrap();
    let gpt4 = today
        .price(&usage("gpt-4", GS, "2026-11-02T09:00:00Z", 100, 50, 10))
        .unwrap();
    assert_eq!(gpt4.cached_input, d("0.0015"));
    let rate = |m: &str| {
        today
            .rate_for(&usage(m, GS, "2026-11-02T00:00:00Z", 1, 0, 1))
            .map(|r| r.model.clone())
    };
    assert_eq!(rate("gpt-4o-2024-11-20").unwrap(), "gpt-4o");
    assert_eq!(rate("gpt-35-turbo-0125").unwrap(), "gpt-35-turbo");
    assert_eq!(rate("gpt-3.5-turbo").unwrap(), "gpt-35-turbo");
    assert_eq!(rate("GPT-4.1-mini-2025-04-14").unwrap(), "gpt-4.1-mini");
    assert!(matches!(
        rate("my-finetune"),
        Err(Unpriced::NoRateForModel { .. })
    ));
    // A v1 sheet has no types: its rates price every pay-as-you-go type, never provisioned.
    assert!(today
        .price(&usage("gpt-4o", DZ, "2026-11-02T00:00:00Z", 1, 0, 1))
        .is_ok());
    let ptu = usage(
        "gpt-4o",
        DeploymentType::ProvisionedManaged,
        "2026-11-02T00:00:00Z",
        1,
        0,
        1,
    );
    assert!(matches!(today.price(&ptu), Err(Unpriced::Provisioned(_))));
}

#[test]
fn negative_rates_are_rejected_in_both_formats() {
    let v1 = r#"{"version":"t","currency":"USD","models":{"m":{"input":-1,"output":1}}}"#;
    assert!(PriceSheet::from_json(v1)
        .unwrap_err()
        .to_string()
        .contains("negative"));
    let v2 = r#"{"version":"t","currency":"USD","rates":[{"model":"m","deploymentType":"Standard","input":1,"output":-2}]}"#;
    assert!(PriceSheet::from_json(v2).is_err());
}

/// The samples' records (model as the record names it; tokens as in the README's bill).
const SAMPLE_CALLS: [(&str, &str, u64, u64, u64); 11] = [
    ("Finance analytics", "gpt-4o-2024-11-20", 1290, 1152, 36),
    ("Accounts payable agent", "gpt-4o-2024-11-20", 106, 0, 16),
    ("Customer support bot", "gpt-4o-mini-2024-07-18", 412, 0, 11),
    ("Customer support bot", "gpt-4o-mini", 15, 0, 0),
    ("Marketing copywriter", "gpt-4-0613", 129, 0, 16),
    ("Search indexer", "text-embedding-3-small", 21, 0, 0),
    ("8d3f2c1e", "gpt-4.1-2025-04-14", 2087, 1920, 9),
    ("FP&A planning agent", "o4-mini-2025-04-16", 3410, 0, 1184),
    ("Platform migration", "gpt-4.1-2025-04-14", 95, 0, 4801),
    ("Platform migration", "gpt-4.1-2025-04-14", 610, 0, 8),
    ("key-sha256:515cd339548e", "gpt-35-turbo", 15, 0, 3),
];

#[test]
fn the_embedded_v2_sheet_bills_the_samples_as_the_readme_says() {
    let embedded = PriceSheet::from_json(EMBEDDED_SHEET).unwrap();
    assert_eq!(embedded.format, SheetFormat::V2);
    let v1 = PriceSheet::from_json(V1_TODAY).unwrap();
    for sheet in [&embedded, &v1] {
        let mut total = Decimal::ZERO;
        for (_, model, p, c, o) in SAMPLE_CALLS {
            total += sheet
                .price(&usage(model, GS, "2026-11-02T09:01:00.1234567Z", p, c, o))
                .unwrap()
                .total;
        }
        assert_eq!(total, d("0.05769167"), "{}", sheet.version);
    }
    let marketing = embedded
        .price(&usage("gpt-4-0613", GS, "2026-11-02T09:09:00Z", 129, 0, 16))
        .unwrap();
    assert_eq!(marketing.total, d("0.00483"));
    assert_eq!(marketing.price_sheet, "azure-openai-usd-2026-11");
}

#[test]
fn the_embedded_sheet_has_global_and_data_zone_list_prices() {
    let s = PriceSheet::embedded().unwrap();
    let g = s
        .price(&usage(
            "gpt-4o",
            GS,
            "2026-11-02T00:00:00Z",
            1_000_000,
            0,
            1_000_000,
        ))
        .unwrap();
    let z = s
        .price(&usage(
            "gpt-4o",
            DZ,
            "2026-11-02T00:00:00Z",
            1_000_000,
            0,
            1_000_000,
        ))
        .unwrap();
    assert_eq!((g.total, z.total), (d("12.5"), d("13.75")));
    assert!(s.source.as_deref().unwrap_or("").contains("compiled"));
}

#[test]
fn a_rate_change_in_the_middle_of_a_month_prices_each_call_at_its_own_date() {
    let s = PriceSheet::from_json(ISSUE_SHEET).unwrap();
    let before = s
        .price(&usage(
            "gpt-4o",
            GS,
            "2026-11-14T23:59:59Z",
            1_000_000,
            0,
            0,
        ))
        .unwrap();
    let on = s
        .price(&usage(
            "gpt-4o",
            GS,
            "2026-11-15T00:00:00Z",
            1_000_000,
            0,
            0,
        ))
        .unwrap();
    assert_eq!((before.input, on.input), (d("2.3"), d("2")));
    assert_eq!(on.price_sheet, "contoso-ea-2026-12");
}

#[test]
fn data_zone_and_global_price_the_same_model_differently() {
    let s = PriceSheet::from_json(ISSUE_SHEET).unwrap();
    let g = s
        .price(&usage(
            "gpt-4o-2024-11-20",
            GS,
            "2026-11-20T10:00:00Z",
            1000,
            200,
            500,
        ))
        .unwrap();
    let z = s
        .price(&usage(
            "gpt-4o-2024-11-20",
            DZ,
            "2026-11-20T10:00:00Z",
            1000,
            200,
            500,
        ))
        .unwrap();
    // Global: 800 × 2.00 + 200 × 1.00 + 500 × 8.00 = 5800 per 1M.
    assert_eq!(g.total, d("0.0058"));
    // Data Zone: 800 × 2.53 + 200 × 1.27 + 500 × 10.12 = 7338 per 1M.
    assert_eq!(z.total, d("0.007338"));
}

#[test]
fn an_exact_version_beats_the_base_name_which_beats_the_family_fallback() {
    let s = PriceSheet::from_json(ISSUE_SHEET).unwrap();
    let t = "2026-11-20T10:00:00Z";
    let named = s
        .rate_for(&usage("gpt-4o-2024-05-13", GS, t, 1, 0, 1))
        .unwrap();
    assert_eq!(named.version.as_deref(), Some("2024-05-13"));
    let mut explicit = usage("gpt-4o", GS, t, 1, 0, 1);
    explicit.version = Some("0513");
    assert_eq!(
        s.rate_for(&explicit).unwrap().version.as_deref(),
        Some("2024-05-13")
    );
    let other = s
        .rate_for(&usage("gpt-4o-2024-11-20", GS, t, 1, 0, 1))
        .unwrap();
    assert_eq!((other.version.as_deref(), other.input), (None, d("2.00")));
    let base = PriceSheet::from_json(
        r#"{"version":"t","currency":"USD","rates":[
        {"model":"gpt-4o","deploymentType":"GlobalStandard","input":1,"output":1},
        {"model":"gpt-4o-2024-11-20","deploymentType":"GlobalStandard","input":2,"output":2}]}"#,
    )
    .unwrap();
    assert_eq!(
        base.rate_for(&usage("gpt-4o-2024-11-20", GS, t, 1, 0, 1))
            .unwrap()
            .input,
        d("2")
    );
    assert_eq!(
        base.rate_for(&usage("gpt-4o-2024-08-06", GS, t, 1, 0, 1))
            .unwrap()
            .input,
        d("1")
    );
}

#[test]
fn calls_before_every_rate_or_without_a_rate_for_their_type_are_unpriced_with_a_reason() {
    let s = PriceSheet::from_json(ISSUE_SHEET).unwrap();
    let early = s
        .price(&usage("gpt-4o", DZ, "2026-11-14T12:00:00Z", 1, 0, 1))
        .unwrap_err();
    assert_eq!(early.code(), "beforeFirstRate");
    assert!(early.to_string().contains("2026-11-15"), "{early}");
    let batch = s.price(&usage(
        "gpt-4o",
        DeploymentType::GlobalBatch,
        "2026-11-20T00:00:00Z",
        1,
        0,
        1,
    ));
    assert!(matches!(batch, Err(Unpriced::NoRateForType { .. })));
    let unknown = s.price(&usage("gpt-4o-mini", GS, "2026-11-20T00:00:00Z", 1, 0, 1));
    assert!(matches!(unknown, Err(Unpriced::NoRateForModel { .. })));
    let mut none = usage("x", GS, "2026-11-20T00:00:00Z", 1, 0, 1);
    none.model = None;
    assert_eq!(s.price(&none), Err(Unpriced::NoModel));
}

#[test]
fn provisioned_calls_carry_no_per_call_price() {
    let s = PriceSheet::from_json(ISSUE_SHEET).unwrap();
    for ty in [
        DeploymentType::Provisioned,
        DeploymentType::GlobalProvisionedManaged,
        DeploymentType::DataZoneProvisionedManaged,
    ] {
        let r = s.price(&usage("gpt-4o", ty, "2026-11-20T00:00:00Z", 100, 0, 100));
        assert_eq!(r, Err(Unpriced::Provisioned(ty)));
    }
    let ptu = &s.provisioned["ptu-core"];
    assert_eq!(ptu.monthly, d("20000"));
    assert_eq!(ptu.weights.weighted_tokens(300, 100, 50), d("400"));
    assert_eq!(s.deployments["chat-eu"].deployment_type, Some(DZ));
}

#[test]
fn a_cost_serialises_as_json_numbers_with_the_ledger_field_names() {
    let s = PriceSheet::from_json(ISSUE_SHEET).unwrap();
    let c = s
        .price(&usage("gpt-4o", GS, "2026-11-20T00:00:00Z", 129, 0, 16))
        .unwrap();
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(
        json,
        r#"{"currency":"EUR","input":0.000258,"cachedInput":0,"output":0.000128,"total":0.000386,"priceSheet":"contoso-ea-2026-12"}"#
    );
    let back: chargeback_pricing::Cost = serde_json::from_str(&json).unwrap();
    assert_eq!(back.total, d("0.000386"));
}

#[test]
fn absurd_amounts_are_refused_so_pricing_never_overflows() {
    let huge = r#"{"version":"t","currency":"USD","rates":[{"model":"m","deploymentType":"Standard","input":1e12,"output":1}]}"#;
    let err = PriceSheet::from_json(huge).unwrap_err().to_string();
    assert!(err.contains("beyond any real rate"), "{err}");
    let max = r#"{"version":"t","currency":"USD","rates":[{"model":"m","deploymentType":"Standard","input":1000000000,"output":1000000000}]}"#;
    let s = PriceSheet::from_json(max).unwrap();
    let mut u = usage(
        "m",
        DeploymentType::Standard,
        "2026-11-02T00:00:00Z",
        u64::MAX,
        0,
        u64::MAX,
    );
    assert!(s.price(&u).is_ok());
    u.cached = u64::MAX;
    assert!(s.price(&u).is_ok());
}

#[test]
fn sheet_amounts_are_read_from_their_digits_even_beyond_what_a_float_holds() {
    // 19 significant digits: an f64 keeps about 16, so a float reading would change them.
    let text = ISSUE_SHEET
        .replacen("\"input\": 2.30", "\"input\": 2.300000000000000001", 1)
        .replacen(
            "\"monthly\": 20000.00",
            "\"monthly\": 20000.0000000000001",
            1,
        );
    let s = PriceSheet::from_json(&text).unwrap();
    assert!(s.rates.iter().any(|r| r.input == d("2.300000000000000001")));
    assert_eq!(s.provisioned["ptu-core"].monthly, d("20000.0000000000001"));
}
