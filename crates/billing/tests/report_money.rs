//! The report's money and token arithmetic: exact decimal sums, totals per currency, token sums
//! that never wrap, grouping by the priced model name, cost centers.

use std::str::FromStr;

use chargeback_billing::{
    render_csv, render_json, render_table, totals, Aggregator, ConsumerMap, GroupBy,
};
use chargeback_core::UsageRecord;
use rust_decimal::Decimal;
use serde_json::json;

fn record(id: &str, fields: serde_json::Value) -> UsageRecord {
    let mut v = json!({
        "requestId": id, "eventTime": "2026-11-02T10:00:00Z",
        "consumer": {"subscriptionId": "sub-a", "subscriptionName": "Team A"},
        "apiOperation": "ChatCompletion", "model": "gpt-4o", "stream": false,
        "statusCode": 200, "billable": true, "promptTokens": 1, "completionTokens": 1,
        "totalTokens": 2, "cachedTokens": 0, "reasoningTokens": 0, "countSource": "usage"
    });
    for (k, x) in fields.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_str(&v.to_string()).unwrap()
}

fn cost(total: &str, currency: &str) -> serde_json::Value {
    let n: serde_json::Value = serde_json::from_str(total).unwrap();
    json!({"currency": currency, "input": n, "cachedInput": 0, "output": 0, "total": n, "priceSheet": "t"})
}

#[test]
fn a_million_calls_of_a_ten_millionth_report_exactly_one_tenth() {
    let mut agg = Aggregator::new(vec![GroupBy::Consumer]);
    let r = record("x", json!({"cost": cost("0.0000001", "USD")}));
    for i in 0..1_000_000u32 {
        let mut r = r.clone();
        r.request_id = i.to_string();
        agg.add(&r);
    }
    let rows = agg.rows();
    assert_eq!(rows[0].cost, Decimal::from_str("0.1").unwrap());
    let table = render_table(&agg.headers(), &rows);
    assert!(table.contains("0.10000000  USD"), "{table}");
}

#[test]
fn a_ledger_cost_with_more_digits_than_a_float_holds_round_trips_exactly() {
    let exact = Decimal::from_str("1234567.000000000000000123").unwrap();
    let mut line = record("x", json!({"cost": cost("1", "USD")}));
    if let Some(c) = line.cost.as_mut() {
        c.total = exact;
    }
    let text = serde_json::to_string(&line).unwrap();
    assert!(
        text.contains("\"total\":1234567.000000000000000123"),
        "{text}"
    );
    let back: UsageRecord = serde_json::from_str(&text).unwrap();
    let total = back.cost.unwrap().total;
    assert_eq!(
        total,
        Decimal::from_str("1234567.000000000000000123").unwrap()
    );
}

#[test]
fn usd_and_eur_are_totalled_apart_and_never_mixed() {
    let mut agg = Aggregator::new(vec![GroupBy::Consumer]);
    agg.add(&record("1", json!({"cost": cost("1.5", "USD")})));
    agg.add(&record("2", json!({"cost": cost("2.25", "EUR")})));
    let rows = agg.rows();
    assert_eq!(rows.len(), 2, "one row per currency within the group");
    let t = totals(&rows, 1);
    let by: Vec<(Option<String>, Decimal)> =
        t.iter().map(|r| (r.currency.clone(), r.cost)).collect();
    assert_eq!(
        by,
        vec![
            (Some("EUR".into()), Decimal::from_str("2.25").unwrap()),
            (Some("USD".into()), Decimal::from_str("1.5").unwrap())
        ]
    );
    let table = render_table(&agg.headers(), &rows);
    assert!(!table.contains("mixed"), "{table}");
    assert!(
        table.contains("2.25000000  EUR") && table.contains("1.50000000  USD"),
        "{table}"
    );
}

#[test]
fn token_sums_past_u64_do_not_wrap() {
    let mut agg = Aggregator::new(vec![GroupBy::Consumer]);
    let max = u64::MAX;
    agg.add(&record(
        "1",
        json!({"promptTokens": max, "totalTokens": max}),
    ));
    agg.add(&record("2", json!({"promptTokens": 1, "totalTokens": 1})));
    let rows = agg.rows();
    assert_eq!(rows[0].prompt_tokens, u128::from(max) + 1);
    let table = render_table(&agg.headers(), &rows);
    assert!(table.contains("18446744073709551616"), "{table}");
    let json = render_json(&agg.headers(), &rows);
    assert!(
        json.contains("\"promptTokens\": 18446744073709551616"),
        "{json}"
    );
}

#[test]
fn by_model_groups_versions_under_the_priced_model_and_keeps_the_raw_names() {
    let mut agg = Aggregator::new(vec![GroupBy::Model]);
    agg.add(&record("1", json!({"model": "gpt-4o-mini"})));
    agg.add(&record("2", json!({"model": "gpt-4o-mini-2024-07-18"})));
    agg.add(&record("3", json!({"model": "gpt-4o-2024-11-20"})));
    let rows = agg.rows();
    let keys: Vec<(&str, u64)> = rows.iter().map(|r| (r.keys[0].as_str(), r.calls)).collect();
    assert_eq!(keys, vec![("gpt-4o", 1), ("gpt-4o-mini", 2)]);
    assert_eq!(
        rows[1].raw_model,
        vec!["gpt-4o-mini", "gpt-4o-mini-2024-07-18"]
    );
    let csv = render_csv(&agg.headers(), &rows);
    assert!(csv.starts_with("model,rawModel,calls"), "{csv}");
    assert!(
        csv.contains("gpt-4o-mini,gpt-4o-mini;gpt-4o-mini-2024-07-18,2"),
        "{csv}"
    );
}

#[test]
fn consumers_group_by_stable_id_with_the_display_name_beside_it() {
    let mut agg = Aggregator::new(vec![GroupBy::Consumer]);
    let same_name = |id: &str, sub: &str| {
        record(
            id,
            json!({"consumer": {"subscriptionId": sub, "subscriptionName": "Shared name"}}),
        )
    };
    agg.add(&same_name("1", "sub-1"));
    agg.add(&same_name("2", "sub-2"));
    let rows = agg.rows();
    assert_eq!(rows.len(), 2, "two subscriptions with one name never merge");
    assert_eq!(rows[0].keys, vec!["sub-1"]);
    assert_eq!(rows[0].display_name.as_deref(), Some("Shared name"));
}

#[test]
fn cost_centers_group_mapped_consumers_and_list_the_unmapped() {
    let map = ConsumerMap::from_csv(
        "match,value,costCenter,team,displayName\nsubscriptionId,sub-a,CC-100,Finance,Team A\nproductId,p-1,CC-200,Platform,\n",
    )
    .unwrap();
    let mut agg = Aggregator::new(vec![GroupBy::CostCenter]).with_consumers(map);
    agg.add(&record("1", json!({"cost": cost("1", "USD")})));
    agg.add(&record("2", json!({"consumer": {"subscriptionId": "sub-b", "productId": "p-1"}, "cost": cost("2", "USD")})));
    agg.add(&record(
        "3",
        json!({"consumer": {"subscriptionId": "sub-z"}, "cost": cost("4", "USD")}),
    ));
    let keys: Vec<(String, Decimal)> = agg
        .rows()
        .iter()
        .map(|r| (r.keys[0].clone(), r.cost))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("(unmapped)".to_string(), Decimal::from(4)),
            ("CC-100".to_string(), Decimal::from(1)),
            ("CC-200".to_string(), Decimal::from(2)),
        ]
    );
    assert_eq!(agg.unmapped.iter().collect::<Vec<_>>(), vec!["sub-z"]);
}

#[test]
fn old_ledger_rows_without_a_deployment_type_read_as_global_standard() {
    let r = record("1", json!({}));
    assert_eq!(r.deployment_type.as_str(), "GlobalStandard");
    let text = serde_json::to_string(&r).unwrap();
    assert!(
        text.contains("\"deploymentType\":\"GlobalStandard\""),
        "{text}"
    );
}
