//! The budgets file: `{"currency": "EUR", "budgets": [{"costCenter"|"consumer": …, "monthly": …,
//! "thresholds": [50, 80, 100]}]}`. Numbers are read from their JSON text (never through a float);
//! every error names the line and column where it was found.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// Thresholds used when a budget names none.
pub const DEFAULT_THRESHOLDS: [u32; 3] = [50, 80, 100];

/// What a budget covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BudgetScope {
    /// A consumer's stable id (e.g. an APIM subscription id).
    Consumer(String),
    CostCenter(String),
}

impl fmt::Display for BudgetScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BudgetScope::Consumer(id) => write!(f, "consumer {id}"),
            BudgetScope::CostCenter(cc) => write!(f, "cost center {cc}"),
        }
    }
}

/// One budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub scope: BudgetScope,
    /// Per UTC calendar month, in the file's currency; positive.
    pub monthly: Decimal,
    /// Percentages, strictly increasing, each above 0.
    pub thresholds: Vec<Decimal>,
}

/// A budgets file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budgets {
    /// ISO 4217 code; every budget is in it.
    pub currency: String,
    pub budgets: Vec<Budget>,
}

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}budgets file, line {line} column {column}: {message}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Invalid {
        path: Option<PathBuf>,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the budget of {scope} is in {budget} but its spend is in {spent}; currencies are not converted")]
    Currency {
        scope: String,
        budget: String,
        spent: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    currency: String,
    #[serde(deserialize_with = "unique_budgets")]
    budgets: Vec<Budget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawBudget {
    consumer: Option<String>,
    cost_center: Option<String>,
    monthly: Monthly,
    thresholds: Option<Thresholds>,
}

/// The monthly amount, checked where it stands in the file.
struct Monthly(Decimal);

impl<'de> Deserialize<'de> for Monthly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Monthly, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let v = number(&raw, "monthly").map_err(D::Error::custom)?;
        if v <= Decimal::ZERO {
            return Err(D::Error::custom(format!(
                "monthly must be above 0, found {v}"
            )));
        }
        Ok(Monthly(v))
    }
}

/// Threshold percentages, checked where they stand in the file.
struct Thresholds(Vec<Decimal>);

impl<'de> Deserialize<'de> for Thresholds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Thresholds, D::Error> {
        let raw = Vec::<Box<RawValue>>::deserialize(d)?;
        let list = raw
            .iter()
            .map(|t| number(t, "a threshold"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(D::Error::custom)?;
        if list.iter().any(|t| *t <= Decimal::ZERO) {
            return Err(D::Error::custom("thresholds are percentages above 0"));
        }
        if list.windows(2).any(|w| w[0] >= w[1]) {
            return Err(D::Error::custom("thresholds must be strictly increasing"));
        }
        Ok(Thresholds(list))
    }
}

fn number(raw: &RawValue, what: &str) -> Result<Decimal, String> {
    let text = raw.get().trim();
    if text.starts_with('"') {
        return Err(format!("{what} must be a JSON number, not a string"));
    }
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| format!("{what} must be a number, found {text}"))
}

impl TryFrom<RawBudget> for Budget {
    type Error = String;

    fn try_from(r: RawBudget) -> Result<Budget, String> {
        let scope = match (r.consumer, r.cost_center) {
            (Some(c), None) if !c.trim().is_empty() => BudgetScope::Consumer(c),
            (None, Some(cc)) if !cc.trim().is_empty() => BudgetScope::CostCenter(cc),
            (Some(_), Some(_)) => {
                return Err("a budget names either consumer or costCenter, not both".into())
            }
            _ => return Err("a budget needs a non-empty consumer or costCenter".into()),
        };
        let thresholds = match r.thresholds {
            None => DEFAULT_THRESHOLDS
                .iter()
                .map(|t| Decimal::from(*t))
                .collect(),
            Some(t) => t.0,
        };
        Ok(Budget {
            scope,
            monthly: r.monthly.0,
            thresholds,
        })
    }
}

impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Budget, D::Error> {
        let raw = RawBudget::deserialize(d)?;
        Budget::try_from(raw).map_err(D::Error::custom)
    }
}

/// Reads the list element by element, so a repeated scope is reported where it appears.
fn unique_budgets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Budget>, D::Error> {
    struct Unique;
    impl<'de> Visitor<'de> for Unique {
        type Value = Vec<Budget>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of budgets")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Budget>, A::Error> {
            let mut seen = BTreeSet::new();
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<Budget>()? {
                if !seen.insert(b.scope.clone()) {
                    return Err(A::Error::custom(format!("a second budget for {}", b.scope)));
                }
                out.push(b);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Unique)
}

fn invalid(path: Option<&Path>, e: &serde_json::Error) -> BudgetError {
    let text = e.to_string();
    // serde_json appends " at line L column C"; the position is kept in its own fields.
    let message = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    BudgetError::Invalid {
        path: path.map(Path::to_path_buf),
        line: e.line(),
        column: e.column(),
        message,
    }
}

fn parse(text: &str, path: Option<&Path>) -> Result<Budgets, BudgetError> {
    let raw: RawFile = serde_json::from_str(text).map_err(|e| invalid(path, &e))?;
    let currency = raw.currency.trim().to_string();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        let at = text.find("\"currency\"").unwrap_or(0);
        let line = text[..at].matches('\n').count() + 1;
        let column = at - text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        return Err(BudgetError::Invalid {
            path: path.map(Path::to_path_buf),
            line,
            column,
            message: format!("currency must be an ISO 4217 code such as EUR, found {currency:?}"),
        });
    }
    Ok(Budgets {
        currency,
        budgets: raw.budgets,
    })
}

/// Parses a budgets file's text.
pub fn parse_budgets(text: &str) -> Result<Budgets, BudgetError> {
    parse(text, None)
}

/// Reads and parses a budgets file; errors name the file.
pub fn load_budgets(path: &Path) -> Result<Budgets, BudgetError> {
    let text = std::fs::read_to_string(path).map_err(|source| BudgetError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, usize, String) {
        match parse_budgets(text) {
            Err(BudgetError::Invalid {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected an invalid file, got {other:?}"),
        }
    }

    #[test]
    fn amounts_and_thresholds_are_read_exactly_from_their_text() {
        let b = parse_budgets(
            r#"{"currency":"EUR","budgets":[{"costCenter":"CC-4100","monthly":0.10,"thresholds":[33.3,100]}]}"#,
        )
        .unwrap();
        assert_eq!(b.budgets[0].monthly.to_string(), "0.10");
        assert_eq!(b.budgets[0].thresholds[0].to_string(), "33.3");
    }

    #[test]
    fn a_budget_without_thresholds_gets_50_80_100() {
        let b = parse_budgets(r#"{"currency":"USD","budgets":[{"consumer":"x","monthly":1}]}"#)
            .unwrap();
        assert_eq!(b.budgets[0].thresholds, [50, 80, 100].map(Decimal::from));
    }

    #[test]
    fn a_negative_budget_is_reported_at_its_line() {
        let (line, _, msg) = err("{\"currency\": \"EUR\",\n \"budgets\": [\n  {\"costCenter\": \"CC-1\", \"monthly\": -5}\n ]}");
        assert_eq!(line, 3);
        assert!(msg.contains("above 0"), "{msg}");
    }

    #[test]
    fn a_second_budget_for_the_same_scope_is_reported_where_it_appears() {
        let (line, _, msg) = err("{\"currency\": \"EUR\", \"budgets\": [\n{\"costCenter\": \"CC-1\", \"monthly\": 5},\n{\"costCenter\": \"CC-1\", \"monthly\": 6}]}");
        assert_eq!(line, 3, "the position is the end of the repeated budget");
        assert!(msg.contains("second budget for cost center CC-1"), "{msg}");
    }

    #[test]
    fn malformed_scopes_thresholds_fields_and_currency_are_errors() {
        let cases = [
            (
                r#"{"currency":"EUR","budgets":[{"consumer":"a","costCenter":"b","monthly":1}]}"#,
                "not both",
            ),
            (
                r#"{"currency":"EUR","budgets":[{"monthly":1}]}"#,
                "consumer or costCenter",
            ),
            (
                r#"{"currency":"EUR","budgets":[{"consumer":"a","monthly":1,"thresholds":[80,50]}]}"#,
                "increasing",
            ),
            (
                r#"{"currency":"EUR","budgets":[{"consumer":"a","monthly":"1"}]}"#,
                "not a string",
            ),
            (
                r#"{"currency":"EUR","budgets":[{"consumer":"a","monthly":1,"limit":2}]}"#,
                "unknown field",
            ),
            (r#"{"currency":"euro","budgets":[]}"#, "ISO 4217"),
        ];
        for (text, want) in cases {
            let (line, column, msg) = err(text);
            assert!(msg.contains(want), "{text}: {msg}");
            assert!(line >= 1 && column >= 1);
        }
    }
}
