//! A realistic month of usage for the tests: November 2026 in EUR, three consumers on a Global and
//! a Data Zone deployment of gpt-4o, a provisioned deployment split 3:1, and a provisioned one no
//! one used. Every figure is derived from token counts × the sheet's rates, so the statements, the
//! overview and the FOCUS rows agree by construction and the tests can check they stay so.

#![allow(dead_code)]

use std::str::FromStr;

use chargeback_statements::*;
use chrono::{Datelike, NaiveDate, Weekday};
use rust_decimal::Decimal;

pub fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub const SHEET: &str = "contoso-ea-2026-11";
pub const PERIOD: YearMonth = YearMonth {
    year: 2026,
    month: 11,
};

pub fn parties() -> Vec<Party> {
    vec![
        Party {
            display_name: "Finance analytics".into(),
            id: "3f9a1c52-7d1e-4b0a-9c1f-2e8d5a6b7c90".into(),
            cost_center: Some("CC-4100".into()),
            team: Some("Finance".into()),
        },
        Party {
            display_name: "Customer support bot".into(),
            id: "8d3f2c1e-0a4b-4c5d-9e6f-7a8b9c0d1e2f".into(),
            cost_center: Some("CC-5200".into()),
            team: Some("Service".into()),
        },
        Party {
            display_name: "R&D \"Labs\" <beta>".into(),
            id: "../../rnd-labs".into(),
            cost_center: None,
            team: None,
        },
    ]
}

pub struct Payg {
    pub deployment: FocusDeployment,
    pub rates: [(TokenKind, &'static str); 3],
}

pub fn payg_deployments() -> Vec<Payg> {
    let res = |name: &str| {
        Some(format!("/subscriptions/6b1f0c2d-2a7e-4f8b-9d3c-5e4a1b2c3d4e/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/aoai-contoso/deployments/{name}"))
    };
    vec![
        Payg {
            deployment: FocusDeployment {
                name: "chat-global".into(),
                model: "gpt-4o".into(),
                deployment_type: "GlobalStandard".into(),
                resource_id: res("chat-global"),
                region: Some("Sweden Central".into()),
            },
            rates: [
                (TokenKind::Input, "2.30"),
                (TokenKind::CachedInput, "1.15"),
                (TokenKind::Output, "9.20"),
            ],
        },
        Payg {
            deployment: FocusDeployment {
                name: "chat-eu".into(),
                model: "gpt-4o".into(),
                deployment_type: "DataZoneStandard".into(),
                resource_id: res("chat-eu"),
                region: Some("Sweden Central".into()),
            },
            rates: [
                (TokenKind::Input, "2.53"),
                (TokenKind::CachedInput, "1.27"),
                (TokenKind::Output, "10.12"),
            ],
        },
    ]
}

pub fn ptu(name: &str) -> FocusDeployment {
    FocusDeployment {
        name: name.into(),
        model: "gpt-4o".into(),
        deployment_type: "ProvisionedManaged".into(),
        resource_id: None,
        region: Some("Sweden Central".into()),
    }
}

/// Tokens of consumer `c` on deployment `dep`, day `day`, token kind `k` (weekends are quiet).
fn tokens(c: usize, dep: usize, day: NaiveDate, k: usize) -> u64 {
    let base: [[u64; 3]; 3] = [
        [1_840_000, 920_000, 310_000],
        [2_450_000, 0, 640_000],
        [96_000, 12_000, 41_000],
    ];
    let mut t = base[c][k] * (3 + (day.day() as u64 * 7 + dep as u64 * 3) % 5) / (4 + dep as u64);
    if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        t /= 6;
    }
    if c == 2 && day.day() > 20 {
        t = 0;
    }
    t + day.day() as u64 * 17 + c as u64 // never a round number
}

pub fn focus_rows() -> Vec<FocusRow> {
    let mut rows = Vec::new();
    for (c, party) in parties().into_iter().enumerate() {
        for (di, dep) in payg_deployments().into_iter().enumerate() {
            for day in PERIOD.days() {
                for (k, (kind, rate)) in dep.rates.iter().enumerate() {
                    let t = tokens(c, di, day, k);
                    let rate = d(rate);
                    rows.push(FocusRow {
                        day,
                        consumer: party.clone(),
                        deployment: dep.deployment.clone(),
                        token_kind: *kind,
                        tokens: t,
                        calls: t / 1_300 + 1,
                        unit_tokens: 1_000_000,
                        rate,
                        list_rate: None,
                        cost: Decimal::from(t) * rate / Decimal::from(1_000_000),
                    });
                }
            }
        }
    }
    rows
}

/// ptu-core: 20000.00 split 3:1 between the first two consumers; ptu-eval: 4000.00 unused.
pub fn provisioned() -> Vec<FocusProvisioned> {
    let p = parties();
    vec![
        FocusProvisioned {
            deployment: ptu("ptu-core"),
            period: PERIOD,
            monthly: d("20000.00"),
            shares: vec![
                FocusShare {
                    consumer: p[0].clone(),
                    tokens: 61_200_000,
                    amount: d("15000.00"),
                },
                FocusShare {
                    consumer: p[1].clone(),
                    tokens: 20_400_000,
                    amount: d("5000.00"),
                },
            ],
            unallocated: Decimal::ZERO,
        },
        FocusProvisioned {
            deployment: ptu("ptu-eval"),
            period: PERIOD,
            monthly: d("4000.00"),
            shares: vec![],
            unallocated: d("4000.00"),
        },
    ]
}

pub fn statement(c: usize) -> Statement {
    let party = parties()[c].clone();
    let rows: Vec<FocusRow> = focus_rows()
        .into_iter()
        .filter(|r| r.consumer.id == party.id)
        .collect();
    let mut lines: Vec<Line> = Vec::new();
    for r in &rows {
        match lines
            .iter_mut()
            .find(|l| l.deployment == r.deployment.name && l.token_kind == Some(r.token_kind))
        {
            Some(l) => {
                l.quantity += r.tokens;
                l.amount += r.cost;
            }
            None => lines.push(Line {
                deployment: r.deployment.name.clone(),
                model: r.deployment.model.clone(),
                deployment_type: r.deployment.deployment_type.clone(),
                token_kind: Some(r.token_kind),
                quantity: r.tokens,
                unit: "1M tokens".into(),
                rate: Some(r.rate),
                amount: r.cost,
                kind: LineKind::PayAsYouGo,
            }),
        }
    }
    let payg: Decimal = rows.iter().map(|r| r.cost).sum();
    let mut allocated = Decimal::ZERO;
    for p in provisioned() {
        for s in p.shares.iter().filter(|s| s.consumer.id == party.id) {
            allocated += s.amount;
            lines.push(Line {
                deployment: p.deployment.name.clone(),
                model: p.deployment.model.clone(),
                deployment_type: p.deployment.deployment_type.clone(),
                token_kind: None,
                quantity: s.tokens,
                unit: "1M tokens".into(),
                rate: None,
                amount: s.amount,
                kind: LineKind::ProvisionedShare,
            });
        }
    }
    let daily = PERIOD
        .days()
        .map(|day| DailyCost {
            day,
            amount: rows.iter().filter(|r| r.day == day).map(|r| r.cost).sum(),
        })
        .collect();
    let budgets = parse_budgets(
        r#"{"currency":"EUR","budgets":[{"costCenter":"CC-4100","monthly":25000.00,"thresholds":[50,80,100]},
            {"costCenter":"CC-5200","monthly":6000,"thresholds":[80,100]}]}"#,
    )
    .unwrap();
    let total = payg + allocated;
    let budget = party.cost_center.as_ref().and_then(|cc| {
        let spend = [Spend {
            scope: BudgetScope::CostCenter(cc.clone()),
            currency: "EUR".into(),
            amount: total,
        }];
        budgets
            .evaluate(&spend)
            .unwrap()
            .into_iter()
            .find(|s| s.scope == spend[0].scope)
    });
    Statement {
        who: party,
        period: PERIOD,
        currency: "EUR".into(),
        price_sheet_version: SHEET.into(),
        totals: Totals {
            payg,
            allocated,
            total,
        },
        calls: rows.iter().map(|r| r.calls).sum(),
        lines,
        daily,
        unpriced: if c == 0 {
            vec![Unpriced {
                reason: "no rate for gpt-4.1-mini / GlobalStandard in the sheet".into(),
                calls: 37,
            }]
        } else {
            vec![]
        },
        duplicates_removed: Duplicates {
            identical: 12,
            conflicting: if c == 1 { 1 } else { 0 },
        },
        budget,
    }
}

pub fn statements() -> Vec<Statement> {
    (0..parties().len()).map(statement).collect()
}

pub fn overview() -> Overview {
    let sts = statements();
    let rows: Vec<OverviewRow> = sts
        .iter()
        .map(|s| OverviewRow {
            id: s.who.id.clone(),
            label: s.who.display_name.clone(),
            calls: s.calls,
            totals: s.totals,
        })
        .collect();
    let sum = |f: fn(&Totals) -> Decimal| sts.iter().map(|s| f(&s.totals)).sum::<Decimal>();
    let daily = PERIOD
        .days()
        .map(|day| DailyCost {
            day,
            amount: sts
                .iter()
                .flat_map(|s| &s.daily)
                .filter(|x| x.day == day)
                .map(|x| x.amount)
                .sum(),
        })
        .collect();
    Overview {
        period: Some(PERIOD),
        group_label: "consumer".into(),
        price_sheet_version: SHEET.into(),
        sections: vec![OverviewSection {
            currency: "EUR".into(),
            rows,
            daily,
            totals: Totals {
                payg: sum(|t| t.payg),
                allocated: sum(|t| t.allocated),
                total: sum(|t| t.total),
            },
            unallocated: vec![Unallocated {
                deployment: "ptu-eval".into(),
                amount: d("4000.00"),
            }],
        }],
        duplicates_removed: Duplicates {
            identical: 24,
            conflicting: 1,
        },
        budgets: sts.iter().filter_map(|s| s.budget.clone()).collect(),
    }
}
