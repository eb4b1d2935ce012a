//! The FOCUS 1.2 export against the spec's column definitions: presence and order, types, formats,
//! allowed values, nullability rules, unit price × quantity = cost, and sums equal to the input.

mod common;

use std::collections::BTreeMap;

use chargeback_statements::*;
use common::*;
use rust_decimal::Decimal;

#[derive(Clone, Copy, PartialEq)]
enum Ty {
    Decimal,
    DateTime,
    String,
    Json,
}

/// (column, type, nulls allowed, allowed values) from the FOCUS 1.2 column definitions.
const SPEC: &[(&str, Ty, bool, &[&str])] = &[
    ("BilledCost", Ty::Decimal, false, &[]),
    ("BillingAccountId", Ty::String, false, &[]),
    ("BillingAccountName", Ty::String, true, &[]),
    ("BillingCurrency", Ty::String, false, &[]),
    ("BillingPeriodEnd", Ty::DateTime, false, &[]),
    ("BillingPeriodStart", Ty::DateTime, false, &[]),
    (
        "ChargeCategory",
        Ty::String,
        false,
        &["Usage", "Purchase", "Tax", "Credit", "Adjustment"],
    ),
    ("ChargeClass", Ty::String, true, &["Correction"]),
    ("ChargeDescription", Ty::String, true, &[]),
    ("ChargePeriodEnd", Ty::DateTime, false, &[]),
    ("ChargePeriodStart", Ty::DateTime, false, &[]),
    ("ContractedCost", Ty::Decimal, false, &[]),
    ("EffectiveCost", Ty::Decimal, false, &[]),
    ("InvoiceIssuerName", Ty::String, false, &[]),
    ("ListCost", Ty::Decimal, false, &[]),
    ("PricingQuantity", Ty::Decimal, true, &[]),
    ("PricingUnit", Ty::String, true, &[]),
    ("ProviderName", Ty::String, false, &[]),
    ("PublisherName", Ty::String, false, &[]),
    (
        "ServiceCategory",
        Ty::String,
        false,
        &["AI and Machine Learning"],
    ),
    ("ServiceName", Ty::String, false, &[]),
    (
        "ChargeFrequency",
        Ty::String,
        false,
        &["One-Time", "Recurring", "Usage-Based"],
    ),
    (
        "CommitmentDiscountCategory",
        Ty::String,
        true,
        &["Spend", "Usage"],
    ),
    ("CommitmentDiscountQuantity", Ty::Decimal, true, &[]),
    (
        "CommitmentDiscountStatus",
        Ty::String,
        true,
        &["Used", "Unused"],
    ),
    ("ConsumedQuantity", Ty::Decimal, true, &[]),
    ("ContractedUnitPrice", Ty::Decimal, true, &[]),
    ("ListUnitPrice", Ty::Decimal, true, &[]),
    (
        "PricingCategory",
        Ty::String,
        true,
        &["Standard", "Dynamic", "Committed", "Other"],
    ),
    ("ServiceSubcategory", Ty::String, false, &["Generative AI"]),
    ("Tags", Ty::Json, true, &[]),
];

type Rows = Vec<BTreeMap<String, String>>;

/// The header and the rows of a FOCUS CSV, each row keyed by column.
fn parse(text: &str) -> (Vec<String>, Rows) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            head.iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect();
    (head, rows)
}

fn export() -> (Vec<String>, Rows) {
    let ctx = FocusContext::azure_openai("contoso-ea-7391", "Contoso EA", "EUR", SHEET);
    parse(&render_focus_csv(&ctx, &focus_rows(), &provisioned()).unwrap())
}

fn dec(row: &BTreeMap<String, String>, col: &str) -> Decimal {
    d(&row[col])
}

/// NumericFormat: digits, one optional point, a leading `-` only for negatives; no exponent,
/// grouping, sign or unit.
fn numeric_format(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || c == '.')
        && body.matches('.').count() <= 1
        && !body.starts_with('.')
        && !body.ends_with('.')
}

/// DateTimeFormat: `YYYY-MM-DDTHH:mm:ssZ`, a real UTC instant.
fn datetime_format(s: &str) -> bool {
    s.len() == 20 && chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").is_ok()
}

#[test]
fn every_mandatory_column_is_present_in_the_spec_order_and_extras_come_last() {
    let (head, _) = export();
    assert_eq!(&head[..21], FOCUS_MANDATORY_COLUMNS);
    assert_eq!(head, FOCUS_COLUMNS);
    let first_extra = head.iter().position(|h| h.starts_with("x_")).unwrap();
    assert!(head[first_extra..].iter().all(|h| h.starts_with("x_")));
}

#[test]
fn every_value_has_the_type_format_and_allowed_value_the_spec_says() {
    let (_, rows) = export();
    assert!(rows.len() > 500);
    for (i, row) in rows.iter().enumerate() {
        for (col, ty, nullable, allowed) in SPEC {
            let v = &row[*col];
            if v.is_empty() {
                assert!(*nullable, "row {i}: {col} must not be null");
                continue;
            }
            assert_eq!(v.trim(), v, "row {i}: {col} has padding");
            match ty {
                Ty::Decimal => assert!(
                    numeric_format(v) && v.parse::<Decimal>().is_ok(),
                    "row {i}: {col}={v}"
                ),
                Ty::DateTime => assert!(datetime_format(v), "row {i}: {col}={v}"),
                Ty::Json => {
                    let j: serde_json::Value = serde_json::from_str(v).unwrap();
                    let obj = j
                        .as_object()
                        .unwrap_or_else(|| panic!("row {i}: Tags is an object"));
                    assert!(obj.values().all(|x| !x.is_object() && !x.is_array()));
                }
                Ty::String => {}
            }
            if !allowed.is_empty() {
                assert!(
                    allowed.contains(&v.as_str()),
                    "row {i}: {col}={v} not allowed"
                );
            }
        }
        assert_eq!(row["BillingCurrency"], "EUR");
        assert_eq!(row["BillingPeriodStart"], "2026-11-01T00:00:00Z");
        assert_eq!(row["BillingPeriodEnd"], "2026-12-01T00:00:00Z");
    }
}

/// Pairs the spec ties together: the second is null exactly when the first is.
const NULL_TOGETHER: &[(&str, &str)] = &[
    ("ResourceId", "ResourceName"),
    ("ResourceId", "ResourceType"),
    ("RegionId", "RegionName"),
    ("SubAccountId", "SubAccountName"),
    ("ConsumedQuantity", "ConsumedUnit"),
    ("PricingQuantity", "PricingUnit"),
    ("CommitmentDiscountId", "CommitmentDiscountCategory"),
    ("CommitmentDiscountId", "CommitmentDiscountName"),
    ("CommitmentDiscountId", "CommitmentDiscountType"),
    ("CommitmentDiscountQuantity", "CommitmentDiscountUnit"),
];

#[test]
fn columns_the_spec_ties_together_are_null_together_and_usage_carries_prices() {
    let (_, rows) = export();
    for (i, row) in rows.iter().enumerate() {
        for (a, b) in NULL_TOGETHER {
            assert_eq!(
                row[*a].is_empty(),
                row[*b].is_empty(),
                "row {i}: {a} and {b}"
            );
        }
        for col in [
            "PricingQuantity",
            "ListUnitPrice",
            "ContractedUnitPrice",
            "SkuId",
            "SkuPriceId",
            "PricingCategory",
            "ResourceId",
        ] {
            assert!(
                !row[col].is_empty(),
                "row {i}: {col} must not be null on Usage and Purchase"
            );
        }
        let has_commitment = !row["CommitmentDiscountId"].is_empty();
        assert_eq!(
            has_commitment,
            !row["CommitmentDiscountQuantity"].is_empty(),
            "row {i}"
        );
        if row["ChargeCategory"] == "Usage" {
            assert_eq!(
                has_commitment,
                !row["CommitmentDiscountStatus"].is_empty(),
                "row {i}"
            );
            assert_eq!(
                row["CommitmentDiscountStatus"] == "Unused",
                row["ConsumedQuantity"].is_empty(),
                "row {i}"
            );
        } else {
            assert!(
                row["ConsumedQuantity"].is_empty(),
                "row {i}: ConsumedQuantity is null unless Usage"
            );
            assert_ne!(
                row["ChargeFrequency"], "Usage-Based",
                "row {i}: a purchase is not usage-based"
            );
        }
    }
}

#[test]
fn unit_price_times_pricing_quantity_is_the_cost_exactly() {
    let (_, rows) = export();
    for row in &rows {
        let q = dec(row, "PricingQuantity");
        assert_eq!(
            q * dec(row, "ListUnitPrice"),
            dec(row, "ListCost"),
            "{row:?}"
        );
        assert_eq!(
            q * dec(row, "ContractedUnitPrice"),
            dec(row, "ContractedCost"),
            "{row:?}"
        );
        if row["ChargeCategory"] == "Usage" && row["CommitmentDiscountId"].is_empty() {
            assert_eq!(row["PricingUnit"], "1000000 Tokens");
            assert_eq!(q * Decimal::from(1_000_000), dec(row, "ConsumedQuantity"));
            assert_eq!(dec(row, "BilledCost"), dec(row, "ContractedCost"));
        }
    }
}

#[test]
fn billed_cost_sums_to_the_inputs_and_effective_cost_per_consumer_to_the_statements() {
    let (_, rows) = export();
    let payg: Decimal = focus_rows().iter().map(|r| r.cost).sum();
    let monthly: Decimal = provisioned().iter().map(|p| p.monthly).sum();
    let billed: Decimal = rows.iter().map(|r| dec(r, "BilledCost")).sum();
    assert_eq!(billed, payg + monthly);
    let effective: Decimal = rows.iter().map(|r| dec(r, "EffectiveCost")).sum();
    assert_eq!(
        effective, billed,
        "amortisation moves cost, it never adds any"
    );
    for st in statements() {
        let mine: Decimal = rows
            .iter()
            .filter(|r| r["SubAccountId"] == st.who.id)
            .map(|r| dec(r, "EffectiveCost"))
            .sum();
        assert_eq!(mine, st.totals.total, "{}", st.who.display_name);
    }
}

#[test]
fn a_provisioned_month_is_a_purchase_amortised_into_used_and_unused_usage() {
    let (_, rows) = export();
    for p in provisioned() {
        let id = p.deployment.name.as_str();
        let of: Vec<_> = rows
            .iter()
            .filter(|r| r["CommitmentDiscountId"] == id)
            .collect();
        let purchase: Vec<_> = of
            .iter()
            .filter(|r| r["ChargeCategory"] == "Purchase")
            .collect();
        assert_eq!(purchase.len(), 1);
        let pr = purchase[0];
        assert_eq!(pr["ChargeFrequency"], "Recurring");
        assert_eq!(dec(pr, "BilledCost"), p.monthly);
        assert_eq!(dec(pr, "EffectiveCost"), Decimal::ZERO);
        assert!(
            pr["ConsumedQuantity"].is_empty()
                && pr["SubAccountId"].is_empty()
                && pr["ChargeClass"].is_empty()
        );
        let usage: Vec<_> = of
            .iter()
            .filter(|r| r["ChargeCategory"] == "Usage")
            .collect();
        let used_eff: Decimal = usage.iter().map(|r| dec(r, "EffectiveCost")).sum();
        assert_eq!(
            used_eff,
            dec(pr, "BilledCost"),
            "FOCUS: Usage EffectiveCost = Purchase BilledCost"
        );
        for u in &usage {
            assert_eq!(dec(u, "BilledCost"), Decimal::ZERO);
            assert_eq!(u["PricingCategory"], "Committed");
            match u["CommitmentDiscountStatus"].as_str() {
                "Used" => {
                    assert!(!u["ConsumedQuantity"].is_empty() && !u["SubAccountId"].is_empty())
                }
                "Unused" => {
                    assert!(u["ConsumedQuantity"].is_empty() && u["ConsumedUnit"].is_empty())
                }
                other => panic!("status {other}"),
            }
        }
    }
}

#[test]
fn consumers_are_sub_accounts_with_their_cost_center_in_tags() {
    let (_, rows) = export();
    let fin = rows
        .iter()
        .find(|r| r["SubAccountName"] == "Finance analytics")
        .unwrap();
    assert_eq!(fin["Tags"], r#"{"costCenter":"CC-4100","team":"Finance"}"#);
    assert_eq!(fin["RegionId"], "swedencentral");
    assert!(
        fin["ResourceId"].ends_with("/deployments/chat-global")
            || fin["ResourceId"].ends_with("/deployments/chat-eu")
    );
    let rnd = rows
        .iter()
        .find(|r| r["SubAccountId"] == "../../rnd-labs")
        .unwrap();
    assert_eq!(rnd["Tags"], "", "no tags is null, not an empty object");
    assert_eq!(
        rnd["SubAccountName"], "R&D \"Labs\" <beta>",
        "CSV quoting keeps the name intact"
    );
}

#[test]
fn an_allocation_that_does_not_add_up_to_the_monthly_cost_is_refused() {
    let ctx = FocusContext::azure_openai("a", "A", "EUR", SHEET);
    let mut p = provisioned();
    p[0].unallocated = d("0.01");
    let err = render_focus_csv(&ctx, &[], &p).unwrap_err().to_string();
    assert!(
        err.contains("ptu-core") && err.contains("20000.01"),
        "{err}"
    );
    let mut rows = focus_rows();
    rows[0].unit_tokens = 1_500;
    assert!(render_focus_csv(&ctx, &rows, &[]).is_err());
}

#[test]
fn a_share_that_is_a_recurring_fraction_of_the_month_still_multiplies_out_exactly() {
    let ctx = FocusContext::azure_openai("a", "A", "EUR", SHEET);
    let p = parties();
    let thirds = FocusProvisioned {
        deployment: ptu("ptu-small"),
        period: PERIOD,
        monthly: d("3000.00"),
        shares: vec![
            FocusShare {
                consumer: p[0].clone(),
                tokens: 10,
                amount: d("1000.00"),
            },
            FocusShare {
                consumer: p[1].clone(),
                tokens: 20,
                amount: d("2000.00"),
            },
        ],
        unallocated: Decimal::ZERO,
    };
    let (_, rows) = parse(&render_focus_csv(&ctx, &[], &[thirds]).unwrap());
    let used: Vec<_> = rows
        .iter()
        .filter(|r| r["CommitmentDiscountStatus"] == "Used")
        .collect();
    assert_eq!(used.len(), 2);
    for u in used {
        let q = dec(u, "PricingQuantity");
        assert_eq!(q * dec(u, "ListUnitPrice"), dec(u, "ListCost"));
        assert!((dec(u, "ListCost") - dec(u, "EffectiveCost")).abs() < d("0.000000000000001"));
    }
    let effective: Decimal = rows.iter().map(|r| dec(r, "EffectiveCost")).sum();
    assert_eq!(effective, d("3000.00"), "the shares themselves are exact");
}
