//! A provisioned (PTU) deployment's month in FOCUS: a recurring `Purchase` of the monthly cost
//! (EffectiveCost 0), amortised into one `Usage` row per consumer (status `Used`, EffectiveCost =
//! the share, BilledCost 0) and one for the unused part (status `Unused`).

use rust_decimal::{Decimal, RoundingStrategy};

use super::{
    common, consumer, instant, num, set, Cells, FocusContext, FocusError, FocusProvisioned,
};

const DEPLOYMENT_MONTHS: &str = "Deployment-Months";

fn check(p: &FocusProvisioned) -> Result<(), FocusError> {
    let name = &p.deployment.name;
    if p.monthly <= Decimal::ZERO {
        return Err(FocusError::Monthly(name.clone()));
    }
    let sum: Decimal = p.shares.iter().map(|s| s.amount).sum::<Decimal>() + p.unallocated;
    if sum != p.monthly {
        return Err(FocusError::Allocation {
            deployment: name.clone(),
            period: p.period.to_string(),
            sum,
            monthly: p.monthly,
        });
    }
    Ok(())
}

/// What every row of the deployment's month carries.
fn base(ctx: &FocusContext, p: &FocusProvisioned) -> Cells {
    let d = &p.deployment;
    let mut r = common(ctx, p.period, d);
    let sku = format!("{}/{}/provisioned", d.model, d.deployment_type);
    for (col, value) in [
        ("ChargePeriodStart", instant(p.period.first_day())),
        ("ChargePeriodEnd", instant(p.period.next().first_day())),
        ("ListUnitPrice", num(p.monthly)),
        ("ContractedUnitPrice", num(p.monthly)),
        ("PricingUnit", DEPLOYMENT_MONTHS.into()),
        (
            "CommitmentDiscountId",
            d.resource_id.clone().unwrap_or_else(|| d.name.clone()),
        ),
        ("CommitmentDiscountName", d.name.clone()),
        ("CommitmentDiscountCategory", "Usage".into()),
        ("CommitmentDiscountType", "Provisioned Throughput".into()),
        ("CommitmentDiscountUnit", DEPLOYMENT_MONTHS.into()),
        ("SkuPriceId", format!("{}/{sku}", ctx.price_sheet_version)),
        ("SkuId", sku),
    ] {
        set(&mut r, col, value);
    }
    r
}

fn purchase(ctx: &FocusContext, p: &FocusProvisioned) -> Cells {
    let d = &p.deployment;
    let mut r = base(ctx, p);
    for (col, value) in [
        ("ChargeCategory", "Purchase".to_string()),
        ("ChargeFrequency", "Recurring".into()),
        ("PricingCategory", "Standard".into()),
        ("BilledCost", num(p.monthly)),
        ("EffectiveCost", "0".into()),
        ("ListCost", num(p.monthly)),
        ("ContractedCost", num(p.monthly)),
        ("PricingQuantity", "1".into()),
        ("CommitmentDiscountQuantity", "1".into()),
        (
            "ChargeDescription",
            format!(
                "Provisioned deployment {} ({}, {}): monthly cost {}",
                d.name, d.model, d.deployment_type, p.period
            ),
        ),
    ] {
        set(&mut r, col, value);
    }
    r
}

/// A usage row covered by the purchase: `amount` of the month's cost, as a fraction of the month.
/// The fraction of the month's cost `amount` is, and the list/contracted cost that fraction × the
/// monthly price gives exactly. When `amount / monthly` terminates, that is `amount` itself;
/// otherwise the fraction is rounded (half away from zero) to as many decimals as keep the product
/// exact, and the cost differs from `amount` far below the minor unit (EffectiveCost stays `amount`).
pub(super) fn fraction_of_month(amount: Decimal, monthly: Decimal) -> (Decimal, Decimal) {
    let exact = amount.checked_div(monthly).unwrap_or_default();
    if exact.checked_mul(monthly) == Some(amount) {
        return (exact, amount);
    }
    let mut dp = 28u32.saturating_sub(monthly.scale());
    loop {
        let q = exact.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
        match exact_product(q, monthly) {
            Some(cost) => return (q, cost),
            None if dp == 0 => return (q, q * monthly),
            None => dp -= 1,
        }
    }
}

/// `a × b` when rust_decimal can hold it without rounding (scale ≤ 28, mantissa < 2⁹⁶).
fn exact_product(a: Decimal, b: Decimal) -> Option<Decimal> {
    if a.scale() + b.scale() > 28 {
        return None;
    }
    let m = a
        .mantissa()
        .unsigned_abs()
        .checked_mul(b.mantissa().unsigned_abs())?;
    (m < 1u128 << 96).then(|| a * b)
}

fn amortised(ctx: &FocusContext, p: &FocusProvisioned, amount: Decimal, status: &str) -> Cells {
    let (fraction, cost) = fraction_of_month(amount, p.monthly);
    let fraction = num(fraction);
    let mut r = base(ctx, p);
    for (col, value) in [
        ("ChargeCategory", "Usage".to_string()),
        ("ChargeFrequency", "Usage-Based".into()),
        ("PricingCategory", "Committed".into()),
        ("BilledCost", "0".into()),
        ("EffectiveCost", num(amount)),
        ("ListCost", num(cost)),
        ("ContractedCost", num(cost)),
        ("PricingQuantity", fraction.clone()),
        ("CommitmentDiscountQuantity", fraction),
        ("CommitmentDiscountStatus", status.into()),
    ] {
        set(&mut r, col, value);
    }
    r
}

/// The purchase row, a `Used` row per share and an `Unused` row for a non-zero unallocated part.
pub(super) fn provisioned_rows(
    ctx: &FocusContext,
    p: &FocusProvisioned,
) -> Result<Vec<Cells>, FocusError> {
    check(p)?;
    let name = &p.deployment.name;
    let mut rows = vec![purchase(ctx, p)];
    for s in &p.shares {
        let mut r = amortised(ctx, p, s.amount, "Used");
        set(&mut r, "ConsumedQuantity", s.tokens.to_string());
        set(&mut r, "ConsumedUnit", "Tokens");
        let what = format!(
            "Share of provisioned deployment {name} {} by weighted tokens",
            p.period
        );
        set(&mut r, "ChargeDescription", what);
        consumer(&mut r, &s.consumer);
        rows.push(r);
    }
    if !p.unallocated.is_zero() {
        let mut r = amortised(ctx, p, p.unallocated, "Unused");
        let what = format!("Unused part of provisioned deployment {name} {}", p.period);
        set(&mut r, "ChargeDescription", what);
        rows.push(r);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn a_terminating_fraction_keeps_the_share_as_the_cost() {
        assert_eq!(
            fraction_of_month(d("15000.00"), d("20000.00")),
            (d("0.75"), d("15000.00"))
        );
    }

    #[test]
    fn a_recurring_fraction_is_rounded_so_its_product_stays_exact() {
        for (share, monthly) in [
            ("1.00", "3.00"),
            ("2.00", "3.00"),
            ("4115.23", "12345.67"),
            ("0.01", "7"),
        ] {
            let (share, monthly) = (d(share), d(monthly));
            let (q, cost) = fraction_of_month(share, monthly);
            assert_eq!(q * monthly, cost, "{share}/{monthly}");
            assert!(
                (cost - share).abs() < d("0.0000000000000001"),
                "{share}/{monthly}: {cost}"
            );
            assert!(q.scale() >= 16, "{q} keeps enough digits");
        }
    }
}
