//! The sink's settings: the connection string, Entra authentication, the delivery budget and
//! the backoff, read from the environment (or any lookup, for tests).

use std::time::Duration;

use crate::auth::ManagedIdentityConfig;
use crate::body::DEFAULT_GZIP_THRESHOLD;
use crate::connection::{Authentication, ConnectionString};
use crate::envelope::EnvelopeContext;
use crate::retry::RetryPolicy;
use crate::TelemetryError;

/// Environment variable holding the connection string; absent or empty means telemetry is off.
pub const CONNECTION_STRING_ENV: &str = "APPLICATIONINSIGHTS_CONNECTION_STRING";
/// Environment variable holding `Authorization=AAD[;ClientId=<guid>]`.
pub const AUTHENTICATION_STRING_ENV: &str = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
/// Environment variable: the per-invocation delivery budget in seconds (default 60).
pub const DEADLINE_ENV: &str = "CHARGEBACK_TELEMETRY_DEADLINE_SECS";
/// Environment variable: the first retry backoff's upper bound in milliseconds (default 500;
/// doubles per attempt, capped at 16 s).
pub const RETRY_BASE_ENV: &str = "CHARGEBACK_TELEMETRY_RETRY_BASE_MS";

/// Everything the sink needs; `AppInsightsConfig::new` gives production defaults.
#[derive(Debug, Clone)]
pub struct AppInsightsConfig {
    pub connection: ConnectionString,
    /// `Some` when ingestion must carry a managed-identity bearer token.
    pub identity: Option<ManagedIdentityConfig>,
    pub context: EnvelopeContext,
    pub retry: RetryPolicy,
    /// Bodies larger than this are gzipped.
    pub gzip_threshold: usize,
    /// Upper bound on one HTTP exchange (further bounded by the deadline).
    pub request_timeout: Duration,
    /// The default per-invocation budget, see [`AppInsights::deadline_from_now`].
    pub deadline_budget: Duration,
    /// Records per request at most; a larger batch is sent as several requests.
    pub max_batch_items: usize,
}

impl AppInsightsConfig {
    pub fn new(connection: ConnectionString) -> Self {
        let context = EnvelopeContext::new(connection.instrumentation_key());
        AppInsightsConfig {
            connection,
            identity: None,
            context,
            retry: RetryPolicy::default(),
            gzip_threshold: DEFAULT_GZIP_THRESHOLD,
            request_timeout: Duration::from_secs(30),
            deadline_budget: Duration::from_secs(60),
            max_batch_items: 1000,
        }
    }

    /// Reads the settings through `lookup` (the environment in production). `Ok(None)` when no
    /// connection string is set: telemetry is off.
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, TelemetryError> {
        let Some(cs) = lookup(CONNECTION_STRING_ENV).filter(|s| !s.trim().is_empty()) else {
            return Ok(None);
        };
        let connection = ConnectionString::parse(&cs)?;
        let mut config = AppInsightsConfig::new(connection);
        if let Authentication::ManagedIdentity { client_id } =
            Authentication::parse(lookup(AUTHENTICATION_STRING_ENV).as_deref())?
        {
            config.identity = Some(ManagedIdentityConfig::from_lookup(lookup, client_id)?);
        }
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if let Some(role) = non_empty("WEBSITE_SITE_NAME") {
            config.context.role = role;
        }
        config.context.role_instance = non_empty("WEBSITE_INSTANCE_ID")
            .or_else(|| non_empty("COMPUTERNAME"))
            .or_else(|| non_empty("HOSTNAME"))
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| "localhost".into());
        if let Some(v) = non_empty(DEADLINE_ENV) {
            let secs: f64 = v.trim().parse().map_err(|_| TelemetryError::Setting {
                name: DEADLINE_ENV,
                reason: "must be a number of seconds".into(),
            })?;
            config.deadline_budget = Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| TelemetryError::Setting {
                    name: DEADLINE_ENV,
                    reason: "must be a positive number of seconds".into(),
                })?;
        }
        if let Some(v) = non_empty(RETRY_BASE_ENV) {
            let ms: u64 = v.trim().parse().ok().filter(|ms| *ms > 0).ok_or_else(|| {
                TelemetryError::Setting {
                    name: RETRY_BASE_ENV,
                    reason: "must be a positive whole number of milliseconds".into(),
                }
            })?;
            config.retry.base_delay = Duration::from_millis(ms);
            config.retry.max_delay = config.retry.max_delay.max(config.retry.base_delay);
        }
        Ok(Some(config))
    }
}
