//! The price sheet (v1 and v2 read into one shape) and the price of one call: the rate for its
//! model, version and deployment type effective at its `eventTime`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::deployment::{DeploymentMap, DeploymentType};
use crate::model::{normalize, strip_version_suffix, version_matches};
use crate::money::Currency;
use crate::provisioned::ProvisionedDeployment;

/// The sheet shipped with the binary (v2: Global and Data Zone Standard list prices in USD).
pub const EMBEDDED_SHEET: &str = include_str!("../../../prices/azure-openai-usd.json");

/// Which format a sheet was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    /// `models: {name: rates}`: undated, one set of rates for every pay-as-you-go type.
    V1,
    /// `rates: [...]` with `deploymentType`, optional `version` and `from` dates.
    V2,
}

/// One rate, per 1M tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    /// Lower-case model name, as in the sheet.
    pub model: String,
    pub version: Option<String>,
    /// `None` only in v1 sheets: the rate applies to every pay-as-you-go type.
    pub deployment_type: Option<DeploymentType>,
    /// Effective from this day, 00:00 UTC; `None`: since always.
    pub from: Option<NaiveDate>,
    pub input: Decimal,
    /// Absent: cached input is charged at the input rate.
    pub cached_input: Option<Decimal>,
    pub output: Decimal,
}

/// A price sheet, v1 or v2.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSheet {
    pub version: String,
    pub currency: Currency,
    pub format: SheetFormat,
    pub source: Option<String>,
    pub taken_on: Option<String>,
    /// In file order.
    pub rates: Vec<Rate>,
    /// Lower-case alias → lower-case model.
    pub aliases: BTreeMap<String, String>,
    /// The sheet's `deployments` (lower-case names): they fill gaps of the setting.
    pub deployments: DeploymentMap,
    /// The sheet's `provisioned` section, by lower-case deployment name.
    pub provisioned: BTreeMap<String, ProvisionedDeployment>,
}

/// What the engine knows of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage<'a> {
    pub model: Option<&'a str>,
    /// The deployment's model version when known; else taken from the model name's suffix.
    pub version: Option<&'a str>,
    pub deployment_type: DeploymentType,
    pub event_time: DateTime<Utc>,
    pub prompt: u64,
    pub cached: u64,
    pub completion: u64,
}

/// The exact price of one call. Serialises as the ledger's `cost` object, amounts as JSON
/// numbers written and read as their exact digits (`json_number`), never through a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub currency: String,
    #[serde(with = "crate::json_number")]
    pub input: Decimal,
    #[serde(with = "crate::json_number")]
    pub cached_input: Decimal,
    #[serde(with = "crate::json_number")]
    pub output: Decimal,
    #[serde(with = "crate::json_number")]
    pub total: Decimal,
    /// The `version` of the price sheet the rates came from.
    pub price_sheet: String,
}

/// Why a call has no cost. It is counted as unpriced, never guessed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unpriced {
    #[error("the call names no model")]
    NoModel,
    #[error("the price sheet has no rate for model {model:?}")]
    NoRateForModel { model: String },
    #[error("the price sheet has no {deployment_type} rate for model {model:?}")]
    NoRateForType {
        model: String,
        deployment_type: DeploymentType,
    },
    #[error("the call precedes the first {deployment_type} rate for {model:?} (from {first})")]
    BeforeFirstRate {
        model: String,
        deployment_type: DeploymentType,
        first: NaiveDate,
    },
    #[error("{0} deployments carry no per-call price (their monthly cost is allocated)")]
    Provisioned(DeploymentType),
}

impl Unpriced {
    /// A stable code for records and reports.
    pub fn code(&self) -> &'static str {
        match self {
            Unpriced::NoModel => "noModel",
            Unpriced::NoRateForModel { .. } => "noRateForModel",
            Unpriced::NoRateForType { .. } => "noRateForType",
            Unpriced::BeforeFirstRate { .. } => "beforeFirstRate",
            Unpriced::Provisioned(_) => "provisioned",
        }
    }
}

impl PriceSheet {
    /// The sheet shipped in the binary.
    pub fn embedded() -> Result<PriceSheet, crate::SheetError> {
        PriceSheet::from_json(EMBEDDED_SHEET)
    }

    /// The rate that prices `usage`. Precedence: a rate naming the call's version, then a rate
    /// for the model name as given without a version, then rates for the name with version
    /// suffixes removed one at a time (`gpt-4o-2024-11-20` → `gpt-4o`). Within each level the
    /// rate for the call's deployment type with the latest `from` not after the call's UTC day
    /// applies; a level with no rate in effect yet gives way to the next.
    pub fn rate_for(&self, usage: &Usage<'_>) -> Result<&Rate, Unpriced> {
        if usage.deployment_type.is_provisioned() {
            return Err(Unpriced::Provisioned(usage.deployment_type));
        }
        let model = usage.model.ok_or(Unpriced::NoModel)?;
        let (names, derived) = self.name_chain(model);
        let version = usage.version.map(str::to_string).or(derived);
        let day = usage.event_time.date_naive();
        let mut levels: Vec<Vec<&Rate>> = Vec::new();
        if let Some(v) = &version {
            let exact = self.rates.iter().filter(|r| {
                names.contains(&r.model)
                    && r.version
                        .as_deref()
                        .is_some_and(|rv| version_matches(rv, v))
            });
            levels.push(exact.collect());
        }
        for name in &names {
            levels.push(
                self.rates
                    .iter()
                    .filter(|r| &r.model == name && r.version.is_none())
                    .collect(),
            );
        }
        let applies = |r: &Rate| match r.deployment_type {
            Some(t) => t == usage.deployment_type,
            None => true,
        };
        let mut any_rate = false;
        let mut first: Option<NaiveDate> = None;
        for level in &levels {
            any_rate |= !level.is_empty();
            let typed: Vec<&Rate> = level.iter().copied().filter(|r| applies(r)).collect();
            let effective = typed
                .iter()
                .filter(|r| r.from.is_none_or(|f| f <= day))
                .max_by_key(|r| r.from);
            if let Some(r) = effective {
                return Ok(r);
            }
            first = typed.iter().filter_map(|r| r.from).chain(first).min();
        }
        let model = names.first().cloned().unwrap_or_default();
        let deployment_type = usage.deployment_type;
        Err(match (any_rate, first) {
            (false, _) => Unpriced::NoRateForModel { model },
            (true, None) => Unpriced::NoRateForType {
                model,
                deployment_type,
            },
            (true, Some(first)) => Unpriced::BeforeFirstRate {
                model,
                deployment_type,
                first,
            },
        })
    }

    /// The cost of a call: (prompt − cached) × input + cached × cachedInput + completion ×
    /// output, per 1M tokens, exact. Cached tokens above the prompt count as prompt tokens.
    pub fn price(&self, usage: &Usage<'_>) -> Result<Cost, Unpriced> {
        let r = self.rate_for(usage)?;
        let cached = usage.cached.min(usage.prompt);
        let per = |tokens: u64, rate: Decimal| {
            (Decimal::from(tokens) * rate / Decimal::from(1_000_000u32)).normalize()
        };
        let input = per(usage.prompt - cached, r.input);
        let cached_input = per(cached, r.cached_input.unwrap_or(r.input));
        let output = per(usage.completion, r.output);
        Ok(Cost {
            currency: self.currency.code().to_string(),
            input,
            cached_input,
            output,
            total: (input + cached_input + output).normalize(),
            price_sheet: self.version.clone(),
        })
    }

    /// True when some rate prices `model` under some type (the engine's "is this deployment
    /// name a known model" test).
    pub fn knows_model(&self, model: &str) -> bool {
        let (names, _) = self.name_chain(model);
        self.rates.iter().any(|r| names.contains(&r.model))
    }

    /// The name, with aliases applied, then each shorter name after a version suffix comes off;
    /// and the first date-like version removed.
    fn name_chain(&self, model: &str) -> (Vec<String>, Option<String>) {
        let alias = |n: String| self.aliases.get(&n).cloned().unwrap_or(n);
        let mut names = vec![alias(normalize(model))];
        let mut version = None;
        while let Some(last) = names.last() {
            let Some((head, v)) = strip_version_suffix(last) else {
                break;
            };
            if version.is_none() {
                version = v.map(str::to_string);
            }
            let next = alias(head.to_string());
            if names.contains(&next) {
                break;
            }
            names.push(next);
        }
        (names, version)
    }
}
