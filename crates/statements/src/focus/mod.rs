//! The FOCUS 1.2 export (FinOps Open Cost and Usage Specification): one CSV row per consumer ×
//! deployment × model × day × token kind of pay-as-you-go usage, and per provisioned deployment ×
//! month a purchase row plus one amortised usage row per consumer (and one for the unused part).
//! Amounts are written exact, never rounded. The mapping is documented in `docs/focus.md`.

mod columns;
mod provisioned;

pub use columns::{FOCUS_COLUMNS, FOCUS_MANDATORY_COLUMNS};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::model::{Party, TokenKind, YearMonth};
use columns::col;
use provisioned::provisioned_rows;

/// The FOCUS version this export follows.
pub const FOCUS_VERSION: &str = "1.2";

/// Values the same on every row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusContext {
    pub billing_account_id: String,
    pub billing_account_name: String,
    pub invoice_issuer_name: String,
    pub provider_name: String,
    pub publisher_name: String,
    pub service_name: String,
    /// ISO 4217; every amount of the export is in it.
    pub currency: String,
    pub price_sheet_version: String,
}

impl FocusContext {
    /// Microsoft as provider, publisher and invoice issuer; service "Azure OpenAI".
    pub fn azure_openai(
        billing_account_id: &str,
        billing_account_name: &str,
        currency: &str,
        price_sheet_version: &str,
    ) -> FocusContext {
        FocusContext {
            billing_account_id: billing_account_id.into(),
            billing_account_name: billing_account_name.into(),
            invoice_issuer_name: "Microsoft".into(),
            provider_name: "Microsoft".into(),
            publisher_name: "Microsoft".into(),
            service_name: "Azure OpenAI".into(),
            currency: currency.into(),
            price_sheet_version: price_sheet_version.into(),
        }
    }
}

/// An Azure OpenAI deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusDeployment {
    pub name: String,
    pub model: String,
    /// Azure SKU name, e.g. `GlobalStandard`.
    pub deployment_type: String,
    /// The deployment's Azure resource id, when known (ResourceId; the name stands in without it).
    pub resource_id: Option<String>,
    /// The Azure region's display name, e.g. `Sweden Central`.
    pub region: Option<String>,
}

/// Pay-as-you-go usage of one consumer × deployment × model × UTC day × token kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusRow {
    pub day: NaiveDate,
    pub consumer: Party,
    pub deployment: FocusDeployment,
    pub token_kind: TokenKind,
    pub tokens: u64,
    pub calls: u64,
    /// The tokens a rate is per: a power of ten, normally 1 000 000.
    pub unit_tokens: u64,
    /// The sheet's rate per `unit_tokens` (the contracted unit price).
    pub rate: Decimal,
    /// Azure's public list rate, when known (else the sheet's rate is the list price too).
    pub list_rate: Option<Decimal>,
    /// What the calls cost, exact (the billed cost).
    pub cost: Decimal,
}

/// One consumer's share of a provisioned deployment's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusShare {
    pub consumer: Party,
    pub tokens: u64,
    pub amount: Decimal,
}

/// A provisioned deployment's month: its cost and how it was allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusProvisioned {
    pub deployment: FocusDeployment,
    pub period: YearMonth,
    pub monthly: Decimal,
    pub shares: Vec<FocusShare>,
    /// The part no one used; `shares` + `unallocated` must equal `monthly`.
    pub unallocated: Decimal,
}

#[derive(Debug, thiserror::Error)]
pub enum FocusError {
    #[error("rate unit of {0} tokens is not a power of ten")]
    Unit(u64),
    #[error("provisioned {deployment} {period}: shares and unallocated sum to {sum}, not the monthly {monthly}")]
    Allocation {
        deployment: String,
        period: String,
        sum: Decimal,
        monthly: Decimal,
    },
    #[error("provisioned {0}: the monthly cost must be above 0")]
    Monthly(String),
    #[error("amount overflow on {0}")]
    Overflow(String),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
}

type Cells = Vec<Option<String>>;

fn set(row: &mut Cells, name: &str, value: impl Into<String>) {
    if let Some(cell) = row.get_mut(col(name)) {
        *cell = Some(value.into());
    }
}

fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

fn instant(day: NaiveDate) -> String {
    format!("{}T00:00:00Z", day.format("%Y-%m-%d"))
}

/// Azure's region id from its display name (`Sweden Central` → `swedencentral`).
fn region_id(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn common(ctx: &FocusContext, period: YearMonth, d: &FocusDeployment) -> Cells {
    let mut r: Cells = vec![None; FOCUS_COLUMNS.len()];
    set(&mut r, "BillingAccountId", ctx.billing_account_id.as_str());
    set(
        &mut r,
        "BillingAccountName",
        ctx.billing_account_name.as_str(),
    );
    set(&mut r, "BillingCurrency", ctx.currency.as_str());
    set(&mut r, "BillingPeriodStart", instant(period.first_day()));
    set(
        &mut r,
        "BillingPeriodEnd",
        instant(period.next().first_day()),
    );
    set(
        &mut r,
        "InvoiceIssuerName",
        ctx.invoice_issuer_name.as_str(),
    );
    set(&mut r, "ProviderName", ctx.provider_name.as_str());
    set(&mut r, "PublisherName", ctx.publisher_name.as_str());
    set(&mut r, "ServiceCategory", "AI and Machine Learning");
    set(&mut r, "ServiceSubcategory", "Generative AI");
    set(&mut r, "ServiceName", ctx.service_name.as_str());
    // ResourceId must not be null for a charge of a resource: the deployment's name stands in
    // when its Azure resource id is not known.
    set(
        &mut r,
        "ResourceId",
        d.resource_id.as_deref().unwrap_or(&d.name),
    );
    set(&mut r, "ResourceName", d.name.as_str());
    set(&mut r, "ResourceType", "Azure OpenAI deployment");
    if let Some(region) = &d.region {
        set(&mut r, "RegionId", region_id(region));
        set(&mut r, "RegionName", region.as_str());
    }
    set(&mut r, "x_Model", d.model.as_str());
    set(&mut r, "x_DeploymentType", d.deployment_type.as_str());
    set(&mut r, "x_PriceSheet", ctx.price_sheet_version.as_str());
    r
}

fn consumer(r: &mut Cells, p: &Party) {
    set(r, "SubAccountId", p.id.as_str());
    set(r, "SubAccountName", p.display_name.as_str());
    let mut tags = serde_json::Map::new();
    if let Some(cc) = &p.cost_center {
        tags.insert("costCenter".into(), cc.clone().into());
        set(r, "x_CostCenter", cc.as_str());
    }
    if let Some(team) = &p.team {
        tags.insert("team".into(), team.clone().into());
        set(r, "x_Team", team.as_str());
    }
    if !tags.is_empty() {
        set(r, "Tags", serde_json::Value::Object(tags).to_string());
    }
}

/// PricingQuantity: tokens in units of `unit_tokens` (a power of ten, so exact).
fn pricing_quantity(u: &FocusRow) -> Result<Decimal, FocusError> {
    let exp = u
        .unit_tokens
        .checked_ilog10()
        .filter(|e| 10u64.pow(*e) == u.unit_tokens)
        .ok_or(FocusError::Unit(u.unit_tokens))?;
    Ok(Decimal::from_i128_with_scale(i128::from(u.tokens), exp))
}

fn usage_row(ctx: &FocusContext, u: &FocusRow) -> Result<Cells, FocusError> {
    let quantity = pricing_quantity(u)?;
    let overflow = || FocusError::Overflow(format!("{} {}", u.deployment.name, u.day));
    let list_rate = u.list_rate.unwrap_or(u.rate);
    let contracted = quantity.checked_mul(u.rate).ok_or_else(overflow)?;
    let list = quantity.checked_mul(list_rate).ok_or_else(overflow)?;
    let period = YearMonth::new(u.day.year(), u.day.month()).ok_or_else(overflow)?;
    let d = &u.deployment;
    let mut r = common(ctx, period, d);
    let unit = format!("{} Tokens", u.unit_tokens);
    let kind = u.token_kind;
    let sku = format!("{}/{}/{}", d.model, d.deployment_type, kind.as_str());
    let description = format!(
        "{} {} tokens on {} deployment {}, per {unit}",
        d.model,
        kind.label().to_lowercase(),
        d.deployment_type,
        d.name
    );
    for (col, value) in [
        ("BilledCost", num(u.cost)),
        ("EffectiveCost", num(u.cost)),
        ("ContractedCost", num(contracted)),
        ("ListCost", num(list)),
        ("ContractedUnitPrice", num(u.rate)),
        ("ListUnitPrice", num(list_rate)),
        ("PricingQuantity", num(quantity)),
        ("PricingUnit", unit),
        ("PricingCategory", "Standard".into()),
        ("ConsumedQuantity", u.tokens.to_string()),
        ("ConsumedUnit", "Tokens".into()),
        ("ChargeCategory", "Usage".into()),
        ("ChargeFrequency", "Usage-Based".into()),
        ("ChargePeriodStart", instant(u.day)),
        (
            "ChargePeriodEnd",
            instant(u.day.succ_opt().unwrap_or(u.day)),
        ),
        ("ChargeDescription", description),
        ("SkuPriceId", format!("{}/{sku}", ctx.price_sheet_version)),
        ("SkuId", sku),
        ("x_TokenKind", kind.as_str().into()),
        ("x_Calls", u.calls.to_string()),
    ] {
        set(&mut r, col, value);
    }
    consumer(&mut r, &u.consumer);
    Ok(r)
}

/// The FOCUS CSV: a header of [`FOCUS_COLUMNS`], then the usage rows and the provisioned rows.
/// Null cells are empty (the CSV form of FOCUS's null).
pub fn render_focus_csv(
    ctx: &FocusContext,
    usage: &[FocusRow],
    provisioned: &[FocusProvisioned],
) -> Result<String, FocusError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(FOCUS_COLUMNS)?;
    for u in usage {
        let r = usage_row(ctx, u)?;
        w.write_record(r.iter().map(|c| c.as_deref().unwrap_or("")))?;
    }
    for p in provisioned {
        for r in provisioned_rows(ctx, p)? {
            w.write_record(r.iter().map(|c| c.as_deref().unwrap_or("")))?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| FocusError::Csv(csv::Error::from(std::io::Error::other(e.to_string()))))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
