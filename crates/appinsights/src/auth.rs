//! Managed-identity tokens for Entra-authenticated ingestion: fetched from the App Service /
//! Functions identity endpoint, cached until 5 minutes before expiry. Tokens are never logged.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use serde::Deserialize;
use tokio::sync::Mutex;

use chargeback_core::lenient_u64;

use crate::TelemetryError;

/// The resource (scope without `/.default`) Application Insights ingestion accepts tokens for.
pub(crate) const MONITOR_RESOURCE: &str = "https://monitor.azure.com/";
/// The App Service / Functions managed-identity protocol version.
pub(crate) const IDENTITY_API_VERSION: &str = "2019-08-01";
/// A cached token is refreshed this long before it expires.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Where and how to ask for a managed-identity token (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).
#[derive(Clone)]
pub struct ManagedIdentityConfig {
    pub endpoint: Url,
    /// The `X-IDENTITY-HEADER` value: a secret, kept out of `Debug`.
    pub header: String,
    /// `client_id` of a user-assigned identity; `None` for the system-assigned one.
    pub client_id: Option<String>,
}

impl fmt::Debug for ManagedIdentityConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentityConfig")
            .field("endpoint", &self.endpoint.as_str())
            .field("header", &"<redacted>")
            .field("client_id", &self.client_id)
            .finish()
    }
}

impl ManagedIdentityConfig {
    /// Reads `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` (set by App Service and Functions when an
    /// identity is enabled).
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        client_id: Option<String>,
    ) -> Result<Self, TelemetryError> {
        let get = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or(TelemetryError::MissingIdentityEnvironment(name))
        };
        let endpoint = get("IDENTITY_ENDPOINT")?;
        let header = get("IDENTITY_HEADER")?;
        let endpoint = Url::parse(&endpoint).map_err(|e| TelemetryError::Setting {
            name: "IDENTITY_ENDPOINT",
            reason: format!("not a valid URL ({e})"),
        })?;
        Ok(ManagedIdentityConfig {
            endpoint,
            header,
            client_id,
        })
    }

    fn token_url(&self) -> Url {
        let mut url = self.endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("resource", MONITOR_RESOURCE);
            q.append_pair("api-version", IDENTITY_API_VERSION);
            if let Some(id) = &self.client_id {
                q.append_pair("client_id", id);
            }
        }
        url
    }
}

/// A bearer token. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    secret: String,
    /// When the token stops being used from the cache (`expires_on` minus the refresh margin).
    refresh_at: Option<Instant>,
}

impl AccessToken {
    pub fn secret(&self) -> &str {
        &self.secret
    }
    fn is_fresh(&self, now: Instant) -> bool {
        self.refresh_at.is_some_and(|at| now < at)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Why a token could not be had. The message carries a status or a parse problem, never a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("managed identity token request failed: {0}")]
pub struct TokenError(pub String);

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_on: Option<serde_json::Value>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// Fetches and caches managed-identity tokens; one fetch at a time (callers wait for it).
pub struct TokenProvider {
    http: reqwest::Client,
    config: ManagedIdentityConfig,
    cache: Mutex<Option<AccessToken>>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    pub fn new(http: reqwest::Client, config: ManagedIdentityConfig) -> Self {
        TokenProvider {
            http,
            config,
            cache: Mutex::new(None),
        }
    }

    /// A token valid for at least the refresh margin: the cached one, or a new one.
    pub async fn token(&self, deadline: Instant) -> Result<AccessToken, TokenError> {
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.as_ref().filter(|t| t.is_fresh(Instant::now())) {
            return Ok(t.clone());
        }
        let fresh = self.fetch(deadline).await?;
        *cache = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forgets `rejected` (ingestion answered 401 to it) so the next [`token`](Self::token)
    /// fetches a new one. A newer token cached meanwhile by another caller is kept.
    pub async fn invalidate(&self, rejected: &AccessToken) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|t| t.secret == rejected.secret) {
            *cache = None;
        }
    }

    async fn fetch(&self, deadline: Instant) -> Result<AccessToken, TokenError> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(TokenError("the delivery deadline passed".into()));
        }
        let response = self
            .http
            .get(self.config.token_url())
            .header("X-IDENTITY-HEADER", &self.config.header)
            .header("Metadata", "true")
            .timeout(remaining.min(Duration::from_secs(30)))
            .send()
            .await
            .map_err(|e| TokenError(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(TokenError(format!(
                "the identity endpoint answered {}",
                status.as_u16()
            )));
        }
        let body: TokenResponse = response
            .json()
            .await
            .map_err(|_| TokenError("the identity endpoint's answer is not a token".into()))?;
        if body.access_token.is_empty() {
            return Err(TokenError(
                "the identity endpoint returned an empty token".into(),
            ));
        }
        let now = Instant::now();
        let lifetime = body
            .expires_on
            .as_ref()
            .and_then(lenient_u64)
            .map(|epoch| {
                let now_epoch = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                Duration::from_secs(epoch.saturating_sub(now_epoch))
            })
            .or_else(|| {
                body.expires_in
                    .as_ref()
                    .and_then(lenient_u64)
                    .map(Duration::from_secs)
            });
        // Without a known lifetime the token is used once and never cached.
        let refresh_at = lifetime
            .and_then(|l| l.checked_sub(REFRESH_MARGIN))
            .map(|usable| now + usable);
        tracing::debug!(
            cached = refresh_at.is_some(),
            "telemetry: managed identity token acquired"
        );
        Ok(AccessToken {
            secret: body.access_token,
            refresh_at,
        })
    }
}
