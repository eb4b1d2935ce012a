//! `chargeback prices check|import`: validate a price sheet and show what it prices; build a v2
//! sheet from Azure Retail Prices API answers.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use chargeback_core::pricing::{check, import_retail, CheckOutcome, ImportOptions};

use super::exit::{Outcome, Outcomes, EXIT_CODES_HELP};

#[derive(Args)]
pub(crate) struct PricesArgs {
    #[command(subcommand)]
    command: PricesCommand,
}

#[derive(Subcommand)]
enum PricesCommand {
    /// Validate a price sheet (v1 or v2) and print its models × deployment types × dates table.
    ///
    /// Overlapping or out-of-order dates, unknown deployment types, negative rates, a missing
    /// currency or version are errors, each with FILE:LINE:COLUMN and the field. Exit 0 valid,
    /// 1 invalid.
    #[command(after_help = EXIT_CODES_HELP)]
    Check {
        /// The sheet (JSON).
        sheet: PathBuf,
    },
    /// Build a v2 sheet from Azure Retail Prices API answers.
    ///
    /// FILE is a saved answer (`{"Items": [...], "NextPageLink": ...}`, one file per page) or
    /// NDJSON of items, e.g.
    ///
    ///   curl -s "https://prices.azure.com/api/retail/prices?currencyCode='EUR'&$filter=serviceName eq 'Foundry Models'" > page1.json
    ///
    /// Azure OpenAI token meters become rates (model, version from the meter name such as
    /// `0513`, deployment type from `Glbl`/`DZone`/`Regional`/`Batch`, token kind from
    /// `Inp`/`cached`/`Outp`, `1K` units scaled to 1M) with `from` = effectiveStartDate.
    /// Reservation, hourly provisioned and non-token meters are skipped and listed; every Azure
    /// OpenAI meter that cannot be mapped is listed on stderr by name. The sheet goes to stdout
    /// (or --out). Exit 0; 3 when some meters could not be mapped; 1 on conflicting prices.
    #[command(after_help = EXIT_CODES_HELP)]
    Import {
        /// Retail Prices answers (JSON pages or NDJSON of items).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Keep the prices of this region (`armRegionName`, e.g. `swedencentral`); global meters
        /// carry their own region names, so without it every region is read.
        #[arg(long)]
        region: Option<String>,
        /// Keep the prices in this currency (`currencyCode`); needed when the answers hold several.
        #[arg(long)]
        currency: Option<String>,
        /// The sheet's `version` (default: from currency, region and the latest date).
        #[arg(long)]
        version: Option<String>,
        /// Write the sheet here instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub(crate) fn prices(a: PricesArgs) -> Result<i32> {
    match a.command {
        PricesCommand::Check { sheet } => check_sheet(&sheet),
        PricesCommand::Import {
            files,
            region,
            currency,
            version,
            out,
        } => import(
            &files,
            ImportOptions {
                region,
                currency,
                version,
            },
            out,
        ),
    }
}

fn check_sheet(path: &PathBuf) -> Result<i32> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the price sheet {}", path.display()))?;
    let name = path.display();
    match check(&text) {
        CheckOutcome::Valid { table, warnings } => {
            for w in &warnings {
                eprintln!("{name}:{w}");
            }
            io::stdout()
                .lock()
                .write_all(table.render_table().as_bytes())?;
            eprintln!(
                "chargeback prices check: {name} is valid ({} warnings)",
                warnings.len()
            );
            Ok(0)
        }
        CheckOutcome::Invalid(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{name}:{d}");
            }
            eprintln!(
                "chargeback prices check: {name} is not a valid price sheet ({} problems)",
                diagnostics.len()
            );
            Ok(Outcome::Failed.code())
        }
    }
}

fn import(files: &[PathBuf], opts: ImportOptions, out: Option<PathBuf>) -> Result<i32> {
    let mut texts = Vec::with_capacity(files.len());
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        texts.push((f.display().to_string(), text));
    }
    let pairs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let imported = import_retail(&pairs, &opts).context("cannot import the retail prices")?;
    for (m, why) in &imported.skipped {
        eprintln!(
            "chargeback prices import: skipped {:?} ({}): {} [{why:?}]",
            m.meter_name, m.product_name, m.reason
        );
    }
    for m in &imported.unmapped {
        eprintln!(
            "chargeback prices import: cannot map meter {:?} ({}): {}",
            m.meter_name, m.product_name, m.reason
        );
    }
    for i in &imported.incomplete {
        eprintln!("chargeback prices import: no rate written for {i}: it lacks an input or an output meter");
    }
    match &out {
        Some(p) => std::fs::write(p, &imported.sheet_json)
            .with_context(|| format!("cannot write {}", p.display()))?,
        None => io::stdout()
            .lock()
            .write_all(imported.sheet_json.as_bytes())?,
    }
    eprintln!(
        "chargeback prices import: {} rates; {} meters skipped, {} unmappable, {} items of other regions or currencies",
        imported.rates,
        imported.skipped.len(),
        imported.unmapped.len(),
        imported.not_selected
    );
    let mut outcomes = Outcomes::default();
    outcomes.count(
        Outcome::Rejects,
        imported.unmapped.len() as u64,
        "meters could not be mapped",
    );
    Ok(outcomes.finish("chargeback prices import"))
}
