//! The price sheet (per 1M tokens: input, cached input, output) and the cost of one call:
//! cost = (prompt − cached) × input + cached × cached input + completion × output.
//!
//! The sheet shipped in `prices/` is embedded at build time and holds list prices; users put their
//! own rates in a copy and point `CHARGEBACK_PRICE_SHEET` at it. Model names are matched after
//! removing version suffixes (`gpt-4o-2024-11-20` → `gpt-4o`, `gpt-35-turbo-0125` →
//! `gpt-35-turbo`); a model with no price gets no cost rather than a wrong one.

use std::collections::HashMap;

use serde::Deserialize;

use crate::record::Cost;

/// The sheet shipped with the binary.
pub(crate) const EMBEDDED_SHEET: &str =
    include_str!("../../../prices/azure-openai-global-standard-usd.json");

/// Rates for one model, per 1M tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rates {
    pub input: f64,
    #[serde(default)]
    pub cached_input: Option<f64>,
    #[serde(default)]
    pub output: f64,
}

/// A price sheet.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceSheet {
    pub version: String,
    pub currency: String,
    #[serde(default)]
    pub taken_on: Option<String>,
    pub models: HashMap<String, Rates>,
    #[serde(default)]
    pub aliases: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PriceSheetError {
    #[error("price sheet is not valid JSON of the expected shape: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("price sheet rate for {model:?} is negative or not finite")]
    BadRate { model: String },
}

/// Rounds money to 1e-10 so JSON shows `0.0003225`, not `0.00032250000000000003`.
pub fn round_money(x: f64) -> f64 {
    (x * 1e10).round() / 1e10
}

fn strip_version_suffix(m: &str) -> Option<&str> {
    let parts: Vec<&str> = m.rsplitn(4, '-').collect();
    // -YYYY-MM-DD
    if parts.len() == 4
        && parts[2].len() == 4
        && parts[1].len() == 2
        && parts[0].len() == 2
        && parts[..3]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(&m[..m.len() - 11]);
    }
    let (head, last) = m.rsplit_once('-')?;
    let is_short_date = last.len() == 4 && last.bytes().all(|b| b.is_ascii_digit());
    if is_short_date || last == "preview" || last == "latest" {
        return Some(head);
    }
    None
}

impl PriceSheet {
    /// Parses and validates a sheet.
    pub fn from_json(text: &str) -> Result<PriceSheet, PriceSheetError> {
        let mut sheet: PriceSheet = serde_json::from_str(text)?;
        sheet.models = sheet
            .models
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        sheet.aliases = sheet
            .aliases
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_ascii_lowercase()))
            .collect();
        for (model, r) in &sheet.models {
            let ok = |x: f64| x.is_finite() && x >= 0.0;
            if !ok(r.input) || !ok(r.output) || !r.cached_input.is_none_or(ok) {
                return Err(PriceSheetError::BadRate {
                    model: model.clone(),
                });
            }
        }
        Ok(sheet)
    }

    /// The sheet shipped in the binary.
    pub fn embedded() -> PriceSheet {
        match PriceSheet::from_json(EMBEDDED_SHEET) {
            Ok(s) => s,
            // The embedded sheet is validated by a unit test; an empty sheet prices nothing.
            Err(_) => PriceSheet {
                version: "none".into(),
                currency: "USD".into(),
                taken_on: None,
                models: HashMap::new(),
                aliases: HashMap::new(),
            },
        }
    }

    /// The rates for a model name, after alias and version-suffix normalisation.
    pub fn rates(&self, model: &str) -> Option<(&str, Rates)> {
        let mut name = model.trim().to_ascii_lowercase();
        if let Some((_, tail)) = name.rsplit_once('/') {
            name = tail.to_string();
        }
        loop {
            let resolved = self.aliases.get(&name).cloned().unwrap_or(name.clone());
            if let Some((k, r)) = self.models.get_key_value(&resolved) {
                return Some((k.as_str(), *r));
            }
            match strip_version_suffix(&resolved) {
                Some(shorter) => name = shorter.to_string(),
                None => return None,
            }
        }
    }

    /// The cost of a call, or `None` when the model has no price.
    pub fn cost(
        &self,
        model: Option<&str>,
        prompt: u64,
        cached: u64,
        completion: u64,
    ) -> Option<Cost> {
        let (_, r) = self.rates(model?)?;
        let cached = cached.min(prompt);
        let per = |tokens: u64, rate: f64| tokens as f64 * rate / 1_000_000.0;
        let input = per(prompt - cached, r.input);
        let cached_input = per(cached, r.cached_input.unwrap_or(r.input));
        let output = per(completion, r.output);
        Some(Cost {
            currency: self.currency.clone(),
            input: round_money(input),
            cached_input: round_money(cached_input),
            output: round_money(output),
            total: round_money(input + cached_input + output),
            price_sheet: self.version.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_sheet_is_valid_and_dated() {
        let s = PriceSheet::from_json(EMBEDDED_SHEET).unwrap();
        assert_eq!(s.currency, "USD");
        assert!(s.taken_on.is_some());
        assert!(s.models.len() > 10);
    }

    #[test]
    fn version_suffixes_and_azure_spellings_resolve_to_the_base_model() {
        let s = PriceSheet::embedded();
        assert_eq!(s.rates("gpt-4o-2024-11-20").unwrap().0, "gpt-4o");
        assert_eq!(s.rates("gpt-4o-mini-2024-07-18").unwrap().0, "gpt-4o-mini");
        assert_eq!(s.rates("gpt-35-turbo-0125").unwrap().0, "gpt-35-turbo");
        assert_eq!(s.rates("gpt-3.5-turbo").unwrap().0, "gpt-35-turbo");
        assert_eq!(
            s.rates("GPT-4.1-mini-2025-04-14").unwrap().0,
            "gpt-4.1-mini"
        );
        assert!(s.rates("my-finetune").is_none());
    }

    #[test]
    fn a_model_is_never_priced_as_a_cheaper_or_dearer_sibling() {
        let mut s = PriceSheet::embedded();
        s.models.remove("gpt-4o-mini");
        s.aliases.clear();
        assert!(s.rates("gpt-4o-mini-2024-07-18").is_none());
    }

    #[test]
    fn cost_splits_cached_input_from_input() {
        let s = PriceSheet::from_json(
            r#"{"version":"t","currency":"EUR","models":{"m":{"input":2.0,"cachedInput":0.5,"output":8.0}}}"#,
        )
        .unwrap();
        let c = s.cost(Some("m"), 1_000_000, 400_000, 500_000).unwrap();
        assert_eq!(c.input, 1.2);
        assert_eq!(c.cached_input, 0.2);
        assert_eq!(c.output, 4.0);
        assert_eq!(c.total, 5.4);
        assert_eq!(c.currency, "EUR");
    }

    #[test]
    fn missing_cached_rate_falls_back_to_input_and_unknown_models_get_no_cost() {
        let s = PriceSheet::embedded();
        let c = s.cost(Some("gpt-4"), 100, 50, 10).unwrap();
        assert_eq!(c.cached_input, round_money(50.0 * 30.0 / 1e6));
        assert!(s.cost(Some("unknown-model"), 1, 0, 1).is_none());
        assert!(s.cost(None, 1, 0, 1).is_none());
    }

    #[test]
    fn negative_rates_are_rejected() {
        let r = PriceSheet::from_json(
            r#"{"version":"t","currency":"USD","models":{"m":{"input":-1,"output":1}}}"#,
        );
        assert!(matches!(r, Err(PriceSheetError::BadRate { .. })));
    }
}
