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
//! - `shutdown` — SIGTERM/SIGINT stop accepting connections and let in-flight invocations
//!   finish, telemetry included, within a drain cap; an invocation whose telemetry would
//!   outlast the cap is answered (as if its delivery had failed) just before it.
//!
//! The host protocol is written down in `docs/host-protocol.md`, the delivery rule in
//! `docs/telemetry.md`.

#![warn(unreachable_pub)]

mod delivery;
mod routes;
mod shutdown;

pub use routes::{router, AppState, DEFAULT_MAX_BODY_BYTES};
pub use shutdown::{serve_with_drain, DEFAULT_DRAIN};
