//! Provisioned (PTU) deployments' months split over the consumers that used them, by weighted
//! tokens, with the largest-remainder rule of `chargeback_pricing::allocate` (shares sum to the
//! monthly cost exactly; a month without calls is wholly unallocated).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use chargeback_pricing::{allocate, Allocation, AllocationError, ProvisionedDeployment};
use chargeback_statements::{Party, YearMonth};

use crate::calls::Call;

/// One consumer's share of a provisioned month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub consumer: Party,
    pub tokens: u64,
    pub amount: Decimal,
}

/// A provisioned deployment's month and how it was split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedMonth {
    pub deployment: String,
    pub model: String,
    pub deployment_type: String,
    pub period: YearMonth,
    pub monthly: Decimal,
    pub shares: Vec<Share>,
    pub unallocated: Decimal,
}

fn month_of(c: &Call) -> Option<YearMonth> {
    use chrono::Datelike;
    YearMonth::new(c.day.year(), c.day.month())
}

/// The months the calls cover, in order.
pub fn months_of(calls: &[Call]) -> Vec<YearMonth> {
    let mut m: Vec<YearMonth> = calls.iter().filter_map(month_of).collect();
    m.sort_unstable();
    m.dedup();
    m
}

/// True when the call ran on one of the sheet's provisioned deployments.
pub fn is_provisioned(c: &Call, provisioned: &BTreeMap<String, ProvisionedDeployment>) -> bool {
    provisioned.contains_key(&c.deployment.to_lowercase())
}

/// Splits every provisioned deployment's cost for each of `months` over its calls' consumers;
/// `scale` is the currency's minor unit (2 for EUR).
pub fn allocate_months(
    calls: &[Call],
    provisioned: &BTreeMap<String, ProvisionedDeployment>,
    months: &[YearMonth],
    scale: u32,
) -> Result<Vec<ProvisionedMonth>, AllocationError> {
    let mut out = Vec::new();
    for (name, p) in provisioned {
        for &period in months {
            let used: Vec<&Call> = calls
                .iter()
                .filter(|c| c.deployment.to_lowercase() == *name && month_of(c) == Some(period))
                .collect();
            let mut by_id: BTreeMap<String, (Party, u64, Decimal)> = BTreeMap::new();
            for c in &used {
                let e = by_id
                    .entry(c.consumer.id.clone())
                    .or_insert_with(|| (c.consumer.clone(), 0, Decimal::ZERO));
                e.1 += c.input_tokens + c.cached_tokens + c.output_tokens;
                e.2 += p.weights.weighted_tokens(
                    c.input_tokens + c.cached_tokens,
                    c.cached_tokens,
                    c.output_tokens,
                );
            }
            let weights: Vec<(String, Decimal)> =
                by_id.iter().map(|(k, v)| (k.clone(), v.2)).collect();
            let (shares, unallocated) = match allocate(p.monthly, scale, &weights)? {
                Allocation::Unallocated(total) => (Vec::new(), total),
                Allocation::Allocated(shares) => (
                    shares
                        .into_iter()
                        .filter_map(|(id, amount)| {
                            by_id.get(&id).map(|(party, tokens, _)| Share {
                                consumer: party.clone(),
                                tokens: *tokens,
                                amount,
                            })
                        })
                        .collect(),
                    Decimal::ZERO,
                ),
            };
            let first = used.first();
            out.push(ProvisionedMonth {
                deployment: first.map_or(name.clone(), |c| c.deployment.clone()),
                model: first.map_or("-".into(), |c| c.model.clone()),
                deployment_type: first
                    .map_or("ProvisionedManaged".into(), |c| c.deployment_type.clone()),
                period,
                monthly: p.monthly,
                shares,
                unallocated,
            });
        }
    }
    Ok(out)
}
