//! `prices import`: Azure Retail Prices API answers (pages with `Items`, NDJSON of items, or
//! arrays) → a v2 price sheet, with every meter it skips or cannot map listed by name.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::deployment::DeploymentType;
use crate::json_number;
use crate::meter::{map_meter, MeterKind};
use crate::parse::MAX_AMOUNT;

/// One item of a Retail Prices API answer (the fields the import reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RetailItem {
    currency_code: String,
    /// Numbers kept as their text, read exactly (never through a float).
    tier_minimum_units: Option<Box<RawValue>>,
    retail_price: Option<Box<RawValue>>,
    arm_region_name: String,
    effective_start_date: String,
    meter_name: String,
    product_name: String,
    service_name: String,
    unit_of_measure: String,
    #[serde(rename = "type")]
    price_type: String,
}

/// What to select among the per-region, per-currency copies, and how to name the sheet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// `armRegionName` to keep (case-insensitive); all regions when absent.
    pub region: Option<String>,
    /// `currencyCode` to keep; required when the answers hold several.
    pub currency: Option<String>,
    /// The sheet's `version`; a name from currency, region and latest date when absent.
    pub version: Option<String>,
}

/// Why a meter was left out on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    NotAzureOpenAI,
    /// `type` is `Reservation` (or another non-`Consumption` price type).
    Reservation(String),
    /// Hourly provisioned (PTU) meters: a capacity price, not a token price.
    ProvisionedHourly,
    /// Units that are not tokens (hours, images, requests) or tiered prices.
    NotTokens(String),
}

/// A meter left out, by name, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedMeter {
    pub meter_name: String,
    pub product_name: String,
    pub reason: String,
}

/// The imported sheet and everything that did not make it into a rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The v2 sheet's JSON text, one rate per line.
    pub sheet_json: String,
    pub rates: usize,
    /// Reservation, hourly provisioned, non-token and non-Azure-OpenAI meters.
    pub skipped: Vec<(SkippedMeter, SkipReason)>,
    /// Azure OpenAI meters whose name could not be mapped (the CLI prints them to stderr).
    pub unmapped: Vec<SkippedMeter>,
    /// Model, version and type with no input or no output meter: no rate written.
    pub incomplete: Vec<String>,
    /// Items of other regions or currencies than the ones selected, not read further.
    pub not_selected: usize,
}

/// Why nothing could be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: not a Retail Prices API answer at {line}:{column}: {message}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the answers hold several currencies ({}); choose one with --currency", .0.join(", "))]
    SeveralCurrencies(Vec<String>),
    #[error("conflicting prices for the same meter (choose a --region):\n{}", .0.join("\n"))]
    Conflicts(Vec<String>),
}

type Key = (String, Option<String>, DeploymentType);
type Seen = (Decimal, String, String);

/// Imports Retail Prices answers, given as `(file name, text)` pairs.
pub fn import_retail(
    files: &[(&str, &str)],
    opts: &ImportOptions,
) -> Result<Imported, ImportError> {
    let mut items = Vec::new();
    for (file, text) in files {
        read_values(file, text, &mut items)?;
    }
    let currency = pick_currency(&items, opts)?;
    let region_ok = |i: &RetailItem| {
        opts.region
            .as_ref()
            .is_none_or(|r| i.arm_region_name.eq_ignore_ascii_case(r))
    };
    let mut c = Collector::default();
    let mut not_selected = 0;
    for item in &items {
        if item.currency_code.eq_ignore_ascii_case(&currency) && region_ok(item) {
            c.add(item);
        } else {
            not_selected += 1;
        }
    }
    if !c.conflicts.is_empty() {
        return Err(ImportError::Conflicts(c.conflicts));
    }
    let mut lines = Vec::new();
    let mut latest: Option<NaiveDate> = None;
    for (key, meters) in &c.prices {
        let rates = timeline(key, meters);
        if rates.is_empty() {
            c.incomplete.push(describe(key));
        }
        for (from, line) in rates {
            latest = latest.max(Some(from));
            lines.push(line);
        }
    }
    Ok(Imported {
        sheet_json: render(&lines, &currency, opts, latest, items.len()),
        rates: lines.len(),
        skipped: c.skipped,
        unmapped: c.unmapped,
        incomplete: c.incomplete,
        not_selected,
    })
}

/// The selected items sorted into prices, skipped and unmapped meters, and conflicts.
#[derive(Default)]
struct Collector {
    prices: BTreeMap<Key, BTreeMap<(MeterKind, NaiveDate), Seen>>,
    conflicts: Vec<String>,
    skipped: Vec<(SkippedMeter, SkipReason)>,
    unmapped: Vec<SkippedMeter>,
    incomplete: Vec<String>,
}

impl Collector {
    fn add(&mut self, item: &RetailItem) {
        let named = |reason: String| SkippedMeter {
            meter_name: item.meter_name.clone(),
            product_name: item.product_name.clone(),
            reason,
        };
        let per_million = match classify(item) {
            Err(reason) => {
                self.skipped.push((named(format!("{reason:?}")), reason));
                return;
            }
            Ok(p) => p,
        };
        let mapped = map_meter(&item.meter_name, &item.product_name);
        let (mapping, from) = match (mapped, start_date(item)) {
            (Ok(m), Ok(d)) => (m, d),
            (Err(reason), _) | (_, Err(reason)) => {
                self.unmapped.push(named(reason));
                return;
            }
        };
        let key = (mapping.model, mapping.version, mapping.deployment_type);
        let seen = (
            per_million,
            item.meter_name.clone(),
            item.arm_region_name.clone(),
        );
        let slot = self.prices.entry(key.clone()).or_default();
        match slot.get(&(mapping.kind, from)) {
            Some(prev) if prev.0 != seen.0 => self.conflicts.push(format!(
                "  {} {:?} from {from}: {} per 1M ({:?} in {}) vs {} ({:?} in {})",
                key.0, mapping.kind, prev.0, prev.1, prev.2, seen.0, seen.1, seen.2
            )),
            Some(_) => {}
            None => {
                slot.insert((mapping.kind, from), seen);
            }
        }
    }
}

/// Every JSON value of a file: a page (`Items`), an array of items, or an item (NDJSON).
fn read_values(file: &str, text: &str, items: &mut Vec<RetailItem>) -> Result<(), ImportError> {
    let parse_error = |e: serde_json::Error| ImportError::Parse {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    // Each document stays text until its shape is known, so prices are read from their digits.
    for doc in serde_json::Deserializer::from_str(text).into_iter::<Box<RawValue>>() {
        let doc = doc.map_err(parse_error)?;
        let raw = doc.get();
        if raw.starts_with('[') {
            items.extend(serde_json::from_str::<Vec<RetailItem>>(raw).map_err(parse_error)?);
            continue;
        }
        let members: HashMap<String, Box<RawValue>> =
            serde_json::from_str(raw).map_err(parse_error)?;
        match members.get("Items") {
            Some(list) => items
                .extend(serde_json::from_str::<Vec<RetailItem>>(list.get()).map_err(parse_error)?),
            None => items.push(serde_json::from_str(raw).map_err(parse_error)?),
        }
    }
    Ok(())
}

fn pick_currency(items: &[RetailItem], opts: &ImportOptions) -> Result<String, ImportError> {
    if let Some(c) = &opts.currency {
        return Ok(c.to_ascii_uppercase());
    }
    let all: BTreeSet<String> = items
        .iter()
        .map(|i| i.currency_code.to_ascii_uppercase())
        .collect();
    match all.len() {
        0 => Ok("USD".into()),
        1 => Ok(all.into_iter().next().unwrap_or_default()),
        _ => Err(ImportError::SeveralCurrencies(all.into_iter().collect())),
    }
}

/// The item's price per 1M tokens, or why it is not a pay-as-you-go Azure OpenAI token meter.
fn classify(item: &RetailItem) -> Result<Decimal, SkipReason> {
    let product = item.product_name.to_ascii_lowercase();
    if !product.contains("openai") {
        return Err(SkipReason::NotAzureOpenAI);
    }
    if !item.price_type.eq_ignore_ascii_case("Consumption") {
        return Err(SkipReason::Reservation(item.price_type.clone()));
    }
    let name = item.meter_name.to_ascii_lowercase();
    let unit = item.unit_of_measure.trim().to_ascii_lowercase();
    if unit.contains("hour") && (name.contains("provisioned") || name.contains("ptu")) {
        return Err(SkipReason::ProvisionedHourly);
    }
    let not_tokens = || SkipReason::NotTokens(item.unit_of_measure.clone());
    let per_unit: Decimal = match unit.split_whitespace().next().unwrap_or("") {
        "1k" => Decimal::from(1_000),
        "1m" => Decimal::from(1_000_000),
        "1" if name.contains("token") => Decimal::ONE,
        _ => return Err(not_tokens()),
    };
    if item
        .tier_minimum_units
        .as_ref()
        .and_then(|t| json_number::parse(t.get()).ok())
        .is_some_and(|t| !t.is_zero())
    {
        return Err(SkipReason::NotTokens(format!(
            "tier from {:?}",
            item.tier_minimum_units
        )));
    }
    let price = item
        .retail_price
        .as_ref()
        .and_then(|p| json_number::parse(p.get()).ok())
        .ok_or_else(not_tokens)?;
    let per_million = price
        .checked_mul(Decimal::from(1_000_000))
        .map(|p| (p / per_unit).normalize())
        .filter(|p| *p <= Decimal::from(MAX_AMOUNT) && !p.is_sign_negative())
        .ok_or_else(|| SkipReason::NotTokens(format!("price {price} out of range")))?;
    Ok(per_million)
}

fn start_date(item: &RetailItem) -> Result<NaiveDate, String> {
    let day = item.effective_start_date.get(..10).unwrap_or("");
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
        format!(
            "effectiveStartDate {:?} is not a date",
            item.effective_start_date
        )
    })
}

fn describe(key: &Key) -> String {
    let v = key
        .1
        .as_deref()
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    format!("{}{v} {}", key.0, key.2)
}

/// One rate line per date on which some meter of `key` starts, once input and output are known
/// (embeddings have no output meter: 0). Cached input is written once a cached meter exists.
fn timeline(
    key: &Key,
    meters: &BTreeMap<(MeterKind, NaiveDate), Seen>,
) -> Vec<(NaiveDate, String)> {
    let dates: BTreeSet<NaiveDate> = meters.keys().map(|(_, d)| *d).collect();
    let embedding = key.0.contains("embedding");
    let mut current: BTreeMap<MeterKind, Decimal> = BTreeMap::new();
    let mut out = Vec::new();
    for date in dates {
        for ((kind, d), seen) in meters {
            if *d == date {
                current.insert(*kind, seen.0);
            }
        }
        let output = current
            .get(&MeterKind::Output)
            .copied()
            .or(embedding.then_some(Decimal::ZERO));
        let (Some(input), Some(output)) = (current.get(&MeterKind::Input), output) else {
            continue;
        };
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut line = format!("    {{ \"model\": {}", q(&key.0));
        if let Some(v) = &key.1 {
            let _ = write!(line, ", \"version\": {}", q(v));
        }
        let _ = write!(
            line,
            ", \"deploymentType\": \"{}\", \"from\": \"{date}\", \"input\": {input}",
            key.2
        );
        if let Some(c) = current.get(&MeterKind::CachedInput) {
            let _ = write!(line, ", \"cachedInput\": {c}");
        }
        let _ = write!(line, ", \"output\": {output} }}");
        out.push((date, line));
    }
    out
}

fn render(
    lines: &[String],
    currency: &str,
    opts: &ImportOptions,
    latest: Option<NaiveDate>,
    items: usize,
) -> String {
    let region = opts
        .region
        .as_deref()
        .unwrap_or("all-regions")
        .to_ascii_lowercase();
    let date = latest.map(|d| d.to_string()).unwrap_or_default();
    let version = opts.version.clone().unwrap_or_else(|| {
        format!(
            "azure-retail-{}-{region}-{date}",
            currency.to_ascii_lowercase()
        )
    });
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let source = format!("Azure Retail Prices API, {items} items read, region {region}, Consumption token meters only; imported by chargeback prices import");
    format!(
        "{{\n  \"version\": {},\n  \"currency\": {},\n  \"unit\": \"per 1M tokens\",\n  \"source\": {},\n  \"rates\": [\n{}\n  ]\n}}\n",
        q(&version),
        q(currency),
        q(&source),
        lines.join(",\n")
    )
}
