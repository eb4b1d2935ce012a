//! Delivery to `/v2.1/track`: one request per batch, gzip, Entra bearer tokens, retries with
//! exponential backoff + full jitter and `Retry-After`, 206 partial resend, manual 307/308
//! redirects, and a caller-given deadline that bounds every wait.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{
    HeaderMap, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, LOCATION, RETRY_AFTER,
};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::auth::{AccessToken, ManagedIdentityConfig, TokenProvider};
use crate::connection::{Authentication, ConnectionString};
use crate::envelope::{build_envelope, envelope_json, EnvelopeContext};
use crate::{DeliveryReport, TelemetryError};
use chargeback_core::UsageRecord;

/// Environment variable holding the connection string; absent or empty means telemetry is off.
pub const CONNECTION_STRING_ENV: &str = "APPLICATIONINSIGHTS_CONNECTION_STRING";
/// Environment variable holding `Authorization=AAD[;ClientId=<guid>]`.
pub const AUTHENTICATION_STRING_ENV: &str = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
/// Environment variable: the per-invocation delivery budget in seconds (default 60).
pub const DEADLINE_ENV: &str = "CHARGEBACK_TELEMETRY_DEADLINE_SECS";
/// Environment variable: the first retry backoff's upper bound in milliseconds (default 500;
/// doubles per attempt, capped at 16 s).
pub const RETRY_BASE_ENV: &str = "CHARGEBACK_TELEMETRY_RETRY_BASE_MS";

/// Bodies larger than this many bytes are gzipped.
pub(crate) const DEFAULT_GZIP_THRESHOLD: usize = 1024;
/// Redirect hops followed per request.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// Statuses on which a whole request (or, in a 206, one item) is retried.
pub fn is_retriable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Backoff between attempts: exponential with full jitter, capped, and a bounded attempt count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff's upper bound; doubles per attempt.
    pub base_delay: Duration,
    /// No backoff (without `Retry-After`) is longer than this.
    pub max_delay: Duration,
    /// Requests per batch at most, counting the first (the deadline usually ends sooner).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(16),
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// The upper bound of the wait after the `attempt`-th failed request (1-based).
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1).min(30))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A uniformly random wait in `[0, backoff_cap(attempt)]` ("full jitter").
    pub fn backoff(&self, attempt: u32) -> Duration {
        let cap = u64::try_from(self.backoff_cap(attempt).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=cap))
    }
}

/// The wait a `Retry-After` value asks for: delta-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let now = chrono::DateTime::<chrono::Utc>::from(now);
    Some(
        date.with_timezone(&chrono::Utc)
            .signed_duration_since(now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

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

/// The Application Insights sink. Cheap to clone (shared state behind an `Arc`).
#[derive(Debug, Clone)]
pub struct AppInsights {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: AppInsightsConfig,
    http: reqwest::Client,
    tokens: Option<TokenProvider>,
    track_url: Url,
}

#[derive(Deserialize)]
struct TrackResponse {
    #[serde(default, rename = "itemsReceived")]
    items_received: Option<u64>,
    #[serde(default)]
    errors: Vec<TrackItemError>,
}

#[derive(Deserialize)]
struct TrackItemError {
    index: usize,
    #[serde(rename = "statusCode")]
    status_code: u16,
}

/// One HTTP exchange's result, after redirects.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

enum PostError {
    /// Connection, TLS, timeout: retriable.
    Network(String),
    /// A redirect we will not follow (loop, bad `Location`): not retriable now.
    Redirect(String),
}

/// What one attempt means for the records it carried.
enum Step {
    Finished,
    Retry(Option<Duration>),
    Stop,
}

impl AppInsights {
    /// From the environment (see [`AppInsightsConfig::from_lookup`]). `Ok(None)`: telemetry off;
    /// the caller says so once at start-up.
    pub fn from_env() -> Result<Option<Self>, TelemetryError> {
        AppInsightsConfig::from_lookup(&|name| std::env::var(name).ok())?
            .map(AppInsights::new)
            .transpose()
    }

    pub fn new(config: AppInsightsConfig) -> Result<Self, TelemetryError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .user_agent(config.context.sdk_version.clone())
            .build()
            .map_err(|e| TelemetryError::HttpClient(e.without_url().to_string()))?;
        let tokens = config
            .identity
            .clone()
            .map(|id| TokenProvider::new(http.clone(), id));
        let track_url = config.connection.track_url();
        Ok(AppInsights {
            inner: Arc::new(Inner {
                config,
                http,
                tokens,
                track_url,
            }),
        })
    }

    pub fn config(&self) -> &AppInsightsConfig {
        &self.inner.config
    }

    /// `now + CHARGEBACK_TELEMETRY_DEADLINE_SECS` (default 60 s).
    pub fn deadline_from_now(&self) -> Instant {
        Instant::now() + self.inner.config.deadline_budget
    }

    /// Sends every record as one `Azure OpenAI Tokens` event, batching them into one request
    /// (or several of at most `max_batch_items`), retrying until `deadline` at the latest. Never
    /// fails: the report says which records were accepted, which may be retried later
    /// (`undelivered`) and which ingestion refused for good (`dropped`).
    pub async fn send(
        &self,
        records: &[UsageRecord],
        invocation_id: Option<&str>,
        deadline: Instant,
    ) -> DeliveryReport {
        let started = Instant::now();
        let mut report = DeliveryReport {
            records: records.len(),
            ..DeliveryReport::default()
        };
        let items: Vec<Vec<u8>> = records
            .iter()
            .map(|r| {
                envelope_json(&build_envelope(
                    r,
                    &self.inner.config.context,
                    invocation_id,
                ))
            })
            .collect();
        let all: Vec<usize> = (0..records.len()).collect();
        for chunk in all.chunks(self.inner.config.max_batch_items.max(1)) {
            self.send_batch(&items, chunk.to_vec(), deadline, &mut report)
                .await;
        }
        report.undelivered.sort_unstable();
        report.dropped.sort_unstable();
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if report.needs_host_retry() || !report.dropped.is_empty() {
            tracing::warn!(
                records = report.records,
                accepted = report.accepted,
                undelivered = report.undelivered.len(),
                dropped = report.dropped.len(),
                requests = report.requests,
                last_status = report.last_status,
                elapsed_ms,
                "{}",
                report.summary()
            );
        } else {
            tracing::info!(
                records = report.records,
                accepted = report.accepted,
                requests = report.requests,
                elapsed_ms,
                "{}",
                report.summary()
            );
        }
        report
    }

    async fn send_batch(
        &self,
        items: &[Vec<u8>],
        mut pending: Vec<usize>,
        deadline: Instant,
        report: &mut DeliveryReport,
    ) {
        let mut attempts = 0u32;
        let mut refreshed_after_401 = false;
        while !pending.is_empty() {
            if Instant::now() >= deadline {
                report.last_error = Some("deadline reached".into());
                break;
            }
            attempts += 1;
            let step = self
                .attempt(
                    items,
                    &mut pending,
                    deadline,
                    &mut refreshed_after_401,
                    report,
                )
                .await;
            let wait = match step {
                Step::Finished | Step::Stop => break,
                Step::Retry(retry_after) => retry_after,
            };
            if pending.is_empty() {
                break;
            }
            if attempts >= self.inner.config.retry.max_attempts {
                report.last_error = Some(format!("gave up after {attempts} attempts"));
                break;
            }
            let wait = wait.unwrap_or_else(|| self.inner.config.retry.backoff(attempts));
            if Instant::now() + wait >= deadline {
                report.last_error = Some(format!(
                    "next retry in {} ms would pass the deadline",
                    wait.as_millis()
                ));
                break;
            }
            tokio::time::sleep(wait).await;
        }
        report.undelivered.extend(pending);
    }

    /// One request for `pending`; updates `pending` to what still needs sending and moves
    /// accepted / dropped records into the report.
    async fn attempt(
        &self,
        items: &[Vec<u8>],
        pending: &mut Vec<usize>,
        deadline: Instant,
        refreshed_after_401: &mut bool,
        report: &mut DeliveryReport,
    ) -> Step {
        let token = match &self.inner.tokens {
            None => None,
            Some(provider) => match provider.token(deadline).await {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!("telemetry: {e}");
                    report.last_error = Some(e.to_string());
                    return Step::Retry(None);
                }
            },
        };
        let body = batch_body(items, pending);
        report.requests += 1;
        let answer = match self.post(body, token.as_ref(), deadline).await {
            Ok(a) => a,
            Err(PostError::Network(e)) => {
                tracing::warn!("telemetry: ingestion request failed: {e}");
                report.last_error = Some(e);
                return Step::Retry(None);
            }
            Err(PostError::Redirect(e)) => {
                tracing::error!("telemetry: {e}");
                report.last_error = Some(e);
                return Step::Stop;
            }
        };
        report.last_status = Some(answer.status);
        match answer.status {
            200 | 206 => {
                let parsed: Option<TrackResponse> = serde_json::from_slice(&answer.body).ok();
                let Some(parsed) = parsed.filter(|p| !p.errors.is_empty()) else {
                    if answer.status == 206 {
                        // A partial success we cannot read: resend everything (readers dedupe
                        // on TokenInfoId), rather than guess which items were kept.
                        report.last_error = Some("unreadable 206 response".into());
                        return Step::Retry(answer.retry_after);
                    }
                    report.accepted += pending.len();
                    pending.clear();
                    return Step::Finished;
                };
                if parsed
                    .items_received
                    .is_some_and(|n| n != pending.len() as u64)
                {
                    tracing::warn!(
                        sent = pending.len(),
                        received = parsed.items_received,
                        "telemetry: ingestion counted a different number of items"
                    );
                }
                let mut retry = BTreeSet::new();
                let mut failed = BTreeSet::new();
                let mut statuses = BTreeSet::new();
                for e in &parsed.errors {
                    let Some(&record) = pending.get(e.index) else {
                        continue;
                    };
                    if !failed.insert(e.index) {
                        continue;
                    }
                    statuses.insert(e.status_code);
                    if is_retriable(e.status_code) {
                        retry.insert(record);
                    } else {
                        report.dropped.push(record);
                    }
                }
                let dropped_now = failed.len() - retry.len();
                if dropped_now > 0 {
                    tracing::error!(
                        dropped = dropped_now,
                        item_statuses = ?statuses,
                        "telemetry: ingestion rejected items permanently"
                    );
                }
                report.accepted += pending.len() - failed.len();
                *pending = retry.into_iter().collect();
                report.last_error = Some(format!("partial success, item statuses {statuses:?}"));
                if pending.is_empty() {
                    Step::Finished
                } else {
                    Step::Retry(answer.retry_after)
                }
            }
            401 if token.is_some() && !*refreshed_after_401 => {
                *refreshed_after_401 = true;
                if let (Some(provider), Some(t)) = (&self.inner.tokens, &token) {
                    provider.invalidate(t).await;
                }
                tracing::info!("telemetry: ingestion answered 401; refreshing the token once");
                report.last_error = Some("401 Unauthorized".into());
                Step::Retry(Some(Duration::ZERO))
            }
            s if is_retriable(s) => {
                report.last_error = Some(format!("ingestion answered {s}"));
                Step::Retry(answer.retry_after)
            }
            s @ (400 | 402 | 439) => {
                tracing::error!(
                    status = s,
                    dropped = pending.len(),
                    "telemetry: ingestion refused the batch ({}); the records are not retried",
                    if s == 400 {
                        "invalid data"
                    } else {
                        "quota or daily cap exceeded"
                    }
                );
                report.last_error = Some(format!("ingestion answered {s}"));
                report.dropped.append(pending);
                Step::Stop
            }
            s => {
                tracing::error!(
                    status = s,
                    undelivered = pending.len(),
                    "telemetry: ingestion answered a status that is not retried here \
                     (check the connection string, the identity and its role assignment)"
                );
                report.last_error = Some(format!("ingestion answered {s}"));
                Step::Stop
            }
        }
    }

    /// POSTs `body` to the track URL, following 307/308 redirects itself: the Authorization
    /// header goes only to the same origin (scheme, host, port) as the URL that was given it.
    async fn post(
        &self,
        body: Vec<u8>,
        token: Option<&AccessToken>,
        deadline: Instant,
    ) -> Result<Answer, PostError> {
        let (body, gzipped) = maybe_gzip(body, self.inner.config.gzip_threshold);
        let mut url = self.inner.track_url.clone();
        let mut send_auth = token.is_some();
        for _hop in 0..=MAX_REDIRECTS {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(PostError::Network("deadline reached".into()));
            }
            let mut request = self
                .inner
                .http
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .header(reqwest::header::ACCEPT, "application/json")
                .timeout(remaining.min(self.inner.config.request_timeout))
                .body(body.clone());
            if gzipped {
                request = request.header(CONTENT_ENCODING, "gzip");
            }
            if let (true, Some(t)) = (send_auth, token) {
                request = request.header(AUTHORIZATION, format!("Bearer {}", t.secret()));
            }
            let response = request
                .send()
                .await
                .map_err(|e| PostError::Network(e.without_url().to_string()))?;
            let status = response.status();
            if status == StatusCode::TEMPORARY_REDIRECT || status == StatusCode::PERMANENT_REDIRECT
            {
                let next = redirect_target(&url, response.headers()).ok_or_else(|| {
                    PostError::Redirect(format!(
                        "ingestion answered {} without a usable Location",
                        status.as_u16()
                    ))
                })?;
                if send_auth && !same_origin(&url, &next) {
                    tracing::warn!(
                        "telemetry: ingestion redirected to another host; following without the \
                         Authorization header (set IngestionEndpoint to the regional endpoint)"
                    );
                    send_auth = false;
                }
                url = next;
                continue;
            }
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let body = response
                .bytes()
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            return Ok(Answer {
                status: status.as_u16(),
                retry_after,
                body,
            });
        }
        Err(PostError::Redirect(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }
}

/// `[item,item,…]` for the records at `indexes`.
fn batch_body(items: &[Vec<u8>], indexes: &[usize]) -> Vec<u8> {
    let size = indexes
        .iter()
        .filter_map(|&i| items.get(i))
        .map(Vec::len)
        .sum::<usize>();
    let mut body = Vec::with_capacity(size + indexes.len() + 2);
    body.push(b'[');
    for (n, item) in indexes.iter().filter_map(|&i| items.get(i)).enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.push(b']');
    body
}

/// Gzips `body` when it is larger than `threshold` bytes (and compression succeeds).
pub(crate) fn maybe_gzip(body: Vec<u8>, threshold: usize) -> (Vec<u8>, bool) {
    use std::io::Write;
    if body.len() <= threshold {
        return (body, false);
    }
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::default(),
    );
    match encoder.write_all(&body).and_then(|()| encoder.finish()) {
        Ok(compressed) => (compressed, true),
        Err(_) => (body, false),
    }
}

fn redirect_target(current: &Url, headers: &HeaderMap) -> Option<Url> {
    let location = headers.get(LOCATION)?.to_str().ok()?;
    let next = current.join(location).ok()?;
    matches!(next.scheme(), "http" | "https").then_some(next)
}

/// Same scheme, host and port.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}
