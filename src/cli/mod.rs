//! Argument parsing (clap) and dispatch: the settings every command shares, the commands, and
//! the files-or-stdin rule of the offline tools. Inputs (files, stdin, container URLs, Capture
//! files) are `source`'s; the `--period/--since/--until` selection is `select`'s.

mod bill;
pub(crate) mod exit;
mod prices;
mod replay;
mod report;
mod resend;
mod select;
mod serve;
mod source;
mod statement;
mod stdio;

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use chargeback_core::pricing::deployment_settings;
use chargeback_core::{EngineConfig, PriceSheet};

use exit::EXIT_CODES_HELP;
use prices::PricesArgs;
use replay::ReplayArgs;
use report::ReportArgs;
use resend::ResendArgs;
use serve::ServeArgs;
use statement::StatementArgs;

pub(crate) use select::{SelectArgs, Selection};
pub(crate) use source::read_ledgers;

const ABOUT: &str =
    "Exact, attributed, priced usage accounting for Azure OpenAI behind Azure API Management.";

const LONG_ABOUT: &str = "Exact, attributed, priced usage accounting for Azure OpenAI behind Azure API Management.

Runs as an Azure Functions custom handler (`serve`: the Functions host owns the Event Hubs trigger and POSTs batches of APIM log events), or offline over captured events (`replay`), ledgers (`report`) and rows Application Insights did not get (`resend`).

Each billable call becomes one usage record: tokens (from the response's usage object, or counted with the model's tiktoken encoding when a stream carried none), consumer, model and cost. Settings can be given as flags or as the environment variables shown below.";

#[derive(Parser)]
#[command(name = "chargeback", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXIT_CODES_HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// The engine settings: only the commands that turn events into records (`replay`, `serve`)
/// take them.
#[derive(Args, Clone)]
pub(crate) struct EngineArgs {
    /// Deployment → model map used when a response does not name its model
    /// (`deployment=model,deployment=model`).
    #[arg(long, env = "CHARGEBACK_DEPLOYMENT_MODELS", value_name = "MAP")]
    deployment_models: Option<String>,
    /// Deployment → model and type (Azure SKU name): `name=model:GlobalStandard,…`; supersedes
    /// --deployment-models entry by entry. The price sheet's `deployments` fill the gaps.
    #[arg(long, env = "CHARGEBACK_DEPLOYMENTS", value_name = "MAP")]
    deployments: Option<String>,
    /// A price sheet JSON file replacing the embedded list prices (see prices/ for the format).
    #[arg(long, env = "CHARGEBACK_PRICE_SHEET", value_name = "FILE")]
    price_sheet: Option<PathBuf>,
    /// Also write zero-token rows (`billable: false`) for 401/403/404/408/429/5xx calls. A flag
    /// (it takes no value); the setting takes true/false, yes/no, on/off or 1/0.
    #[arg(
        long,
        env = "CHARGEBACK_RECORD_NON_BILLABLE",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    record_non_billable: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the custom handler: GET / for readiness, POST /ChargebackEventHubTrigger for batches.
    /// This is what host.json starts; with no subcommand and FUNCTIONS_CUSTOMHANDLER_PORT set,
    /// `chargeback` does the same.
    #[command(after_help = EXIT_CODES_HELP)]
    Serve(ServeArgs),
    /// Turn captured APIM events into usage records (JSON lines on stdout, in input order).
    ///
    /// Input: JSON lines of APIM events (v2 or legacy v1), a JSON array of events, a whole
    /// Functions host request body, Event Hubs Capture files (`*.avro`) or a Capture container
    /// URL (every `.avro` blob under it). `-` or no file reads stdin. Dead letters go to stderr (or
    /// --deadletter FILE); each carries its file and line. A line that is not UTF-8 or not JSON
    /// is a dead letter too, and the rest is read.
    #[command(after_help = EXIT_CODES_HELP)]
    Replay(ReplayArgs),
    /// Aggregate ledgers (usage-record JSON lines: files, stdin, or the ledger's blob container
    /// by URL), deduplicated by requestId (the first row read wins; identical and conflicting
    /// duplicates are counted apart on stderr); `--period` picks a month by eventTime. A line
    /// that is not a usage record is skipped, counted and named by file and line.
    ///
    /// Per-call costs are summed exactly, per currency, and rounded once, when shown (8
    /// decimals). With --price-sheet, each provisioned (PTU) deployment's monthly cost is split
    /// over the consumers that used it that UTC month by weighted tokens (largest-remainder
    /// rounding to the currency's minor unit, so the shares sum to the monthly cost exactly; a
    /// month without calls is `(unallocated)`), shown as `allocated` beside pay-as-you-go;
    /// --reprice prices every row again under that sheet. --consumers maps consumers to cost
    /// centers and teams (`--by costCenter`). --format html writes the overview page, --format
    /// focus a FOCUS 1.2 CSV; --budgets exits 4 when a budget is exceeded.
    #[command(after_help = EXIT_CODES_HELP)]
    Report(ReportArgs),
    /// Write a month's statements: index.html (the overview) and, per consumer, cost center or
    /// team, a self-contained HTML page and a CSV of its lines.
    ///
    ///   chargeback statement --period 2026-11 --out bill/ --price-sheet sheet.json usage-*.jsonl
    ///
    /// Each statement shows who, the period, the price sheet version, the totals (pay-as-you-go,
    /// allocated provisioned cost with --price-sheet, total), a line per deployment × model ×
    /// token kind with quantity, rate and amount, a daily chart, unpriced calls and why, and
    /// the duplicates removed. Amounts are the exact sums `report` shows; the pages open offline
    /// and print to PDF.
    #[command(after_help = EXIT_CODES_HELP)]
    Statement(StatementArgs),
    /// Price sheets: `check` one, `import` Azure Retail Prices API answers into one.
    Prices(PricesArgs),
    /// Send ledger rows marked `telemetryUndelivered: true` to Application Insights again.
    ///
    /// The handler marks a row when Application Insights could not take it on the host's last
    /// retry (or with no retry policy, or when ingestion refused it). Reads ledgers (usage-record
    /// JSON lines: files, `-` or none for stdin, or container URLs), sends each marked requestId once, reports counts on
    /// stderr and prints the rows still undelivered, as ledger lines, on stdout — keep them for
    /// the next attempt:
    ///
    ///   chargeback resend usage-*.jsonl > still-undelivered.jsonl
    ///
    /// Uses the same settings as `serve` (APPLICATIONINSIGHTS_CONNECTION_STRING, and
    /// APPLICATIONINSIGHTS_AUTHENTICATION_STRING with a managed identity). Exit 0 when every
    /// marked row was accepted; 1 when some remain or telemetry is not configured; 3 when a
    /// line (skipped) or a blob was unreadable. `replay --resend` does the same.
    #[command(after_help = EXIT_CODES_HELP)]
    Resend(ResendArgs),
}

pub(crate) fn engine_config(a: &EngineArgs) -> Result<EngineConfig> {
    let mut cfg = EngineConfig {
        deployments: deployment_settings(a.deployments.as_deref(), a.deployment_models.as_deref())
            .context("invalid CHARGEBACK_DEPLOYMENTS / CHARGEBACK_DEPLOYMENT_MODELS")?,
        record_non_billable: a.record_non_billable,
        ..EngineConfig::default()
    };
    if let Some(path) = a.price_sheet.as_ref().filter(|p| !p.as_os_str().is_empty()) {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the price sheet {} (CHARGEBACK_PRICE_SHEET)",
                path.display()
            )
        })?;
        cfg.prices = PriceSheet::from_json(&text)
            .with_context(|| format!("invalid price sheet {}", path.display()))?;
    }
    for w in cfg.deployment_warnings() {
        tracing::warn!(deployment = %w.deployment, "{w}");
    }
    Ok(cfg)
}

/// Log lines on stderr (`RUST_LOG`, default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_target(false)
        .with_ansi(io::stderr().is_terminal())
        .init();
}

/// Runs the command line; the exit code on success.
pub(crate) fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Some(Command::Serve(a)) => serve::serve(a),
        Some(Command::Replay(a)) if a.resend => resend::resend(&a.files, &Selection::default()),
        Some(Command::Replay(a)) => replay::replay(a),
        Some(Command::Report(a)) => report::report(a),
        Some(Command::Statement(a)) => statement::statement(a),
        Some(Command::Prices(a)) => prices::prices(a),
        Some(Command::Resend(a)) => resend::resend(&a.files, &a.select.selection()?),
        None => {
            match std::env::var("FUNCTIONS_CUSTOMHANDLER_PORT").map(|p| p.trim().to_string()) {
                Ok(port) => {
                    port.trim().parse::<u16>().with_context(|| {
                        format!("FUNCTIONS_CUSTOMHANDLER_PORT={port:?} is not a port number")
                    })?;
                    // The serve settings, read from the environment as `serve` reads them.
                    use clap::FromArgMatches;
                    let matches = ServeArgs::augment_args(clap::Command::new("serve"))
                        .try_get_matches_from(["serve"])?;
                    serve::serve(ServeArgs::from_arg_matches(&matches)?)
                }
                Err(_) => {
                    use clap::CommandFactory;
                    Cli::command().print_help()?;
                    eprintln!("\nchargeback: no command given and FUNCTIONS_CUSTOMHANDLER_PORT is not set");
                    Ok(exit::Outcome::Usage.code())
                }
            }
        }
    }
}

/// An input by name, `-` for stdin. A stdin closed at start is an error, not an empty input.
fn input_reader(path: &Path) -> Result<(String, Box<dyn BufRead>)> {
    if path.as_os_str() == "-" {
        if stdio::closed_at_start(io::stdin()) {
            anyhow::bail!("stdin is closed: nothing to read (give FILES, or pipe events in)");
        }
        return Ok(("<stdin>".into(), Box::new(BufReader::new(io::stdin()))));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok((
        path.display().to_string(),
        Box::new(BufReader::with_capacity(1 << 20, f)),
    ))
}

/// The input files, or stdin (`-`) when none were given.
fn inputs_or_stdin(files: &[PathBuf]) -> Vec<PathBuf> {
    if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.to_vec()
    }
}

/// Settings given as empty environment values (`CHARGEBACK_PRICE_SHEET=` in
/// local.settings.json) mean "not set": they are removed before anything reads them.
pub(crate) fn forget_empty_settings() {
    use clap::CommandFactory;
    let mut names: Vec<std::ffi::OsString> = [
        "FUNCTIONS_CUSTOMHANDLER_PORT",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    ]
    .iter()
    .map(Into::into)
    .collect();
    collect_env_names(&Cli::command(), &mut names);
    for name in names {
        if std::env::var_os(&name).is_some_and(|v| v.to_string_lossy().trim().is_empty()) {
            std::env::remove_var(&name);
        }
    }
}

fn collect_env_names(cmd: &clap::Command, names: &mut Vec<std::ffi::OsString>) {
    names.extend(
        cmd.get_arguments()
            .filter_map(|a| a.get_env().map(Into::into)),
    );
    for sub in cmd.get_subcommands() {
        collect_env_names(sub, names);
    }
}
