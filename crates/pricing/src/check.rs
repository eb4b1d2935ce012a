//! `prices check`: a sheet's models × types × dates table, or its diagnostics with positions.

use std::fmt::Write as _;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::parse::{read_sheet, Diagnostic, Severity, SheetError, RATE_FIELDS};
use crate::sheet::{PriceSheet, SheetFormat};

/// One line of the table: a rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    pub model: String,
    pub version: Option<String>,
    /// `None` for v1 rates, which apply to every pay-as-you-go type.
    pub deployment_type: Option<String>,
    pub from: Option<NaiveDate>,
    pub input: Decimal,
    pub cached_input: Option<Decimal>,
    pub output: Decimal,
}

impl TableRow {
    /// The row's text cells, in the table's column order.
    fn cells(&self) -> [String; 7] {
        let dash = || "-".to_string();
        [
            self.model.clone(),
            self.version.clone().unwrap_or_else(dash),
            self.deployment_type
                .clone()
                .unwrap_or_else(|| "(any)".into()),
            self.from.map(|d| d.to_string()).unwrap_or_else(dash),
            self.input.normalize().to_string(),
            self.cached_input
                .map(|c| c.normalize().to_string())
                .unwrap_or_else(dash),
            self.output.normalize().to_string(),
        ]
    }
}

/// Every rate of a valid sheet, by model, version, type and date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateTable {
    pub version: String,
    pub currency: String,
    pub format: SheetFormat,
    pub rows: Vec<TableRow>,
    pub provisioned: Vec<(String, Decimal)>,
}

/// The result of [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    Valid {
        table: RateTable,
        warnings: Vec<Diagnostic>,
    },
    Invalid(Vec<Diagnostic>),
}

/// Validates a sheet's text: overlapping rates (same model, version, type and `from`), rates
/// listed out of date order for the same model, version and type, unknown deployment types,
/// negative rates, missing currency or version, and bad dates are errors with the line:column
/// of the offending rate or field; syntax errors carry serde_json's position.
pub fn check(text: &str) -> CheckOutcome {
    match read_sheet(text) {
        Err(SheetError::Syntax {
            line,
            column,
            message,
        }) => CheckOutcome::Invalid(vec![Diagnostic {
            severity: Severity::Error,
            line,
            column,
            path: "(root)".into(),
            message,
        }]),
        Err(SheetError::Invalid(d)) => CheckOutcome::Invalid(d),
        Ok((Some(sheet), warnings)) => CheckOutcome::Valid {
            table: RateTable::of(&sheet),
            warnings,
        },
        Ok((None, diagnostics)) => CheckOutcome::Invalid(diagnostics),
    }
}

impl RateTable {
    pub fn of(sheet: &PriceSheet) -> RateTable {
        let mut rows: Vec<TableRow> = sheet
            .rates
            .iter()
            .map(|r| TableRow {
                model: r.model.clone(),
                version: r.version.clone(),
                deployment_type: r.deployment_type.map(|t| t.to_string()),
                from: r.from,
                input: r.input,
                cached_input: r.cached_input,
                output: r.output,
            })
            .collect();
        rows.sort_by(|a, b| {
            (&a.model, &a.version, &a.deployment_type, a.from).cmp(&(
                &b.model,
                &b.version,
                &b.deployment_type,
                b.from,
            ))
        });
        RateTable {
            version: sheet.version.clone(),
            currency: sheet.currency.code().to_string(),
            format: sheet.format,
            rows,
            provisioned: sheet
                .provisioned
                .iter()
                .map(|(k, p)| (k.clone(), p.monthly))
                .collect(),
        }
    }

    /// The table as aligned text, rates per 1M tokens in the sheet's currency.
    pub fn render_table(&self) -> String {
        // The columns are the rate fields, in the sheet's order.
        let header: [&str; 7] = std::array::from_fn(|i| RATE_FIELDS[i]);
        let cells: Vec<[String; 7]> = self.rows.iter().map(TableRow::cells).collect();
        let mut width = header.map(str::len);
        for row in &cells {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "price sheet {} ({}, per 1M tokens)",
            self.version, self.currency
        );
        let line = |out: &mut String, row: &[String]| {
            let mut s = String::new();
            for (i, (c, w)) in row.iter().zip(width).enumerate() {
                if i < 4 {
                    let _ = write!(s, "{c:<w$}  ");
                } else {
                    let _ = write!(s, "{c:>w$}  ");
                }
            }
            let _ = writeln!(out, "{}", s.trim_end());
        };
        line(&mut out, &header.map(str::to_string));
        let _ = writeln!(out, "{}", "-".repeat(width.iter().sum::<usize>() + 2 * 6));
        for row in &cells {
            line(&mut out, row);
        }
        for (name, monthly) in &self.provisioned {
            let _ = writeln!(
                out,
                "provisioned {name}: {} {} per month",
                monthly.normalize(),
                self.currency
            );
        }
        out
    }
}
