//! Parsing of `APPLICATIONINSIGHTS_CONNECTION_STRING` and `APPLICATIONINSIGHTS_AUTHENTICATION_STRING`
//! the way the official Application Insights SDKs read them. Errors name keys, never values.

use std::fmt;

use reqwest::Url;

use crate::TelemetryError;

/// The documented global ingestion endpoint, used when the connection string names none.
pub const DEFAULT_INGESTION_ENDPOINT: &str = "https://dc.services.visualstudio.com";

/// The documented maximum length of a connection string.
pub(crate) const MAX_CONNECTION_STRING_LEN: usize = 4096;

/// A parsed connection string: the instrumentation key and the ingestion endpoint (no trailing `/`).
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString {
    instrumentation_key: String,
    ingestion_endpoint: Url,
}

impl ConnectionString {
    /// Parses `key=value;key=value` with case-insensitive keys, as the SDKs do:
    /// `IngestionEndpoint` wins; otherwise `EndpointSuffix` (with an optional `Location`) builds
    /// `https://{location.}dc.{suffix}`; otherwise the global default endpoint.
    pub fn parse(input: &str) -> Result<Self, TelemetryError> {
        let bad = |reason: String| TelemetryError::ConnectionString(reason);
        if input.chars().count() > MAX_CONNECTION_STRING_LEN {
            return Err(bad(format!(
                "longer than the documented maximum of {MAX_CONNECTION_STRING_LEN} characters"
            )));
        }
        let pairs = parse_pairs(input).map_err(bad)?;
        let get = |key: &str| lookup(&pairs, key);
        if let Some(auth) = get("Authorization") {
            if !auth.eq_ignore_ascii_case("ikey") {
                return Err(bad(
                    "Authorization must be `ikey` when present (Entra authentication is set with \
                     APPLICATIONINSIGHTS_AUTHENTICATION_STRING)"
                        .into(),
                ));
            }
        }
        let instrumentation_key = get("InstrumentationKey")
            .ok_or_else(|| bad("InstrumentationKey is missing or empty".into()))?
            .to_string();
        if instrumentation_key
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad("InstrumentationKey contains whitespace".into()));
        }
        let endpoint = match (get("IngestionEndpoint"), get("EndpointSuffix")) {
            (Some(explicit), _) => explicit.to_string(),
            (None, Some(suffix)) => {
                let suffix = suffix.trim_matches(|c| c == '.' || c == '/');
                match get("Location") {
                    Some(location) => format!("https://{location}.dc.{suffix}"),
                    None => format!("https://dc.{suffix}"),
                }
            }
            (None, None) => DEFAULT_INGESTION_ENDPOINT.to_string(),
        };
        let ingestion_endpoint = parse_endpoint(&endpoint)
            .map_err(|reason| bad(format!("the ingestion endpoint {reason}")))?;
        Ok(ConnectionString {
            instrumentation_key,
            ingestion_endpoint,
        })
    }

    pub fn instrumentation_key(&self) -> &str {
        &self.instrumentation_key
    }

    /// The ingestion endpoint, e.g. `https://westeurope-5.in.applicationinsights.azure.com`.
    pub fn ingestion_endpoint(&self) -> &Url {
        &self.ingestion_endpoint
    }

    /// `{IngestionEndpoint}/v2.1/track`.
    pub fn track_url(&self) -> Url {
        let base = self.ingestion_endpoint.as_str().trim_end_matches('/');
        // Joining a fixed path onto an already valid http(s) base cannot fail; fall back to the
        // endpoint itself rather than panicking.
        Url::parse(&format!("{base}/v2.1/track"))
            .unwrap_or_else(|_| self.ingestion_endpoint.clone())
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field(
                "instrumentation_key",
                &redact_key(&self.instrumentation_key),
            )
            .field("ingestion_endpoint", &self.ingestion_endpoint.as_str())
            .finish()
    }
}

/// The first 8 characters of a key followed by `…`, for the rare log line that must identify one.
pub(crate) fn redact_key(key: &str) -> String {
    let head: String = key.chars().take(8).collect();
    if head.len() < key.len() {
        format!("{head}…")
    } else {
        "…".to_string()
    }
}

/// How telemetry authenticates, from `APPLICATIONINSIGHTS_AUTHENTICATION_STRING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// No Entra authentication: the instrumentation key in each envelope is enough.
    InstrumentationKey,
    /// `Authorization=AAD`: a managed-identity token for `https://monitor.azure.com/`, from the
    /// system-assigned identity or, with `ClientId=<guid>`, a user-assigned one.
    ManagedIdentity { client_id: Option<String> },
}

impl Authentication {
    /// Parses the authentication string as Azure's SDKs and the Functions host read it. An absent
    /// or empty string means instrumentation-key ingestion.
    pub fn parse(input: Option<&str>) -> Result<Self, TelemetryError> {
        let bad = |reason: String| TelemetryError::AuthenticationString(reason);
        let Some(input) = input.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Authentication::InstrumentationKey);
        };
        let pairs = parse_pairs(input).map_err(bad)?;
        let get = |key: &str| lookup(&pairs, key);
        match get("Authorization") {
            Some(v) if v.eq_ignore_ascii_case("AAD") => {}
            Some(_) => return Err(bad("Authorization must be `AAD`".into())),
            None => return Err(bad("Authorization=AAD is missing".into())),
        }
        let client_id = get("ClientId").map(str::to_string);
        if let Some(id) = &client_id {
            if !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                return Err(bad("ClientId must be a GUID".into()));
            }
        }
        Ok(Authentication::ManagedIdentity { client_id })
    }
}

/// The non-empty value of `key` (case-insensitive) among parsed `key=value` pairs.
fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `;`-separated `key=value` pairs; empty segments (a trailing `;`) are skipped; the value is
/// everything after the first `=`. Keys are trimmed and compared case-insensitively; a key given
/// twice is an error (as in the .NET SDK). The error text never contains a value.
fn parse_pairs(input: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (n, segment) in input.split(';').enumerate() {
        if segment.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = segment.split_once('=') else {
            return Err(format!("segment {} is not a key=value pair", n + 1));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("segment {} has an empty key", n + 1));
        }
        if pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(format!(
                "key `{}` is given more than once",
                printable_key(key)
            ));
        }
        pairs.push((key.to_string(), value.trim().to_string()));
    }
    if pairs.is_empty() {
        return Err("no key=value pairs".into());
    }
    Ok(pairs)
}

/// A key as it may appear in an error: short, and only if it looks like a key.
fn printable_key(key: &str) -> String {
    if key.len() <= 40 && key.chars().all(|c| c.is_ascii_alphanumeric()) {
        key.to_string()
    } else {
        "(unprintable)".to_string()
    }
}

fn parse_endpoint(endpoint: &str) -> Result<Url, String> {
    let url = Url::parse(endpoint).map_err(|e| format!("is not a valid URL ({e})"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("must be an http(s) URL".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not carry a query or fragment".into());
    }
    Ok(url)
}
