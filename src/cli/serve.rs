//! `chargeback serve`: the custom handler (what host.json starts).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use chargeback_appinsights::AppInsights;
use chargeback_core::Encoding;
use chargeback_handler::{
    serve_with_drain, AppState, ServeOptions, DEFAULT_BODY_TIMEOUT, DEFAULT_DRAIN,
    DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
};

use super::{engine_config, init_tracing, EngineArgs};

#[derive(Args)]
pub(crate) struct ServeArgs {
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
        default_value_t = DEFAULT_DRAIN.as_secs_f64(),
        value_name = "SECS"
    )]
    drain_secs: f64,
    /// Seconds a client has to send a request's headers, from the connection's start or the end
    /// of its previous response (idle keep-alive connections close after it too). A slower
    /// client's connection is closed.
    #[arg(
        long,
        env = "CHARGEBACK_HEADER_TIMEOUT_SECS",
        default_value_t = DEFAULT_HEADER_TIMEOUT.as_secs_f64(),
        value_name = "SECS"
    )]
    header_timeout_secs: f64,
    /// Seconds a client has to send an invocation's whole body once its headers are in. A slower
    /// client gets a 408 and its connection is closed.
    #[arg(
        long,
        env = "CHARGEBACK_BODY_TIMEOUT_SECS",
        default_value_t = DEFAULT_BODY_TIMEOUT.as_secs_f64(),
        value_name = "SECS"
    )]
    body_timeout_secs: f64,
    #[command(flatten)]
    engine: EngineArgs,
}

pub(crate) fn serve(a: ServeArgs) -> Result<i32> {
    let cfg = engine_config(&a.engine)?;
    init_tracing();
    let options = ServeOptions {
        max_body_bytes: a.max_body_bytes,
        header_timeout: seconds(
            a.header_timeout_secs,
            "CHARGEBACK_HEADER_TIMEOUT_SECS (--header-timeout-secs)",
        )?,
        body_timeout: seconds(
            a.body_timeout_secs,
            "CHARGEBACK_BODY_TIMEOUT_SECS (--body-timeout-secs)",
        )?,
        drain: seconds(a.drain_secs, "CHARGEBACK_DRAIN_SECS (--drain-secs)")?,
    };
    // A malformed telemetry setting stops start-up; the message names the setting, never its value.
    let telemetry = AppInsights::from_env().context("cannot start telemetry")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), a.port);
        tracing::info!(
            deployments_mapped = cfg.deployments.len(),
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
        serve_with_drain(addr, state, options)
            .await
            .with_context(|| format!("cannot serve on {addr}"))
    })?;
    tracing::info!("shut down cleanly");
    Ok(0)
}

/// A positive number of seconds; the error names the setting.
fn seconds(secs: f64, setting: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{setting} must be a positive number of seconds"))
}
