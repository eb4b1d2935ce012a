//! Largest-remainder allocation: a total split by weights into minor-unit amounts that sum to
//! the total exactly, ties broken by key order.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::money::round_to;

/// The result of [`allocate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allocation<K> {
    /// Each key's share, in key order; the shares sum to the (rounded) total exactly.
    Allocated(Vec<(K, Decimal)>),
    /// Nobody has any weight (no calls, or only zero-weight tokens): the whole total stays
    /// unallocated.
    Unallocated(Decimal),
}

/// Why an allocation cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error("allocation weight {0} is negative")]
    NegativeWeight(Decimal),
    #[error("allocated total {0} is negative")]
    NegativeTotal(Decimal),
    #[error("allocation of {0} over these weights exceeds the exact integer range")]
    Overflow(Decimal),
}

/// Splits `total` over `shares` in proportion to their weights.
///
/// The total is first rounded (half away from zero) to `scale` decimals, the currency's minor
/// unit. Each key then gets the floor of its exact quota in minor units; the units left over
/// go one each to the keys with the largest remainders, and among equal remainders to the
/// smallest key. So 10.00 over three equal weights gives 3.34, 3.33, 3.33 with the cent to the
/// first key. Repeated keys are merged (their weights added). Weights are exact decimals
/// (weighted tokens); the arithmetic is integer, so the result never depends on float error.
pub fn allocate<K: Ord + Clone>(
    total: Decimal,
    scale: u32,
    shares: &[(K, Decimal)],
) -> Result<Allocation<K>, AllocationError> {
    let total = round_to(total, scale);
    if total.is_sign_negative() && !total.is_zero() {
        return Err(AllocationError::NegativeTotal(total));
    }
    let mut merged: BTreeMap<K, Decimal> = BTreeMap::new();
    for (key, weight) in shares {
        if weight.is_sign_negative() && !weight.is_zero() {
            return Err(AllocationError::NegativeWeight(*weight));
        }
        *merged.entry(key.clone()).or_default() += *weight;
    }
    let weight_scale = merged.values().map(Decimal::scale).max().unwrap_or(0);
    let overflow = || AllocationError::Overflow(total);
    let weights: Vec<(K, i128)> = merged
        .into_iter()
        .map(|(k, w)| integer_at_scale(w, weight_scale).map(|w| (k, w)))
        .collect::<Option<_>>()
        .ok_or_else(overflow)?;
    let sum: i128 = weights
        .iter()
        .try_fold(0i128, |acc, (_, w)| acc.checked_add(*w))
        .ok_or_else(overflow)?;
    if sum == 0 {
        return Ok(Allocation::Unallocated(total));
    }
    let units = integer_at_scale(total, scale).ok_or_else(overflow)?;
    let mut parts = Vec::with_capacity(weights.len());
    for (index, (_, w)) in weights.iter().enumerate() {
        let product = units.checked_mul(*w).ok_or_else(overflow)?;
        parts.push((product / sum, product % sum, index));
    }
    let given: i128 = parts.iter().map(|(floor, _, _)| *floor).sum();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    // Largest remainder first; `index` follows key order, so ties go to the smaller key.
    order.sort_by(|&a, &b| {
        parts[b]
            .1
            .cmp(&parts[a].1)
            .then(parts[a].2.cmp(&parts[b].2))
    });
    let left = usize::try_from(units - given).map_err(|_| overflow())?;
    for &i in order.iter().take(left) {
        parts[i].0 += 1;
    }
    let amounts = weights
        .into_iter()
        .zip(parts)
        .map(|((key, _), (minor, _, _))| (key, Decimal::from_i128_with_scale(minor, scale)))
        .collect();
    Ok(Allocation::Allocated(amounts))
}

/// `value × 10^scale` as an integer, when `value` has at most `scale` decimals and fits.
fn integer_at_scale(value: Decimal, scale: u32) -> Option<i128> {
    let mut v = value;
    v.rescale(scale);
    if v.scale() != scale {
        return None;
    }
    Some(v.mantissa())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn allocated(a: Allocation<&'static str>) -> Vec<(&'static str, Decimal)> {
        match a {
            Allocation::Allocated(v) => v,
            Allocation::Unallocated(t) => panic!("unallocated {t}"),
        }
    }

    #[test]
    fn a_ptu_month_split_three_to_one_is_exact() {
        let shares = [("team-a", d("3")), ("team-b", d("1"))];
        let got = allocated(allocate(d("20000.00"), 2, &shares).unwrap());
        assert_eq!(
            got,
            vec![("team-a", d("15000.00")), ("team-b", d("5000.00"))]
        );
    }

    #[test]
    fn a_three_to_one_split_with_a_remainder_gives_the_cent_to_the_largest_remainder() {
        // 0.01 × 3/4 = 0.0075 and × 1/4 = 0.0025: floors 0 and 0, the cent goes to team-a.
        let shares = [("team-a", d("3")), ("team-b", d("1"))];
        let got = allocated(allocate(d("0.01"), 2, &shares).unwrap());
        assert_eq!(got, vec![("team-a", d("0.01")), ("team-b", d("0.00"))]);
        // 100.01 × 3/4 = 75.0075, × 1/4 = 25.0025.
        let got = allocated(allocate(d("100.01"), 2, &shares).unwrap());
        assert_eq!(got, vec![("team-a", d("75.01")), ("team-b", d("25.00"))]);
    }

    #[test]
    fn equal_remainders_go_to_the_smallest_key() {
        let shares = [("c", d("1")), ("a", d("1")), ("b", d("1"))];
        let got = allocated(allocate(d("10.00"), 2, &shares).unwrap());
        assert_eq!(
            got,
            vec![("a", d("3.34")), ("b", d("3.33")), ("c", d("3.33"))]
        );
        let got = allocated(allocate(d("0.02"), 2, &shares).unwrap());
        assert_eq!(
            got,
            vec![("a", d("0.01")), ("b", d("0.01")), ("c", d("0.00"))]
        );
    }

    #[test]
    fn zero_total_weight_leaves_everything_unallocated() {
        let none: [(&str, Decimal); 0] = [];
        assert_eq!(
            allocate(d("20000"), 2, &none).unwrap(),
            Allocation::Unallocated(d("20000.00"))
        );
        let zero = [("a", Decimal::ZERO)];
        assert_eq!(
            allocate(d("5"), 2, &zero).unwrap(),
            Allocation::Unallocated(d("5.00"))
        );
    }

    #[test]
    fn yen_are_allocated_in_whole_units_and_weights_may_be_fractional() {
        let shares = [("a", d("0.5")), ("b", d("0.25")), ("c", d("0.25"))];
        let got = allocated(allocate(d("1001"), 0, &shares).unwrap());
        assert_eq!(got, vec![("a", d("501")), ("b", d("250")), ("c", d("250"))]);
    }

    #[test]
    fn negative_weights_and_totals_are_refused() {
        assert!(allocate(d("1"), 2, &[("a", d("-1"))]).is_err());
        assert!(allocate(d("-1"), 2, &[("a", d("1"))]).is_err());
    }

    proptest! {
        #[test]
        fn shares_always_sum_to_the_total_and_differ_from_quota_by_under_one_unit(
            cents in 0i64..10_000_000_000,
            weights in proptest::collection::vec(0u64..5_000_000, 1..12),
        ) {
            let total = Decimal::new(cents, 2);
            let shares: Vec<(usize, Decimal)> =
                weights.iter().enumerate().map(|(i, w)| (i, Decimal::from(*w))).collect();
            let sum_w: u64 = weights.iter().sum();
            match allocate(total, 2, &shares).unwrap() {
                Allocation::Unallocated(t) => prop_assert!(sum_w == 0 && t == total),
                Allocation::Allocated(v) => {
                    let s: Decimal = v.iter().map(|(_, a)| *a).sum();
                    prop_assert_eq!(s, total);
                    for (i, a) in v {
                        let quota = total * Decimal::from(weights[i]) / Decimal::from(sum_w);
                        prop_assert!((a - quota).abs() < d("0.01"));
                    }
                }
            }
        }
    }
}
