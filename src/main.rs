//! The `chargeback` binary: the Azure Functions custom handler (`serve`) and the offline tools
//! (`replay`, `report`). Thin edge: argument parsing, files, stdout/stderr, exit codes.

/// mimalloc rather than the C library's allocator: the Functions package is a static musl
/// binary, and musl's allocator made the hot path 1.5-2x slower (mostly system time) than the
/// same code on glibc; with mimalloc both builds run alike and RSS stays flat under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use rayon::prelude::*;

use aoai_chargeback::engine::{parse_deployment_models, EngineConfig};
use aoai_chargeback::host::{json_lines, process_raw, DeadLetter, EventResult};
use aoai_chargeback::pricing::PriceSheet;
use aoai_chargeback::record::UsageRecord;
use aoai_chargeback::replay::read_batches;
use aoai_chargeback::report::{render_csv, render_json, render_table, Aggregator, GroupBy};
use aoai_chargeback::server::{self, AppState, DEFAULT_MAX_BODY_BYTES};
use aoai_chargeback::telemetry::AppInsights;
use aoai_chargeback::tokenizer::Encoding;

const ABOUT: &str =
    "Exact, attributed, priced usage accounting for Azure OpenAI behind Azure API Management.";

const LONG_ABOUT: &str = "Exact, attributed, priced usage accounting for Azure OpenAI behind Azure API Management.

Runs as an Azure Functions custom handler (`serve`: the Functions host owns the Event Hubs trigger and POSTs batches of APIM log events), or offline over captured events (`replay`), ledgers (`report`) and rows Application Insights did not get (`resend`).

Each billable call becomes one usage record: tokens (from the response's usage object, or counted with the model's tiktoken encoding when a stream carried none), consumer, model and cost. Settings can be given as flags or as the environment variables shown below.";

#[derive(Parser)]
#[command(name = "chargeback", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
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
}

#[derive(Args)]
struct ServeArgs {
    /// Port to listen on (127.0.0.1 only).
    #[arg(long, env = "FUNCTIONS_CUSTOMHANDLER_PORT")]
    port: u16,
    /// Largest invocation body accepted, in bytes.
    #[arg(long, env = "CHARGEBACK_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// On SIGTERM/SIGINT: seconds to finish in-flight invocations (telemetry included) before
    /// exiting. Invocations still delivering telemetry answer shortly before the cap.
    #[arg(
        long,
        env = "CHARGEBACK_DRAIN_SECS",
        default_value_t = 30.0,
        value_name = "SECS"
    )]
    drain_secs: f64,
}

#[derive(Args)]
struct ResendArgs {
    /// Ledger files (usage-record JSON lines); `-` or none reads stdin.
    files: Vec<PathBuf>,
}

#[derive(Args)]
struct ReplayArgs {
    /// Event files; `-` or none reads stdin.
    files: Vec<PathBuf>,
    /// Print a per-consumer summary table instead of records.
    #[arg(long)]
    summary: bool,
    /// Write dead letters (JSON lines) to this file instead of stderr.
    #[arg(long, value_name = "FILE")]
    deadletter: Option<PathBuf>,
    /// Worker threads for the per-event work (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Treat FILES as ledgers and re-send the rows marked `telemetryUndelivered` to Application
    /// Insights instead (same as `chargeback resend FILES…`).
    #[arg(long, conflicts_with_all = ["summary", "deadletter", "threads"])]
    resend: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Args)]
struct ReportArgs {
    /// Ledger files (usage-record JSON lines); `-` or none reads stdin.
    files: Vec<PathBuf>,
    /// Grouping, in order (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "consumer,model,month"
    )]
    by: Vec<GroupBy>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
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

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("chargeback: error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    let cfg = engine_config(&cli.engine)?;
    match cli.command {
        Some(Command::Serve(a)) => serve(a, cfg),
        Some(Command::Replay(a)) if a.resend => resend(&a.files),
        Some(Command::Replay(a)) => replay(a, cfg),
        Some(Command::Report(a)) => report(a),
        Some(Command::Resend(a)) => resend(&a.files),
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
                    serve(ServeArgs::from_arg_matches(&matches)?, cfg)
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

fn serve(a: ServeArgs, cfg: EngineConfig) -> Result<i32> {
    init_tracing();
    let drain = Duration::try_from_secs_f64(a.drain_secs)
        .ok()
        .filter(|d| !d.is_zero())
        .context("CHARGEBACK_DRAIN_SECS (--drain-secs) must be a positive number of seconds")?;
    // A malformed telemetry setting stops start-up; the message names the setting, never its value.
    let telemetry = AppInsights::from_env().context("cannot start telemetry")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), a.port);
        tracing::info!(
            deployments_mapped = cfg.deployment_models.len(),
            price_sheet = %cfg.prices.version,
            record_non_billable = cfg.record_non_billable,
            "configuration loaded"
        );
        // Build the encoders in the background: readiness must not wait for them.
        tokio::task::spawn_blocking(|| {
            let t = Instant::now();
            Encoding::O200kBase.warm_up();
            Encoding::Cl100kBase.warm_up();
            tracing::info!(ms = t.elapsed().as_millis() as u64, "encoders ready");
        });
        let mut state = AppState::new(cfg);
        match telemetry {
            Some(sink) => {
                let c = sink.config();
                tracing::info!(
                    entra_auth = c.identity.is_some(),
                    deadline_secs = c.deadline_budget.as_secs_f64(),
                    "telemetry on: usage records go to Application Insights and the ledger"
                );
                state = state.with_telemetry(sink);
            }
            None => tracing::info!(
                "telemetry off: APPLICATIONINSIGHTS_CONNECTION_STRING is not set; usage records \
                 go to the ledger only"
            ),
        }
        server::serve_with_drain(addr, state, a.max_body_bytes, drain)
            .await
            .with_context(|| format!("cannot serve on {addr}"))
    })?;
    tracing::info!("shut down cleanly");
    Ok(0)
}

fn input_reader(path: &PathBuf) -> Result<(String, Box<dyn BufRead>)> {
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
/// lines are counted and the first five reported on stderr (by position, never content);
/// returns (rows read, unreadable).
fn read_ledgers(
    files: &[PathBuf],
    prefix: &str,
    mut each: impl FnMut(UsageRecord),
) -> Result<(u64, u64)> {
    let (mut rows, mut bad_lines) = (0u64, 0u64);
    for path in &inputs_or_stdin(files) {
        let (name, reader) = input_reader(path)?;
        for (n, line) in reader.lines().enumerate() {
            let line = line.with_context(|| format!("cannot read {name}"))?;
            if line.trim().is_empty() {
                continue;
            }
            rows += 1;
            match serde_json::from_str::<UsageRecord>(&line) {
                Ok(r) => each(r),
                Err(e) => {
                    bad_lines += 1;
                    if bad_lines <= 5 {
                        // Position only: serde's message can quote the line's values, and a
                        // wrong file (raw APIM events) would put prompt text on stderr.
                        eprintln!(
                            "{prefix}: {name}:{}: not a usage record ({:?} error at column {})",
                            n + 1,
                            e.classify(),
                            e.column()
                        );
                    }
                }
            }
        }
    }
    Ok((rows, bad_lines))
}

fn replay(a: ReplayArgs, cfg: EngineConfig) -> Result<i32> {
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot size the worker pool")?;
    }
    let files = inputs_or_stdin(&a.files);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut dead_out: Box<dyn Write> = match &a.deadletter {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(io::stderr()),
    };
    let progress = io::stderr().is_terminal();
    let mut agg = Aggregator::new(vec![GroupBy::Consumer]);
    let (mut events, mut records, mut dead, mut skipped) = (0u64, 0u64, 0u64, 0u64);
    let started = Instant::now();
    for path in &files {
        let (name, reader) = input_reader(path)?;
        let mut write_err: Option<io::Error> = None;
        read_batches(reader, &name, |batch| {
            let results: Vec<EventResult> = batch
                .events
                .par_iter()
                .zip(batch.traces.par_iter())
                .map(|(raw, trace)| process_raw(raw, trace, &cfg))
                .collect();
            let mut recs: Vec<UsageRecord> = Vec::new();
            let mut deads: Vec<DeadLetter> = Vec::new();
            for r in results {
                events += 1;
                match r {
                    EventResult::Record(rec) => recs.push(*rec),
                    EventResult::Skipped(_) => skipped += 1,
                    EventResult::Dead(d) => deads.push(d),
                }
            }
            records += recs.len() as u64;
            dead += deads.len() as u64;
            let written = if a.summary {
                recs.iter().for_each(|r| {
                    agg.add(r);
                });
                Ok(())
            } else {
                out.write_all(json_lines(&recs).as_bytes())
            }
            .and_then(|_| dead_out.write_all(json_lines(&deads).as_bytes()));
            if let Err(e) = written {
                write_err.get_or_insert(e);
            }
            if progress {
                eprint!("\rreplay: {events} events, {records} records, {dead} dead letters");
            }
        })?;
        if let Some(e) = write_err {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(0);
            }
            return Err(e).context("cannot write output");
        }
    }
    if progress {
        eprintln!();
    }
    if a.summary {
        let rows = agg.rows();
        out.write_all(render_table(&agg.headers(), &rows).as_bytes())?;
        writeln!(
            out,
            "\n{events} events: {records} billable records, {skipped} skipped (not billable / not inference), {dead} dead letters; {:.2}s",
            started.elapsed().as_secs_f64()
        )?;
    }
    out.flush()?;
    dead_out.flush()?;
    Ok(0)
}

/// Ledger rows sent per `send` call (each gets its own delivery budget).
const RESEND_CHUNK: usize = 1000;

fn resend(files: &[PathBuf]) -> Result<i32> {
    init_tracing();
    let Some(sink) = AppInsights::from_env().context("cannot start telemetry")? else {
        eprintln!(
            "chargeback resend: telemetry is not configured: set APPLICATIONINSIGHTS_CONNECTION_STRING \
             (and, for Entra authentication, APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD \
             with IDENTITY_ENDPOINT/IDENTITY_HEADER) to resend; nothing was sent"
        );
        return Ok(2);
    };
    let mut duplicates = 0u64;
    let mut seen: HashSet<String> = HashSet::new();
    let mut marked: Vec<UsageRecord> = Vec::new();
    let (rows, bad_lines) = read_ledgers(files, "chargeback resend", |r| {
        if r.telemetry_undelivered {
            if seen.insert(r.request_id.clone()) {
                marked.push(r);
            } else {
                duplicates += 1;
            }
        }
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (mut accepted, mut undelivered, mut dropped, mut requests) = (0usize, 0usize, 0usize, 0u32);
    let mut remaining: Vec<UsageRecord> = Vec::new();
    runtime.block_on(async {
        for chunk in marked.chunks(RESEND_CHUNK) {
            let report = sink.send(chunk, None, sink.deadline_from_now()).await;
            accepted += report.accepted;
            undelivered += report.undelivered.len();
            dropped += report.dropped.len();
            requests += report.requests;
            remaining.extend(
                report
                    .not_delivered()
                    .into_iter()
                    .filter_map(|i| chunk.get(i).cloned()),
            );
        }
    });
    let mut out = io::stdout().lock();
    match out
        .write_all(json_lines(&remaining).as_bytes())
        .and_then(|()| out.flush())
    {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            return Err(e).context("cannot write output")
        }
        _ => {}
    }
    eprintln!(
        "chargeback resend: {rows} ledger rows read, {} marked telemetryUndelivered \
         ({duplicates} duplicate requestIds skipped); {accepted} accepted, {undelivered} still \
         undelivered, {dropped} refused permanently, in {requests} requests; {bad_lines} unreadable lines",
        marked.len()
    );
    if !remaining.is_empty() {
        eprintln!(
            "chargeback resend: {} rows remain undelivered; they were printed on stdout (keep them \
             and resend later)",
            remaining.len()
        );
    }
    Ok(if remaining.is_empty() && bad_lines == 0 {
        0
    } else {
        1
    })
}

fn report(a: ReportArgs) -> Result<i32> {
    if a.by.is_empty() {
        bail!("--by needs at least one of consumer, model, deployment, operation, day, month");
    }
    let mut agg = Aggregator::new(a.by.clone());
    let (_, bad_lines) = read_ledgers(&a.files, "chargeback", |r| {
        agg.add(&r);
    })?;
    let headers = agg.headers();
    let rows = agg.rows();
    let text = match a.format {
        Format::Table => render_table(&headers, &rows),
        Format::Csv => render_csv(&headers, &rows),
        Format::Json => render_json(&headers, &rows),
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if let Format::Table = a.format {
        writeln!(
            out,
            "\n{} duplicate requestIds ignored, {} non-billable rows ignored, {} unreadable lines",
            agg.duplicates, agg.non_billable, bad_lines
        )?;
    }
    Ok(if bad_lines > 0 { 1 } else { 0 })
}
