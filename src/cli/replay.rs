//! `chargeback replay`: captured APIM events through the core (`chargeback-core` reads and runs
//! the batches) — JSON lines, host bodies, or Event Hubs Capture Avro files and containers (read
//! by `source`); records or a per-consumer summary on stdout, dead letters on stderr or a file.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use chargeback_billing::{render_table, Aggregator, GroupBy};
use chargeback_core::{
    json_lines, read_batches, run_batch, Batch, DeadLetter, EngineConfig, ReplayCounts, UsageRecord,
};

use super::exit::{Outcome, Outcomes};
use super::source::{capture_batches, each_blob, is_capture_file, is_container_url, Kind};
use super::{engine_config, input_reader, inputs_or_stdin, EngineArgs, Selection};

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
    #[command(flatten)]
    engine: EngineArgs,
}

pub(crate) fn replay(a: ReplayArgs) -> Result<i32> {
    let cfg = engine_config(&a.engine)?;
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot size the worker pool")?;
    }
    let mut run = Run {
        outputs: Outputs::open(&a)?,
        cfg,
        progress: io::stderr().is_terminal(),
        counts: ReplayCounts::default(),
        outcomes: Outcomes::default(),
        write_err: None,
    };
    let started = Instant::now();
    for path in &inputs_or_stdin(&a.files) {
        run.input(path);
        if let Some(e) = run.write_err.take() {
            return Err(write_error(e));
        }
    }
    if run.progress {
        eprintln!();
    }
    let Run {
        outputs,
        counts,
        mut outcomes,
        ..
    } = run;
    outputs.finish(&counts, started).map_err(write_error)?;
    outcomes.count(Outcome::Rejects, counts.dead_letters, "dead letters");
    Ok(outcomes.finish(PREFIX))
}

const PREFIX: &str = "chargeback replay";

/// One replay under way: the settings, where it writes, what it has seen.
struct Run {
    outputs: Outputs,
    cfg: EngineConfig,
    progress: bool,
    counts: ReplayCounts,
    outcomes: Outcomes,
    /// The first write failure: the replay stops there.
    write_err: Option<io::Error>,
}

impl Run {
    /// One input: a Capture container URL, a Capture file (`.avro`), or events (JSON lines, a
    /// JSON array, a host body). An input that cannot be read is a failure (exit 1) and the
    /// next is read.
    fn input(&mut self, path: &Path) {
        if is_container_url(path) {
            let selection = Selection::default();
            match each_blob(path, Kind::Capture, &selection, PREFIX, |name, bytes| {
                self.capture(name, bytes)
            }) {
                Ok(n) => self
                    .outcomes
                    .count(Outcome::Rejects, n, "blobs could not be read"),
                Err(e) => self.outcomes.add(Outcome::Failed, format!("{e:#}")),
            }
        } else if is_capture_file(path) {
            match std::fs::read(path) {
                Ok(bytes) => self.capture(&path.display().to_string(), &bytes),
                Err(e) => self.outcomes.add(
                    Outcome::Failed,
                    format!("cannot read {}: {e}", path.display()),
                ),
            }
        } else {
            let read = input_reader(path).and_then(|(name, reader)| {
                read_batches(reader, &name, |batch| self.batch(&batch)).map_err(anyhow::Error::new)
            });
            if let Err(e) = read {
                self.outcomes.add(Outcome::Failed, format!("{e:#}"));
            }
        }
    }

    /// A Capture file's events; a record that cannot be taken, or a file that is not Capture
    /// Avro, is named on stderr by position and counted as a reject (exit 3).
    fn capture(&mut self, name: &str, bytes: &[u8]) {
        match capture_batches(name, bytes) {
            Ok((batches, bad)) => {
                for b in &bad {
                    eprintln!(
                        "{PREFIX}: {name}: record {} skipped: {}",
                        b.index + 1,
                        b.reason
                    );
                }
                let what = "Capture records skipped";
                self.outcomes
                    .count(Outcome::Rejects, bad.len() as u64, what);
                batches.iter().for_each(|b| self.batch(b));
            }
            Err(e) => {
                eprintln!("{PREFIX}: {e}");
                self.outcomes.add(Outcome::Rejects, e.to_string());
            }
        }
    }

    fn batch(&mut self, batch: &Batch) {
        if self.write_err.is_some() {
            return;
        }
        let (records, dead) = run_batch(batch, &self.cfg, &mut self.counts);
        if let Err(e) = self.outputs.write(&records, &dead) {
            self.write_err = Some(e);
        }
        if self.progress {
            let c = &self.counts;
            eprint!(
                "\rreplay: {} events, {} records, {} dead letters",
                c.events, c.records, c.dead_letters
            );
        }
    }
}

/// A write failure, said once: a closed stdout (the reader went away) is "stdout closed".
fn write_error(e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        anyhow::anyhow!("stdout closed: the output was not all written")
    } else {
        anyhow::Error::new(e).context("cannot write the output")
    }
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
        if super::stdio::closed_at_start(io::stdout()) {
            anyhow::bail!("stdout is closed: nowhere to write the records");
        }
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

    fn finish(mut self, c: &ReplayCounts, started: Instant) -> io::Result<()> {
        if let Some(agg) = &self.summary {
            let rows = agg.rows();
            self.out
                .write_all(render_table(&agg.headers(), &rows).as_bytes())?;
            // Zero-token `billable: false` rows (--record-non-billable) are counted apart.
            let non_billable = match agg.non_billable {
                0 => String::new(),
                n => format!(", {n} non-billable zero-token rows"),
            };
            writeln!(
                self.out,
                "\n{} events: {} billable records{non_billable}, {} skipped (not billable / not inference), {} dead letters; {:.2}s",
                c.events,
                c.records - agg.non_billable,
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
