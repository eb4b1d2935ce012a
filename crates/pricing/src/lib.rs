//! Pricing for aoai-chargeback, pure (no I/O beyond strings): exact money, Azure OpenAI price
//! sheets (v1 and v2), the rate of a call by model, version, deployment type and date, sheet
//! checks with file positions, and the import of Azure Retail Prices API answers.
//!
//! # Layout
//! - `money`: [`Money`], [`Currency`], minor units, [`round_to`] (half away from zero, once, at
//!   presentation).
//! - `allocate`: [`allocate`], the largest-remainder split of a total by weights.
//! - `deployment`: [`DeploymentType`] (Azure SKU names), the `CHARGEBACK_DEPLOYMENTS` /
//!   `CHARGEBACK_DEPLOYMENT_MODELS` parsers and [`resolve_deployment`].
//! - `model`: model-name normalisation, version suffixes and version matching.
//! - `sheet`: [`PriceSheet`], [`Rate`], [`Usage`], [`Cost`], [`Unpriced`]; `PriceSheet::price`.
//! - `json_number`: exact decimals as JSON numbers (the `cost` amounts of the ledger).
//! - `parse`: JSON → sheet with [`Diagnostic`]s; `position`: line:column of a JSON path.
//! - `provisioned`: [`ProvisionedDeployment`], [`TokenWeights`] (PTU weights).
//! - `check`: [`check`] → a models × types × dates [`RateTable`] or diagnostics.
//! - `import` + `meter`: [`import_retail`], Azure Retail Prices items → a v2 sheet.
//!
//! The money rules are in `docs/money.md`.

mod allocate;
mod check;
mod deployment;
mod import;
mod json_number;
mod meter;
mod model;
mod money;
mod parse;
mod position;
mod provisioned;
mod sheet;

pub use allocate::{allocate, Allocation, AllocationError};
pub use check::{check, CheckOutcome, RateTable, TableRow};
pub use deployment::{
    deployment_settings, parse_deployment_models, parse_deployments, resolve_deployment,
    DeploymentEntry, DeploymentMap, DeploymentMapError, DeploymentType, DeploymentWarning,
    ResolvedDeployment, Source, UnknownDeploymentType,
};
pub use import::{import_retail, ImportError, ImportOptions, Imported, SkipReason, SkippedMeter};
pub use meter::{map_meter, MeterKind, MeterMapping};
pub use money::{minor_unit_scale, round_to, Currency, CurrencyError, CurrencyMismatch, Money};
pub use parse::{Diagnostic, Severity, SheetError};
pub use provisioned::{ProvisionedDeployment, TokenWeights};
pub use sheet::{Cost, PriceSheet, Rate, SheetFormat, Unpriced, Usage, EMBEDDED_SHEET};
