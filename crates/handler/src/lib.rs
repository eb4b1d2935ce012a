//! chargeback-handler: the Azure Functions custom-handler HTTP server (axum) — `GET /`
//! readiness and `POST /ChargebackEventHubTrigger`.
//!
//! Layout:
//! - `routes` — the router, the shared state and counters, and `invoke`: decode the host's
//!   invocation and run the batch through the core on rayon's pool (CPU work never runs on the
//!   async I/O threads), send the records to Application Insights when telemetry is on, and
//!   answer the host's JSON. A request that is not an invocation gets a 400 with a JSON error.
//! - `delivery` — what the answer is once telemetry was sent: the ledger (`usage` output) is
//!   the durable truth; records Application Insights did not take make the handler answer 503
//!   so the host re-delivers the batch (it discards the Outputs of a failed attempt, so nothing
//!   is written twice) — except on the host's last retry, or when the invocation carries no
//!   `RetryContext`: then those rows are marked `telemetryUndelivered` in the ledger and the
//!   answer is 200, for `chargeback resend` later.
//! - `conn` — the accept loop: HTTP/1 connections with a header read timeout, stopped on the
//!   shutdown signal. The body read timeout is the trigger's own (`routes::read_body`); both
//!   answer a client too slow for them by closing its connection.
//! - `trim` — memory after a huge batch: the allocator is given the chance to return what the
//!   batch freed, so the process does not keep its peak.
//! - `shutdown` — SIGTERM/SIGINT stop accepting connections and let in-flight invocations
//!   finish, telemetry included, within a drain cap; an invocation whose telemetry would
//!   outlast the cap is answered (as if its delivery had failed) just before it.
//!
//! The host protocol is written down in `docs/host-protocol.md`, the delivery rule in
//! `docs/telemetry.md`.

#![warn(unreachable_pub)]

mod conn;
mod delivery;
mod routes;
mod shutdown;
mod trim;

pub use conn::DEFAULT_HEADER_TIMEOUT;
pub use routes::{router, AppState, DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_BYTES};
pub use shutdown::{serve_listener, serve_with_drain, ServeOptions, DEFAULT_DRAIN};
pub use trim::HUGE_BATCH_BYTES;
