//! The FOCUS 1.2 columns this export writes, in order: the 21 mandatory columns (the spec's
//! alphabetical order), then the conditional and recommended ones that apply, then our `x_` extras.

/// The mandatory columns of FOCUS 1.2, in the order written.
pub const FOCUS_MANDATORY_COLUMNS: [&str; 21] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
];

/// Conditional and recommended columns that apply to Azure OpenAI usage, alphabetical.
pub const FOCUS_OPTIONAL_COLUMNS: [&str; 24] = [
    "ChargeFrequency",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedUnitPrice",
    "ListUnitPrice",
    "PricingCategory",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceSubcategory",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
];

/// Our columns (FOCUS: custom columns are prefixed `x_`), last.
pub const FOCUS_EXTRA_COLUMNS: [&str; 7] = [
    "x_Calls",
    "x_CostCenter",
    "x_DeploymentType",
    "x_Model",
    "x_PriceSheet",
    "x_Team",
    "x_TokenKind",
];

/// Every column written, in order.
pub const FOCUS_COLUMNS: [&str; 52] = {
    let mut all = [""; 52];
    let mut i = 0;
    while i < 21 {
        all[i] = FOCUS_MANDATORY_COLUMNS[i];
        i += 1;
    }
    let mut j = 0;
    while j < 24 {
        all[21 + j] = FOCUS_OPTIONAL_COLUMNS[j];
        j += 1;
    }
    let mut k = 0;
    while k < 7 {
        all[45 + k] = FOCUS_EXTRA_COLUMNS[k];
        k += 1;
    }
    all
};

/// The index of a column in [`FOCUS_COLUMNS`] (a compile-time name; a typo fails the unit test).
pub fn col(name: &str) -> usize {
    FOCUS_COLUMNS
        .iter()
        .position(|c| *c == name)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_unique_and_extras_are_prefixed_and_last() {
        let mut seen = std::collections::BTreeSet::new();
        assert!(FOCUS_COLUMNS.iter().all(|c| seen.insert(*c)));
        assert!(FOCUS_COLUMNS[45..].iter().all(|c| c.starts_with("x_")));
        assert!(FOCUS_COLUMNS[..45].iter().all(|c| !c.starts_with("x_")));
    }
}
