//! `chargeback replay`: captured APIM events through the core (`chargeback-core` reads and runs
//! the batches); records or a per-consumer summary on stdout, dead letters on stderr or a file.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use chargeback_billing::{render_table, Aggregator, GroupBy};
use chargeback_core::{
    json_lines, read_batches, run_batch, Batch, DeadLetter, EngineConfig, ReplayCounts, UsageRecord,
};

use super::source::{capture_batches, gather, is_capture, Kind, Selection};

#[derive(Args)]
pub(crate) struct ReplayArgs {
    /// Event files (`*.avro`: Event Hubs Capture), Capture container URLs; `-` or none reads
    /// stdin.
    pub(crate) files: Vec<PathBuf>,
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
    pub(crate) resend: bool,
}

pub(crate) fn replay(a: ReplayArgs, cfg: EngineConfig) -> Result<i32> {
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot size the worker pool")?;
    }
    let mut outputs = Outputs::open(&a)?;
    let progress = io::stderr().is_terminal();
    let mut counts = ReplayCounts::default();
    let started = Instant::now();
    let gathered = gather(&a.files, Kind::Capture, &Selection::default())?;
    let mut rejects = gathered.unreadable_blobs;
    for input in gathered.inputs {
        let mut write_err: Option<io::Error> = None;
        let mut run = |batch: Batch| {
            let (records, dead) = run_batch(&batch, &cfg, &mut counts);
            if let Err(e) = outputs.write(&records, &dead) {
                write_err.get_or_insert(e);
            }
            if progress {
                let c = &counts;
                eprint!(
                    "\rreplay: {} events, {} records, {} dead letters",
                    c.events, c.records, c.dead_letters
                );
            }
        };
        if is_capture(&input) {
            let (batches, bad) = capture_batches(input)?;
            rejects += bad;
            batches.into_iter().for_each(&mut run);
        } else {
            let (name, reader) = input.open()?;
            read_batches(reader, &name, run)?;
        }
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
    outputs.finish(&counts, started)?;
    // Exit scheme: 3 when Capture records, files or blobs were rejected.
    Ok(if rejects > 0 { 3 } else { 0 })
}

/// Where a replay writes: records (or, with `--summary`, a per-consumer table at the end) on
/// stdout, dead letters on stderr or the `--deadletter` file.
struct Outputs {
    out: BufWriter<io::StdoutLock<'static>>,
    dead: Box<dyn Write>,
    summary: Option<Aggregator>,
}

impl Outputs {
    fn open(a: &ReplayArgs) -> Result<Outputs> {
        let dead: Box<dyn Write> = match &a.deadletter {
            Some(p) => Box::new(BufWriter::new(
                File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
            )),
            None => Box::new(io::stderr()),
        };
        Ok(Outputs {
            out: BufWriter::with_capacity(1 << 20, io::stdout().lock()),
            dead,
            summary: a.summary.then(|| Aggregator::new(vec![GroupBy::Consumer])),
        })
    }

    fn write(&mut self, records: &[UsageRecord], dead: &[DeadLetter]) -> io::Result<()> {
        match &mut self.summary {
            Some(agg) => records.iter().for_each(|r| {
                agg.add(r);
            }),
            None => self.out.write_all(json_lines(records).as_bytes())?,
        }
        self.dead.write_all(json_lines(dead).as_bytes())
    }

    fn finish(mut self, c: &ReplayCounts, started: Instant) -> Result<()> {
        if let Some(agg) = &self.summary {
            let rows = agg.rows();
            self.out
                .write_all(render_table(&agg.headers(), &rows).as_bytes())?;
            writeln!(
                self.out,
                "\n{} events: {} billable records, {} skipped (not billable / not inference), {} dead letters; {:.2}s",
                c.events,
                c.records,
                c.skipped,
                c.dead_letters,
                started.elapsed().as_secs_f64()
            )?;
        }
        self.out.flush()?;
        self.dead.flush()?;
        Ok(())
    }
}
