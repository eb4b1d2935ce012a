//! Argument parsing (clap) and dispatch: the settings every command shares, the commands, and
//! the files-or-stdin rule of the offline tools.

mod bill;
mod replay;
mod report;
mod resend;
mod serve;
mod statement;

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use chargeback_billing::{read_ledger, BadLine, LedgerCounts};
use chargeback_core::{parse_deployment_models, EngineConfig, PriceSheet, UsageRecord};

use replay::ReplayArgs;
use report::ReportArgs;
use resend::ResendArgs;
use serve::ServeArgs;
use statement::StatementArgs;

const ABOUT: &str =
    "Exact, attributed, priced usage accounting for Azure OpenAI behind Azure API Management.";

const LONG_ABOUT: &str = "Exact, attributed, priced usage accounting for Azure OpenAI behind Azure API Management.

Runs as an Azure Functions custom handler (`serve`: the Functions host owns the Event Hubs trigger and POSTs batches of APIM log events), or offline over captured events (`replay`), ledgers (`report`) and rows Application Insights did not get (`resend`).

Each billable call becomes one usage record: tokens (from the response's usage object, or counted with the model's tiktoken encoding when a stream carried none), consumer, model and cost. Settings can be given as flags or as the environment variables shown below.";

#[derive(Parser)]
#[command(name = "chargeback", version, about = ABOUT, long_about = LONG_ABOUT)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Args, Clone)]
struct EngineArgs {
    /// Deployment → model map used when a response does not name its model
    /// (`deployment=model,deployment=model`).
    #[arg(
        long,
        global = true,
        env = "CHARGEBACK_DEPLOYMENT_MODELS",
        value_name = "MAP"
    )]
    deployment_models: Option<String>,
    /// A price sheet JSON file replacing the embedded list prices (see prices/ for the format).
    #[arg(
        long,
        global = true,
        env = "CHARGEBACK_PRICE_SHEET",
        value_name = "FILE"
    )]
    price_sheet: Option<PathBuf>,
    /// Also write zero-token rows (`billable: false`) for 401/403/404/408/429/5xx calls.
    #[arg(long, global = true, env = "CHARGEBACK_RECORD_NON_BILLABLE", value_name = "BOOL",
          num_args = 0..=1, default_missing_value = "true")]
    record_non_billable: Option<bool>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the custom handler: GET / for readiness, POST /ChargebackEventHubTrigger for batches.
    /// This is what host.json starts; with no subcommand and FUNCTIONS_CUSTOMHANDLER_PORT set,
    /// `chargeback` does the same.
    Serve(ServeArgs),
    /// Turn captured APIM events into usage records (JSON lines on stdout, in input order).
    ///
    /// Input: JSON lines of APIM events (v2 or legacy v1), a JSON array of events, or a whole
    /// Functions host request body. `-` or no file reads stdin. Dead letters go to stderr (or
    /// --deadletter FILE). Exit 0 when every input was read.
    Replay(ReplayArgs),
    /// Aggregate ledger files (usage-record JSON lines), deduplicated by requestId.
    Report(ReportArgs),
    /// Send ledger rows marked `telemetryUndelivered: true` to Application Insights again.
    ///
    /// The handler marks a row when Application Insights could not take it on the host's last
    /// retry (or with no retry policy, or when ingestion refused it). Reads ledger files (usage-record
    /// JSON lines; `-` or none reads stdin), sends each marked requestId once, reports counts on
    /// stderr and prints the rows still undelivered, as ledger lines, on stdout — keep them for
    /// the next attempt:
    ///
    ///   chargeback resend usage-*.jsonl > still-undelivered.jsonl
    ///
    /// Uses the same settings as `serve` (APPLICATIONINSIGHTS_CONNECTION_STRING, and
    /// APPLICATIONINSIGHTS_AUTHENTICATION_STRING with a managed identity). Exit 0 when every
    /// marked row was accepted; 1 when some remain or a line is unreadable; 2 when telemetry is
    /// not configured. `replay --resend` does the same.
    Resend(ResendArgs),
    /// Write a month's statements: index.html (the overview) and, per consumer, cost center or
    /// team, a self-contained HTML page and a CSV of its lines.
    ///
    ///   chargeback statement --period 2026-11 --out bill/ --price-sheet sheet.json usage-*.jsonl
    ///
    /// Each statement shows who, the period, the price sheet version, the totals (pay-as-you-go,
    /// allocated provisioned cost with --price-sheet, total), a line per deployment × model ×
    /// token kind with quantity, rate and amount, a daily chart, unpriced calls and duplicates
    /// removed. Amounts are the exact sums `report` shows. Exit 0; 3 when ledger lines were
    /// unreadable; 4 when a --budgets budget is exceeded (the highest wins).
    Statement(StatementArgs),
}

fn engine_config(a: &EngineArgs) -> Result<EngineConfig> {
    let mut cfg = EngineConfig::default();
    if let Some(map) = a.deployment_models.as_deref() {
        cfg.deployment_models = parse_deployment_models(map)?;
    }
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
    cfg.record_non_billable = a.record_non_billable.unwrap_or(false);
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
    let cfg = engine_config(&cli.engine)?;
    match cli.command {
        Some(Command::Serve(a)) => serve::serve(a, cfg),
        Some(Command::Replay(a)) if a.resend => resend::resend(&a.files),
        Some(Command::Replay(a)) => replay::replay(a, cfg),
        Some(Command::Report(a)) => report::report(a, cli.engine.price_sheet.as_deref()),
        Some(Command::Resend(a)) => resend::resend(&a.files),
        Some(Command::Statement(a)) => statement::statement(a, cli.engine.price_sheet.as_deref()),
        None => {
            match std::env::var("FUNCTIONS_CUSTOMHANDLER_PORT") {
                Ok(port) => {
                    port.trim().parse::<u16>().with_context(|| {
                        format!("FUNCTIONS_CUSTOMHANDLER_PORT={port:?} is not a port number")
                    })?;
                    // The serve settings, read from the environment as `serve` reads them.
                    use clap::FromArgMatches;
                    let matches = ServeArgs::augment_args(clap::Command::new("serve"))
                        .try_get_matches_from(["serve"])?;
                    serve::serve(ServeArgs::from_arg_matches(&matches)?, cfg)
                }
                Err(_) => {
                    use clap::CommandFactory;
                    Cli::command().print_help()?;
                    eprintln!("\nchargeback: no command given and FUNCTIONS_CUSTOMHANDLER_PORT is not set");
                    Ok(2)
                }
            }
        }
    }
}

fn input_reader(path: &Path) -> Result<(String, Box<dyn BufRead>)> {
    if path.as_os_str() == "-" {
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

/// Reads ledger files (usage-record JSON lines) and hands each record to `each`. Unreadable
/// lines are counted and the first five reported on stderr (by position, never content).
fn read_ledgers(
    files: &[PathBuf],
    prefix: &str,
    mut each: impl FnMut(UsageRecord),
) -> Result<LedgerCounts> {
    let mut counts = LedgerCounts::default();
    for path in &inputs_or_stdin(files) {
        let (name, reader) = input_reader(path)?;
        let report = |b: BadLine| {
            if b.ordinal <= 5 {
                eprintln!(
                    "{prefix}: {name}:{}: not a usage record ({:?} error at column {})",
                    b.line, b.category, b.column
                );
            }
        };
        read_ledger(reader, &mut counts, &mut each, report)
            .with_context(|| format!("cannot read {name}"))?;
    }
    Ok(counts)
}
