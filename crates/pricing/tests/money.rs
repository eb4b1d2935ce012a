//! Exact money end to end: per-call costs summed, and a PTU month allocated by weighted tokens.

use std::str::FromStr;

use chargeback_pricing::{allocate, Allocation, DeploymentType, PriceSheet, Usage};
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn a_million_tiny_per_call_costs_sum_to_exactly_one_tenth() {
    let sheet = PriceSheet::from_json(
        r#"{"version":"tiny","currency":"USD","rates":[
        {"model":"m","deploymentType":"GlobalStandard","from":"2026-01-01","input":0.1,"output":0}]}"#,
    )
    .unwrap();
    let call = Usage {
        model: Some("m"),
        version: None,
        deployment_type: DeploymentType::GlobalStandard,
        event_time: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
        prompt: 1,
        cached: 0,
        completion: 0,
    };
    let one = sheet.price(&call).unwrap().total;
    assert_eq!(one, d("0.0000001"));
    let total: Decimal = (0..1_000_000).map(|_| one).sum();
    assert_eq!(total, d("0.1"));
}

#[test]
fn a_ptu_month_is_split_three_to_one_by_weighted_tokens_with_the_remainder_by_largest_remainder() {
    let sheet = PriceSheet::from_json(
        r#"{"version":"ptu","currency":"EUR","rates":[],
        "deployments":{"ptu-core":{"model":"gpt-4o","deploymentType":"Provisioned"}},
        "provisioned":{"ptu-core":{"monthly":20000.00}}}"#,
    )
    .unwrap();
    let ptu = &sheet.provisioned["ptu-core"];
    // Default weights 1 / 0 / 4: team-a 600 − 0 + 4 × 600 = 3000, team-b 200 + 4 × 200 = 1000.
    let a = ptu.weights.weighted_tokens(600, 0, 600);
    let b = ptu.weights.weighted_tokens(300, 100, 200);
    assert_eq!((a, b), (d("3000"), d("1000")));
    let shares = [("team-b", b), ("team-a", a)];
    let scale = sheet.currency.minor_unit_scale();
    let Allocation::Allocated(got) = allocate(ptu.monthly, scale, &shares).unwrap() else {
        panic!()
    };
    assert_eq!(
        got,
        vec![("team-a", d("15000.00")), ("team-b", d("5000.00"))]
    );
    let Allocation::Allocated(got) = allocate(d("20000.03"), scale, &shares).unwrap() else {
        panic!()
    };
    // Quotas 15000.0225 and 5000.0075: floors 15000.02 and 5000.00, the last cent to team-b.
    assert_eq!(
        got,
        vec![("team-a", d("15000.02")), ("team-b", d("5000.01"))]
    );
    // A month with no calls on the deployment leaves the whole cost unallocated.
    let none: [(&str, Decimal); 0] = [];
    assert_eq!(
        allocate(ptu.monthly, scale, &none).unwrap(),
        Allocation::Unallocated(d("20000.00"))
    );
}
