//! A provisioned (PTU) deployment's month in FOCUS: a recurring `Purchase` of the monthly cost
//! (EffectiveCost 0), amortised into one `Usage` row per consumer (status `Used`, EffectiveCost =
//! the share, BilledCost 0) and one for the unused part (status `Unused`).

use rust_decimal::Decimal;

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
fn amortised(ctx: &FocusContext, p: &FocusProvisioned, amount: Decimal, status: &str) -> Cells {
    let fraction = num(amount.checked_div(p.monthly).unwrap_or_default());
    let mut r = base(ctx, p);
    for (col, value) in [
        ("ChargeCategory", "Usage".to_string()),
        ("ChargeFrequency", "Usage-Based".into()),
        ("PricingCategory", "Committed".into()),
        ("BilledCost", "0".into()),
        ("EffectiveCost", num(amount)),
        ("ListCost", num(amount)),
        ("ContractedCost", num(amount)),
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
