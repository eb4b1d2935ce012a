//! The statement builder on hand-made calls: exact sums, lines per rate, unpriced calls with
//! why, provisioned shares summing to the monthly cost, FOCUS rows summing to the totals.

use std::collections::BTreeMap;
use std::str::FromStr;

use chargeback_billing::*;
use chargeback_pricing::{ProvisionedDeployment, TokenWeights};
use chargeback_statements::{Duplicates, Party, YearMonth};
use chrono::NaiveDate;
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn party(id: &str, cc: &str) -> Party {
    Party {
        display_name: format!("Team {id}"),
        id: id.into(),
        cost_center: Some(cc.into()),
        team: None,
    }
}

fn call(
    day: u32,
    who: &Party,
    deployment: &str,
    input: u64,
    output: u64,
    rates: Option<(&str, &str)>,
) -> Call {
    let cost = rates.map(|(ri, ro)| {
        let m = Decimal::from(1_000_000);
        let i = Decimal::from(input) * d(ri) / m;
        let o = Decimal::from(output) * d(ro) / m;
        CallCost {
            currency: "EUR".into(),
            input: i,
            cached_input: Decimal::ZERO,
            output: o,
            total: i + o,
            price_sheet: "contoso-ea-2026-11".into(),
        }
    });
    Call {
        day: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
        consumer: who.clone(),
        source: chargeback_core::Consumer::default(),
        deployment: deployment.into(),
        model: "gpt-4o".into(),
        deployment_type: "GlobalStandard".into(),
        operation: "chat.completions".into(),
        input_tokens: input,
        cached_tokens: 0,
        output_tokens: output,
        unpriced: None,
        cost,
    }
}

const NOV: YearMonth = YearMonth {
    year: 2026,
    month: 11,
};

#[test]
fn a_statement_sums_its_calls_exactly_and_splits_lines_where_the_rate_changed() {
    let a = party("sub-a", "CC-1");
    let calls = vec![
        call(3, &a, "chat", 1000, 100, Some(("2.30", "9.20"))),
        call(20, &a, "chat", 1000, 100, Some(("2.53", "10.12"))),
        call(21, &a, "chat", 7, 0, None),
    ];
    let ctx = StatementContext {
        period: NOV,
        grouping: Grouping::Consumer,
        currency: "EUR".into(),
        price_sheet_version: "contoso-ea-2026-11".into(),
        duplicates: Duplicates {
            identical: 2,
            conflicting: 1,
        },
        provisioned: &[],
        provisioned_deployments: vec![],
        budgets: None,
    };
    let set = build_statements(&calls, &ctx).unwrap();
    let st = &set.statements[0];
    assert_eq!(
        st.totals.payg,
        d("0.00230") + d("0.00092") + d("0.00253") + d("0.001012")
    );
    assert_eq!(st.calls, 3);
    assert_eq!(st.lines.len(), 4, "two rates × two token kinds");
    assert_eq!(st.unpriced[0].calls, 1);
    assert_eq!(st.unpriced[0].reason, "no rate for gpt-4o / GlobalStandard");
    assert_eq!(st.duplicates_removed.conflicting, 1);
    assert_eq!(set.overview.sections[0].totals, st.totals);
    let rows = focus_rows(&calls);
    let focus_sum: Decimal = rows.iter().map(|r| r.cost).sum();
    assert_eq!(focus_sum, st.totals.payg);
    for r in &rows {
        assert_eq!(
            Decimal::from(r.tokens) * r.rate / Decimal::from(r.unit_tokens),
            r.cost
        );
    }
}

#[test]
fn a_provisioned_month_split_three_to_one_sums_to_the_monthly_cost_and_groups_by_cost_center() {
    let a = party("sub-a", "CC-1");
    let b = party("sub-b", "CC-2");
    let calls = vec![
        call(5, &a, "ptu-core", 300, 0, None),
        call(6, &b, "ptu-core", 100, 0, None),
    ];
    let mut prov = BTreeMap::new();
    prov.insert(
        "ptu-core".to_string(),
        ProvisionedDeployment {
            monthly: d("100.01"),
            weights: TokenWeights::default(),
        },
    );
    let months = allocate_months(
        &calls,
        &prov,
        &[
            NOV,
            YearMonth {
                year: 2026,
                month: 12,
            },
        ],
        2,
    )
    .unwrap();
    assert_eq!(
        months[0]
            .shares
            .iter()
            .map(|s| s.amount)
            .collect::<Vec<_>>(),
        vec![d("75.01"), d("25.00")]
    );
    assert_eq!(months[1].unallocated, d("100.01"));
    let ctx = StatementContext {
        period: NOV,
        grouping: Grouping::CostCenter,
        currency: "EUR".into(),
        price_sheet_version: "v".into(),
        duplicates: Duplicates::default(),
        provisioned: &months,
        provisioned_deployments: vec!["ptu-core".into()],
        budgets: None,
    };
    let set = build_statements(&calls, &ctx).unwrap();
    let ids: Vec<&str> = set.statements.iter().map(|s| s.who.id.as_str()).collect();
    assert_eq!(ids, ["CC-1", "CC-2"]);
    assert!(set.statements.iter().all(|s| s.unpriced.is_empty()));
    assert_eq!(set.overview.sections[0].totals.allocated, d("100.01"));
}
