//! Reads a sheet's JSON (v1 `models` or v2 `rates`) into a [`PriceSheet`], collecting every
//! problem as a diagnostic with the file position of the offending value.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::deployment::{DeploymentEntry, DeploymentType};
use crate::json_number;
use crate::money::Currency;
use crate::position::{number_text_at, position_of, JsonPath};
use crate::provisioned::{ProvisionedDeployment, TokenWeights};
use crate::sheet::{PriceSheet, Rate, SheetFormat};

/// How bad a diagnostic is. Errors make the sheet unusable; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem of a sheet, with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub line: usize,
    pub column: usize,
    /// The JSON path of the offending value, e.g. `rates[3].input`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}: {sev}: {} ({})",
            self.line, self.column, self.message, self.path
        )
    }
}

/// A sheet that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("price sheet is not valid JSON at {line}:{column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("price sheet has {} error(s); first: {}", .0.iter().filter(|d| d.severity == Severity::Error).count(), .0.iter().find(|d| d.severity == Severity::Error).map(ToString::to_string).unwrap_or_default())]
    Invalid(Vec<Diagnostic>),
}

impl PriceSheet {
    /// Parses and validates a v1 or v2 sheet.
    pub fn from_json(text: &str) -> Result<PriceSheet, SheetError> {
        let (sheet, diagnostics) = read_sheet(text)?;
        match sheet {
            Some(s) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => Ok(s),
            _ => Err(SheetError::Invalid(diagnostics)),
        }
    }
}

/// The sheet (when it has no errors) and every diagnostic, in file order.
pub(crate) fn read_sheet(text: &str) -> Result<(Option<PriceSheet>, Vec<Diagnostic>), SheetError> {
    let root: Value = serde_json::from_str(text).map_err(|e| SheetError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let mut r = Reader {
        text,
        issues: Vec::new(),
    };
    let sheet = r.sheet(&root);
    let mut diagnostics: Vec<Diagnostic> = r
        .issues
        .into_iter()
        .map(|(severity, path, message)| {
            let (line, column) = position_of(text, &path);
            Diagnostic {
                severity,
                line,
                column,
                path: path.to_string(),
                message,
            }
        })
        .collect();
    diagnostics.sort_by_key(|d| (d.line, d.column));
    let ok = !diagnostics.iter().any(|d| d.severity == Severity::Error);
    Ok((sheet.filter(|_| ok), diagnostics))
}

/// The largest rate, weight or monthly amount a sheet may hold. It keeps every product of a
/// token count (at most 2^64) and an amount inside `Decimal`'s exact range, so pricing and
/// weighting never overflow.
pub(crate) const MAX_AMOUNT: i64 = 1_000_000_000;

/// The fields a v2 rate may have (`note` and `source` are free text).
pub(crate) const RATE_FIELDS: [&str; 9] = [
    "model",
    "version",
    "deploymentType",
    "from",
    "input",
    "cachedInput",
    "output",
    "note",
    "source",
];

/// Model, version and deployment type: rates with the same key form one dated series.
type RateKey = (String, Option<String>, DeploymentType);

struct Reader<'t> {
    /// The sheet's text: amounts are read from their own digits there, never through a float.
    text: &'t str,
    issues: Vec<(Severity, JsonPath, String)>,
}

impl Reader<'_> {
    fn error(&mut self, path: &JsonPath, message: String) {
        self.issues.push((Severity::Error, path.clone(), message));
    }

    fn warn(&mut self, path: &JsonPath, message: String) {
        self.issues.push((Severity::Warning, path.clone(), message));
    }

    fn sheet(&mut self, root: &Value) -> Option<PriceSheet> {
        let top = JsonPath::root();
        let Some(obj) = root.as_object() else {
            self.error(&top, "a price sheet is a JSON object".into());
            return None;
        };
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let version = text("version").filter(|v| !v.trim().is_empty());
        if version.is_none() {
            self.error(
                &top,
                "missing `version` (the name records carry as cost.priceSheet)".into(),
            );
        }
        let currency = self.currency(obj, &top);
        if let Some(unit) = obj.get("unit").and_then(Value::as_str) {
            if !unit.eq_ignore_ascii_case("per 1M tokens") {
                self.error(
                    &top.key("unit"),
                    format!("unit {unit:?} is not supported: rates are per 1M tokens"),
                );
            }
        }
        let (format, rates) = match (obj.get("rates"), obj.get("models")) {
            (Some(rates), _) => (SheetFormat::V2, self.rates_v2(rates, &top.key("rates"))),
            (None, Some(models)) => (SheetFormat::V1, self.models_v1(models, &top.key("models"))),
            (None, None) => {
                self.error(&top, "missing `rates` (v2) or `models` (v1)".into());
                (SheetFormat::V2, Vec::new())
            }
        };
        let aliases = obj.get("aliases").and_then(Value::as_object).map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    Some((k.to_ascii_lowercase(), v.as_str()?.to_ascii_lowercase()))
                })
                .collect()
        });
        let deployments = self.deployments(obj, &top);
        let provisioned = self.provisioned(obj, &top);
        for name in provisioned.keys() {
            let ty = deployments.get(name).and_then(|d| d.deployment_type);
            if let Some(t) = ty.filter(|t| !t.is_provisioned()) {
                let path = top.key("provisioned").key(name);
                self.warn(&path, format!("provisioned {name:?} is a {t} deployment in `deployments`; its calls are priced per call, not allocated"));
            }
        }
        Some(PriceSheet {
            version: version?,
            currency: currency?,
            format,
            source: text("source"),
            taken_on: text("takenOn"),
            rates,
            aliases: aliases.unwrap_or_default(),
            deployments,
            provisioned,
        })
    }

    fn currency(&mut self, obj: &Map<String, Value>, top: &JsonPath) -> Option<Currency> {
        let Some(code) = obj.get("currency").and_then(Value::as_str) else {
            self.error(
                top,
                "missing `currency` (an ISO 4217 code such as USD or EUR)".into(),
            );
            return None;
        };
        Currency::new(code)
            .map_err(|e| self.error(&top.key("currency"), e.to_string()))
            .ok()
    }

    /// A non-negative decimal field; `None` when absent, an error when bad.
    fn amount(&mut self, obj: &Map<String, Value>, key: &str, path: &JsonPath) -> Option<Decimal> {
        let v = obj.get(key)?;
        let at = path.key(key);
        let exact = v
            .is_number()
            .then(|| number_text_at(self.text, &at))
            .flatten()
            .and_then(|t| json_number::parse(t).ok());
        match exact {
            Some(d) if d.is_sign_negative() && !d.is_zero() => {
                self.error(&path.key(key), format!("`{key}` is negative ({d})"));
                None
            }
            Some(d) if d > Decimal::from(MAX_AMOUNT) => {
                self.error(&path.key(key), format!("`{key}` {d} is over {MAX_AMOUNT}, beyond any real rate, weight or monthly cost"));
                None
            }
            Some(d) => Some(d),
            None => {
                self.error(&path.key(key), format!("`{key}` is not a number"));
                None
            }
        }
    }

    /// An optional `YYYY-MM-DD` field; an error when present and not a date.
    fn date(&mut self, obj: &Map<String, Value>, key: &str, path: &JsonPath) -> Option<NaiveDate> {
        let v = obj.get(key)?;
        let day = v
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
        if day.is_none() {
            self.error(
                &path.key(key),
                format!("`{key}` {v} is not a date (YYYY-MM-DD)"),
            );
        }
        day
    }

    fn models_v1(&mut self, models: &Value, path: &JsonPath) -> Vec<Rate> {
        let Some(models) = models.as_object() else {
            self.error(path, "`models` is an object of model name → rates".into());
            return Vec::new();
        };
        let mut rates = Vec::new();
        for (name, v) in models {
            let p = path.key(name);
            let Some(o) = v.as_object() else {
                self.error(&p, format!("rates of {name:?} are not an object"));
                continue;
            };
            let input = self.amount(o, "input", &p);
            let cached_input = self.amount(o, "cachedInput", &p);
            let output = self.amount(o, "output", &p).unwrap_or(Decimal::ZERO);
            let Some(input) = input else {
                if !o.contains_key("input") {
                    self.error(&p, format!("model {name:?} has no `input` rate"));
                }
                continue;
            };
            rates.push(Rate {
                model: name.to_ascii_lowercase(),
                version: None,
                deployment_type: None,
                from: None,
                input,
                cached_input,
                output,
            });
        }
        rates
    }

    fn rates_v2(&mut self, rates: &Value, path: &JsonPath) -> Vec<Rate> {
        let Some(list) = rates.as_array() else {
            self.error(path, "`rates` is an array of rates".into());
            return Vec::new();
        };
        let mut out: Vec<Rate> = Vec::new();
        // (model, version, type) → (latest `from` so far, index of that rate)
        let mut last: HashMap<RateKey, (Option<NaiveDate>, usize)> = HashMap::new();
        for (i, v) in list.iter().enumerate() {
            let p = path.index(i);
            let Some(rate) = self.rate_v2(v, &p) else {
                continue;
            };
            let Some(ty) = rate.deployment_type else {
                continue;
            };
            if ty.is_provisioned() {
                self.warn(&p, format!("a {ty} rate never prices a call (provisioned calls carry no per-call price); put the monthly cost under `provisioned`"));
            }
            let key = (rate.model.clone(), rate.version.clone(), ty);
            if let Some((prev, j)) = last.get(&key) {
                let what = format!(
                    "{} {} {}",
                    rate.model,
                    rate.version.as_deref().unwrap_or(""),
                    ty
                )
                .replace("  ", " ");
                if *prev == rate.from {
                    self.error(&p, format!("overlapping rates: rates[{j}] has the same model, version, type and `from` ({what})"));
                } else if rate.from < *prev {
                    self.error(&p, format!("rates out of date order: `from` precedes that of rates[{j}] ({what}); list each model's rates oldest first"));
                }
            }
            last.insert(key, (rate.from, i));
            out.push(rate);
        }
        out
    }

    fn rate_v2(&mut self, v: &Value, p: &JsonPath) -> Option<Rate> {
        let Some(o) = v.as_object() else {
            self.error(p, "a rate is an object".into());
            return None;
        };
        let before = self.issues.len();
        let model = o
            .get("model")
            .and_then(Value::as_str)
            .map(|m| m.trim().to_ascii_lowercase());
        if model.as_deref().is_none_or(str::is_empty) {
            self.error(p, "rate has no `model`".into());
        }
        let ty = match o.get("deploymentType").and_then(Value::as_str) {
            None => {
                self.error(p, "rate has no `deploymentType`".into());
                None
            }
            Some(t) => t
                .parse::<DeploymentType>()
                .map_err(|e| self.error(&p.key("deploymentType"), e.to_string()))
                .ok(),
        };
        let from = self.date(o, "from", p);
        let version = o
            .get("version")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_string());
        let input = self.amount(o, "input", p);
        let cached_input = self.amount(o, "cachedInput", p);
        let output = self.amount(o, "output", p);
        if !o.contains_key("input") || !o.contains_key("output") {
            self.error(
                p,
                "rate needs both `input` and `output` (use 0 for embeddings' output)".into(),
            );
        }
        let failed = self.issues.len() > before;
        for key in o.keys().filter(|k| !RATE_FIELDS.contains(&k.as_str())) {
            self.warn(
                &p.key(key),
                format!("unknown rate field `{key}` is ignored"),
            );
        }
        if failed {
            return None;
        }
        Some(Rate {
            model: model?,
            version,
            deployment_type: Some(ty?),
            from,
            input: input?,
            cached_input,
            output: output?,
        })
    }

    fn deployments(
        &mut self,
        obj: &Map<String, Value>,
        top: &JsonPath,
    ) -> BTreeMap<String, DeploymentEntry> {
        let mut map = BTreeMap::new();
        let Some(d) = obj.get("deployments") else {
            return map;
        };
        let Some(d) = d.as_object() else {
            self.error(
                &top.key("deployments"),
                "`deployments` is an object of deployment name → {model, deploymentType}".into(),
            );
            return map;
        };
        for (name, v) in d {
            let p = top.key("deployments").key(name);
            match serde_json::from_value::<DeploymentEntry>(v.clone()) {
                Ok(e) => {
                    map.insert(name.to_ascii_lowercase(), e);
                }
                Err(e) => self.error(&p, format!("deployment {name:?}: {e}")),
            }
        }
        map
    }

    fn provisioned(
        &mut self,
        obj: &Map<String, Value>,
        top: &JsonPath,
    ) -> BTreeMap<String, ProvisionedDeployment> {
        let mut map = BTreeMap::new();
        let Some(section) = obj.get("provisioned").and_then(Value::as_object) else {
            return map;
        };
        for (name, v) in section {
            let p = top.key("provisioned").key(name);
            let Some(o) = v.as_object() else {
                self.error(&p, format!("provisioned {name:?} is not an object"));
                continue;
            };
            let Some(monthly) = self.amount(o, "monthly", &p) else {
                if !o.contains_key("monthly") {
                    self.error(&p, format!("provisioned {name:?} has no `monthly` amount"));
                }
                continue;
            };
            let mut weights = TokenWeights::default();
            if let Some(w) = o.get("weights").and_then(Value::as_object) {
                let wp = p.key("weights");
                weights.input = self.amount(w, "input", &wp).unwrap_or(weights.input);
                weights.cached_input = self
                    .amount(w, "cachedInput", &wp)
                    .unwrap_or(weights.cached_input);
                weights.output = self.amount(w, "output", &wp).unwrap_or(weights.output);
            }
            map.insert(
                name.to_ascii_lowercase(),
                ProvisionedDeployment { monthly, weights },
            );
        }
        map
    }
}
