//! Delivery to `/v2.1/track`: one request per batch, gzip, Entra bearer tokens, retries with
//! exponential backoff + full jitter and `Retry-After` (decided in `retry`), 206 partial resend,
//! manual 307/308 redirects, and a caller-given deadline that bounds every wait.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{
    HeaderMap, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, LOCATION, RETRY_AFTER,
};
use reqwest::{StatusCode, Url};

use crate::auth::{AccessToken, TokenProvider};
use crate::body::Prepared;
use crate::config::AppInsightsConfig;
use crate::envelope::{build_envelope, envelope_json};
use crate::retry::{classify, parse_retry_after, Answer, Step};
use crate::{DeliveryReport, TelemetryError};
use chargeback_core::UsageRecord;

/// Redirect hops followed per request.
pub(crate) const MAX_REDIRECTS: usize = 5;

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
enum PostError {
    /// Connection, TLS, timeout: retriable.
    Network(String),
    /// A redirect we will not follow (loop, bad `Location`): not retriable now.
    Redirect(String),
}

/// One batch on its way: what is still to send, its body once built, the 401 refresh spent.
struct Batch {
    pending: Vec<usize>,
    body: Option<Prepared>,
    refreshed_after_401: bool,
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
        pending: Vec<usize>,
        deadline: Instant,
        report: &mut DeliveryReport,
    ) {
        let mut attempts = 0u32;
        let mut batch = Batch {
            pending,
            body: None,
            refreshed_after_401: false,
        };
        while !batch.pending.is_empty() {
            if Instant::now() >= deadline {
                report.last_error = Some("deadline reached".into());
                break;
            }
            attempts += 1;
            let wait = match self.attempt(items, &mut batch, deadline, report).await {
                Step::Finished | Step::Stop => break,
                Step::Retry(retry_after) => retry_after,
                Step::RefreshToken => Some(Duration::ZERO),
            };
            if batch.pending.is_empty() {
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
        report.undelivered.extend(batch.pending);
    }

    /// One request for the batch's pending records: the token, the body (built only when the
    /// pending records changed), the POST, then [`classify`] of the answer, applied to the batch
    /// and the report.
    async fn attempt(
        &self,
        items: &[Vec<u8>],
        batch: &mut Batch,
        deadline: Instant,
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
        let threshold = self.inner.config.gzip_threshold;
        let body = match batch.body.take() {
            Some(b) if b.indexes == batch.pending => b,
            _ => Prepared::new(items, &batch.pending, threshold),
        };
        report.requests += 1;
        let answer = self.post(&body, token.as_ref(), deadline).await;
        batch.body = Some(body);
        let answer = match answer {
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
        let may_refresh = token.is_some() && !batch.refreshed_after_401;
        let c = classify(&answer, &batch.pending, may_refresh);
        report.accepted += c.accepted;
        report.dropped.extend(c.dropped);
        if let Some(e) = c.error {
            report.last_error = Some(e);
        }
        batch.pending = c.pending;
        if c.step == Step::RefreshToken {
            batch.refreshed_after_401 = true;
            if let (Some(provider), Some(t)) = (&self.inner.tokens, &token) {
                provider.invalidate(t).await;
            }
        }
        c.step
    }

    /// POSTs `body` to the track URL (the same bytes on every hop), following 307/308 redirects itself: the Authorization
    /// header goes only to the same origin (scheme, host, port) as the URL that was given it.
    async fn post(
        &self,
        body: &Prepared,
        token: Option<&AccessToken>,
        deadline: Instant,
    ) -> Result<Answer, PostError> {
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
                .body(body.body());
            if body.gzipped {
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
