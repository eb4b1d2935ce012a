//! chargeback-appinsights: delivery of usage records to Application Insights (`/v2.1/track`).
//!
//! ```text
//! let sink = AppInsights::from_env()?;            // Ok(None): telemetry off, say so once
//! let report = sink.send(&records, Some(invocation_id), deadline).await;
//! if report.needs_host_retry() { /* non-2xx, or on the last retry: report.mark_undelivered(..) */ }
//! ```
//!
//! Layout:
//! - `connection` — the connection string and the authentication string.
//! - `envelope` — a record → one `EventData` item, the documented limits enforced (pure).
//! - `auth` — managed-identity tokens (App Service / Functions identity endpoint), cached.
//! - `retry` — the pure retry decision: an ingestion answer → the next step, backoff,
//!   `Retry-After`.
//! - `client` — the I/O: one gzipped body per request, redirects, the deadline; `resend` sends
//!   ledger rows again in chunks.
//!
//! What the items look like and how delivery behaves is written down in `docs/telemetry.md`.

#![warn(unreachable_pub)]

mod auth;
mod body;
mod client;
mod config;
mod connection;
mod envelope;
mod resend;
mod retry;

pub use auth::{AccessToken, ManagedIdentityConfig, TokenError, TokenProvider};
pub use client::AppInsights;
pub use config::{
    AppInsightsConfig, AUTHENTICATION_STRING_ENV, CONNECTION_STRING_ENV, DEADLINE_ENV,
    RETRY_BASE_ENV,
};
pub use connection::{Authentication, ConnectionString, DEFAULT_INGESTION_ENDPOINT};
pub use envelope::{
    build_envelope, envelope_json, envelope_time, truncate_chars, Envelope, EnvelopeContext,
    EVENT_NAME, MAX_ITEM_BYTES, MAX_PROPERTY_KEY_CHARS, MAX_PROPERTY_VALUE_CHARS,
    ORIGINAL_SAMPLE_KEYS,
};
pub use resend::{Resent, RESEND_CHUNK};
pub use retry::{is_retriable, parse_retry_after, RetryPolicy};

use chargeback_core::UsageRecord;

/// A configuration problem found at start-up. Messages name settings and keys, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelemetryError {
    #[error("APPLICATIONINSIGHTS_CONNECTION_STRING is malformed: {0}")]
    ConnectionString(String),
    #[error("APPLICATIONINSIGHTS_AUTHENTICATION_STRING is malformed: {0}")]
    AuthenticationString(String),
    #[error(
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING asks for Entra authentication but {0} is not \
         set (enable a managed identity on the function app)"
    )]
    MissingIdentityEnvironment(&'static str),
    #[error("{name} is invalid: {reason}")]
    Setting { name: &'static str, reason: String },
    #[error("could not build the telemetry HTTP client: {0}")]
    HttpClient(String),
}

/// What happened to one `send`. Indexes refer to the `records` slice that was passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Records passed in.
    pub records: usize,
    /// Records ingestion accepted.
    pub accepted: usize,
    /// Records not delivered but worth sending again (retriable failures left at the deadline or
    /// after the last attempt, auth/endpoint errors). The host retry or `replay --resend` may
    /// deliver them. Sorted.
    pub undelivered: Vec<usize>,
    /// Records ingestion refused for good (400, 402/439 quota, a non-retriable item status in a
    /// 206). Re-sending the same batch now will not help; they must not cause a host retry.
    /// Sorted.
    pub dropped: Vec<usize>,
    /// HTTP requests made to ingestion (redirect hops not counted).
    pub requests: u32,
    /// The last ingestion status seen.
    pub last_status: Option<u16>,
    /// A short reason for the last failure: statuses and counts, never content or secrets.
    pub last_error: Option<String>,
}

impl DeliveryReport {
    /// Every record was accepted.
    pub fn is_complete(&self) -> bool {
        self.accepted == self.records && self.undelivered.is_empty() && self.dropped.is_empty()
    }

    /// Some records could still be delivered by trying again later: answer non-2xx so the host
    /// re-delivers the batch (or, on its last retry, mark them and answer 2xx).
    pub fn needs_host_retry(&self) -> bool {
        !self.undelivered.is_empty()
    }

    /// Indexes of every record not accepted (undelivered and dropped), sorted.
    pub fn not_delivered(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self
            .undelivered
            .iter()
            .chain(&self.dropped)
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Sets `telemetry_undelivered` on every record that was not accepted (undelivered or
    /// dropped), so the ledger keeps them for `replay --resend`. `records` must be the slice sent.
    pub fn mark_undelivered(&self, records: &mut [UsageRecord]) {
        for i in self.not_delivered() {
            if let Some(r) = records.get_mut(i) {
                r.telemetry_undelivered = true;
            }
        }
    }

    /// One line for logs: counts and statuses only.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "telemetry: {} records, {} accepted, {} undelivered, {} dropped, {} requests",
            self.records,
            self.accepted,
            self.undelivered.len(),
            self.dropped.len(),
            self.requests
        );
        if let Some(status) = self.last_status {
            s.push_str(&format!(", last status {status}"));
        }
        if let (false, Some(e)) = (self.is_complete(), &self.last_error) {
            s.push_str(&format!(" ({e})"));
        }
        s
    }
}
