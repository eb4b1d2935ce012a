//! Container URLs: `https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX][?SAS]` and the
//! path-style loopback form Azurite uses, `http://127.0.0.1:10000/ACCOUNT/CONTAINER[/PREFIX][?SAS]`.
//! The SAS signature (`sig`) is a secret: `Display` and `Debug` show `sig=REDACTED`, and
//! [`ContainerUrl::scrub`] removes it from any text before that text reaches a message.

use std::fmt;

use url::Url;

use crate::StorageError;

/// A parsed container URL. The SAS, when present, stays inside; only [`ContainerUrl::scrub`]ped
/// or redacted text leaves.
#[derive(Clone)]
pub struct ContainerUrl {
    /// The container's URL with the SAS query, as sent to the service.
    url: Url,
    account: String,
    container: String,
    prefix: String,
    /// The `sig` value as given (percent-encoded) and decoded, for scrubbing.
    sig_forms: Vec<String>,
}

impl ContainerUrl {
    /// Parses a container URL. Accepts `https://ACCOUNT.blob.<cloud suffix>/CONTAINER[/PREFIX]`
    /// and, for a loopback or IP host (Azurite), `http(s)://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX]`;
    /// either may carry a SAS query after `?` (`se=…&sp=rl&sv=…&sr=c&sig=…`, what
    /// `az storage container generate-sas -o tsv` prints).
    pub fn parse(input: &str) -> Result<Self, StorageError> {
        let bad = |reason: &str| StorageError::Url {
            url: redact_sig(input),
            reason: reason.to_string(),
        };
        let url = Url::parse(input.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
        let (path_style, account, rest) = split_account(&url).map_err(&bad)?;
        let container = match rest.first() {
            Some(c) if valid_container_name(c) => c.clone(),
            Some(c) if !c.is_empty() => {
                return Err(bad(
                    "the container name must be 3-63 lowercase letters, digits or '-'",
                ))
            }
            _ => return Err(bad("no container in the path")),
        };
        let sig_forms = sig_forms(&url);
        if url.query().is_some_and(|q| !q.is_empty()) && sig_forms.is_empty() {
            return Err(bad("the query is not a SAS (it has no sig)"));
        }
        let mut container_url = url.clone();
        let base_path = if path_style {
            format!("/{}/{}", enc(&account), enc(&container))
        } else {
            format!("/{}", enc(&container))
        };
        container_url.set_path(&base_path);
        container_url.set_fragment(None);
        Ok(Self {
            url: container_url,
            account,
            container,
            prefix: folder_prefix(&rest[1..]),
            sig_forms,
        })
    }

    /// The storage account's name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The container's name.
    pub fn container(&self) -> &str {
        &self.container
    }

    /// The folder after the container in the URL, as a blob-name prefix ending in `/` (`""`
    /// when none): `…/ledger/archive` lists the blobs `archive/…`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the URL carries a SAS (then no Entra credential is used).
    pub fn has_sas(&self) -> bool {
        !self.sig_forms.is_empty()
    }

    /// The container URL with its SAS, for the SDK only; never print it.
    pub(crate) fn secret_url(&self) -> &Url {
        &self.url
    }

    /// `text` with this URL's SAS signature (in any of its encodings) and any other `sig=`
    /// value replaced by `REDACTED`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = redact_sig(text);
        for form in &self.sig_forms {
            if !form.is_empty() {
                out = out.replace(form.as_str(), "REDACTED");
            }
        }
        out
    }
}

impl fmt::Display for ContainerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.url.clone();
        if !self.prefix.is_empty() {
            let path = format!("{}/{}", shown.path(), self.prefix.trim_end_matches('/'));
            shown.set_path(&path);
        }
        shown.set_query(None);
        let mut text = shown.to_string();
        if self.has_sas() {
            text.push_str("?<SAS sig=REDACTED>");
        }
        f.write_str(&text)
    }
}

impl fmt::Debug for ContainerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContainerUrl")
            .field("url", &self.to_string())
            .field("account", &self.account)
            .field("container", &self.container)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Whether the account is in the path (Azurite), the account, and the path segments after it.
fn split_account(url: &Url) -> Result<(bool, String, Vec<String>), &'static str> {
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("the scheme must be https (or http for Azurite on loopback)");
    }
    let host = url.host_str().ok_or("no host")?;
    let path_style = is_path_style_host(host);
    if url.scheme() == "http" && !path_style {
        return Err("plain http is only for Azurite on loopback; use https");
    }
    let segments: Vec<String> = url
        .path_segments()
        .map(|s| s.map(decode).collect())
        .unwrap_or_default();
    if path_style {
        return match segments.split_first() {
            Some((a, rest)) if !a.is_empty() => Ok((true, a.clone(), rest.to_vec())),
            _ => Err("no account in the path (Azurite: /devstoreaccount1/CONTAINER)"),
        };
    }
    match host.split_once(".blob.") {
        Some((a, _)) if !a.is_empty() => Ok((false, a.to_string(), segments)),
        _ => Err("the host is not ACCOUNT.blob.core.windows.net"),
    }
}

/// The path after the container is a folder: its blobs are `{folder}/…`.
fn folder_prefix(segments: &[String]) -> String {
    let folder: Vec<&str> = segments
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if folder.is_empty() {
        String::new()
    } else {
        format!("{}/", folder.join("/"))
    }
}

/// Azurite and other emulators address accounts by path on a loopback or IP host.
fn is_path_style_host(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[')
}

fn valid_container_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn enc(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, NOT_UNRESERVED).to_string()
}

/// The `sig` value as it appears in the raw query and percent-decoded.
fn sig_forms(url: &Url) -> Vec<String> {
    let mut forms = Vec::new();
    for pair in url.query().unwrap_or("").split('&') {
        if let Some(raw) = pair.strip_prefix("sig=") {
            forms.push(raw.to_string());
            forms.push(decode(raw));
            forms.push(enc(&decode(raw)));
        }
    }
    forms.retain(|f| !f.is_empty());
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

/// Replaces every `sig=VALUE` (case-insensitive key) in `text` by `sig=REDACTED`; the value ends
/// at `&`, whitespace, a quote, `)`, `>` or `;`.
pub(crate) fn redact_sig(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find("sig=") {
        let start = at + found + 4;
        out.push_str(&text[at..start]);
        out.push_str("REDACTED");
        let end = text[start..]
            .find(|c: char| c == '&' || c.is_whitespace() || "\"')>;,".contains(c))
            .map_or(text.len(), |e| start + e);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}
