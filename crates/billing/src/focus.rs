//! Calls and provisioned months → the FOCUS 1.2 rows of `chargeback-statements`: one row per
//! consumer × deployment × model × UTC day × token kind × rate, amounts summed exactly.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use chargeback_statements::{FocusDeployment, FocusProvisioned, FocusRow, FocusShare, TokenKind};

use crate::calls::Call;
use crate::provisioned::ProvisionedMonth;
use crate::statement::{implied_rate, RATE_UNIT_TOKENS};

fn deployment(name: &str, model: &str, ty: &str) -> FocusDeployment {
    FocusDeployment {
        name: name.into(),
        model: model.into(),
        deployment_type: ty.into(),
        resource_id: None,
        region: None,
    }
}

type Key = (
    NaiveDate,
    String,
    String,
    String,
    String,
    TokenKind,
    Decimal,
);

/// The pay-as-you-go rows of every priced call.
pub fn focus_rows(calls: &[Call]) -> Vec<FocusRow> {
    let mut rows: BTreeMap<Key, FocusRow> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.cost.is_some()) {
        for kind in [TokenKind::Input, TokenKind::CachedInput, TokenKind::Output] {
            let (tokens, amount) = c.kind(kind);
            if tokens == 0 && amount.is_zero() {
                continue;
            }
            let rate = implied_rate(tokens, amount);
            let key = (
                c.day,
                c.consumer.id.clone(),
                c.deployment.clone(),
                c.model.clone(),
                c.deployment_type.clone(),
                kind,
                rate,
            );
            let row = rows.entry(key).or_insert_with(|| FocusRow {
                day: c.day,
                consumer: c.consumer.clone(),
                deployment: deployment(&c.deployment, &c.model, &c.deployment_type),
                token_kind: kind,
                tokens: 0,
                calls: 0,
                unit_tokens: RATE_UNIT_TOKENS,
                rate,
                list_rate: None,
                cost: Decimal::ZERO,
            });
            row.tokens += tokens;
            row.calls += 1;
            row.cost += amount;
        }
    }
    rows.into_values().collect()
}

/// The provisioned months as FOCUS purchases and amortised shares.
pub fn focus_provisioned(months: &[ProvisionedMonth]) -> Vec<FocusProvisioned> {
    months
        .iter()
        .map(|m| FocusProvisioned {
            deployment: deployment(&m.deployment, &m.model, &m.deployment_type),
            period: m.period,
            monthly: m.monthly,
            shares: m
                .shares
                .iter()
                .map(|s| FocusShare {
                    consumer: s.consumer.clone(),
                    tokens: s.tokens,
                    amount: s.amount,
                })
                .collect(),
            unallocated: m.unallocated,
        })
        .collect()
}
