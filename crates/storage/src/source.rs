//! A container as a source of blobs: listing (whole prefix, or one prefix per day of a
//! [`ListWindow`]) and downloading with a bounded number in flight, results in blob-name order,
//! each blob either read whole or reported by name in [`ReadOutcome::unreadable`].

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::{ClientOptions, StatusCode, Transport};
use azure_storage_blob::models::{BlobClientDownloadOptions, BlobContainerClientListBlobsOptions};
use azure_storage_blob::{BlobContainerClient, BlobContainerClientOptions};
use futures::{StreamExt, TryStreamExt};

use crate::error::{ENTRA_HINT, SAS_HINT};
use crate::{entra_credential, ContainerUrl, ListWindow, Progress, StorageError};

/// Blobs downloaded at once unless [`SourceOptions::concurrency`] says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// How a source connects and reads.
#[derive(Clone)]
pub struct SourceOptions {
    /// Blobs in flight at once (at least 1).
    pub concurrency: usize,
    /// Called after each blob is read or reported.
    pub progress: Option<Progress>,
    /// The HTTP transport for storage and managed-identity requests (default: the SDK's reqwest
    /// client). Tests pass one that trusts their certificate.
    pub transport: Option<Transport>,
    /// An Entra credential to use instead of the chain (ignored when the URL has a SAS).
    pub credential: Option<Arc<dyn TokenCredential>>,
}

impl Default for SourceOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            progress: None,
            transport: None,
            credential: None,
        }
    }
}

/// One blob read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A blob that was listed but could not be read: nothing of it was handed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub name: String,
    /// Why, scrubbed (status and service error code, or the transport's message).
    pub reason: String,
}

/// The result of reading: blobs in name order, and the ones that could not be read.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    pub blobs: Vec<Blob>,
    pub unreadable: Vec<Unreadable>,
}

impl ReadOutcome {
    /// True when every listed blob was read (the caller's exit status says otherwise).
    pub fn complete(&self) -> bool {
        self.unreadable.is_empty()
    }
}

/// A container to list and read.
pub struct ContainerSource {
    url: ContainerUrl,
    client: BlobContainerClient,
    options: SourceOptions,
}

impl ContainerSource {
    /// A source for `url`: the SAS when the URL has one, otherwise Entra (the chain of
    /// [`crate::CREDENTIAL_ORDER`], or `options.credential`). No request is sent yet.
    pub fn connect(url: &ContainerUrl, options: SourceOptions) -> Result<Self, StorageError> {
        let client_options = ClientOptions {
            transport: options.transport.clone(),
            ..Default::default()
        };
        if !url.has_sas() && url.secret_url().scheme() == "http" {
            return Err(StorageError::Url {
                url: url.to_string(),
                reason:
                    "Entra tokens are only sent over https; add a SAS to a plain-http (Azurite) URL"
                        .into(),
            });
        }
        let credential = if url.has_sas() {
            None
        } else {
            match &options.credential {
                Some(c) => Some(c.clone()),
                None => Some(entra_credential(client_options.clone()).map_err(|e| {
                    StorageError::Credential {
                        account: url.account().to_string(),
                        detail: url.scrub(&e.to_string()),
                    }
                })?),
            }
        };
        let client = BlobContainerClient::new(
            url.secret_url().clone(),
            credential,
            Some(BlobContainerClientOptions {
                client_options,
                ..Default::default()
            }),
        )
        .map_err(|e| StorageError::Url {
            url: url.to_string(),
            reason: url.scrub(&e.to_string()),
        })?;
        Ok(Self {
            url: url.clone(),
            client,
            options,
        })
    }

    /// The container's URL (shown without its SAS).
    pub fn url(&self) -> &ContainerUrl {
        &self.url
    }

    /// Lists blob names under the URL's prefix, or only those of `window`'s days (blob names
    /// `{prefix}{stem}yyyy-MM-dd…`), sorted by name. An empty container gives an empty list.
    pub async fn list(
        &self,
        window: Option<&ListWindow>,
        stem: &str,
    ) -> Result<Vec<String>, StorageError> {
        let prefixes = match window {
            Some(w) => w.day_prefixes(self.url.prefix(), stem),
            None => vec![self.url.prefix().to_string()],
        };
        let per_prefix = futures::stream::iter(prefixes)
            .map(|p| self.list_prefix(p))
            .buffered(self.options.concurrency.max(1));
        let lists: Vec<Vec<String>> = per_prefix.try_collect().await?;
        let mut names: Vec<String> = lists.into_iter().flatten().collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn list_prefix(&self, prefix: String) -> Result<Vec<String>, StorageError> {
        let options = BlobContainerClientListBlobsOptions {
            prefix: (!prefix.is_empty()).then_some(prefix),
            ..Default::default()
        };
        let mut pager = self
            .client
            .list_blobs(Some(options))
            .map_err(|e| self.listing_error(&e))?;
        let mut names = Vec::new();
        while let Some(item) = pager.try_next().await.map_err(|e| self.listing_error(&e))? {
            if let Some(name) = item.name {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// Downloads `names` with at most `concurrency` in flight; the outcome keeps their order.
    pub async fn read(&self, names: &[String]) -> ReadOutcome {
        let mut outcome = ReadOutcome::default();
        self.read_each(names, |got| match got {
            Ok(blob) => outcome.blobs.push(blob),
            Err(unreadable) => outcome.unreadable.push(unreadable),
        })
        .await;
        outcome
    }

    /// Downloads `names` with at most `concurrency` in flight and hands each to `each` as soon
    /// as it and every blob before it are done, in the order of `names`: each blob whole, or
    /// its [`Unreadable`] reason. Only the blobs in flight are held in memory.
    pub async fn read_each(
        &self,
        names: &[String],
        mut each: impl FnMut(Result<Blob, Unreadable>),
    ) {
        let total = names.len();
        let progress = self.options.progress.clone();
        if let Some(p) = &progress {
            p(0, total);
        }
        let mut results = futures::stream::iter(names.iter().cloned())
            .map(|name| async move {
                let got = self.download(&name).await;
                (name, got)
            })
            .buffered(self.options.concurrency.max(1));
        let mut done = 0usize;
        while let Some((name, got)) = results.next().await {
            each(match got {
                Ok(bytes) => Ok(Blob { name, bytes }),
                Err(reason) => Err(Unreadable { name, reason }),
            });
            done += 1;
            if let Some(p) = &progress {
                p(done, total);
            }
        }
    }

    async fn download(&self, name: &str) -> Result<Vec<u8>, String> {
        let blob = self.client.blob_client(name);
        let options = BlobClientDownloadOptions {
            parallel: std::num::NonZero::new(1),
            ..Default::default()
        };
        let result = blob
            .download(Some(options))
            .await
            .map_err(|e| self.reason(&e))?;
        let bytes = result.body.collect().await.map_err(|e| self.reason(&e))?;
        Ok(bytes.to_vec())
    }

    /// Lists (see [`ContainerSource::list`]) and reads everything listed.
    pub async fn fetch(
        &self,
        window: Option<&ListWindow>,
        stem: &str,
    ) -> Result<ReadOutcome, StorageError> {
        let names = self.list(window, stem).await?;
        Ok(self.read(&names).await)
    }

    /// A per-blob reason: the status and service error code, or the scrubbed message.
    fn reason(&self, e: &azure_core::Error) -> String {
        match e.kind() {
            ErrorKind::HttpResponse {
                status, error_code, ..
            } => {
                let code = error_code.as_deref().unwrap_or("");
                let what = match *status {
                    StatusCode::NotFound => "gone (deleted after listing?)",
                    StatusCode::Forbidden => "access denied",
                    _ => "service error",
                };
                self.url
                    .scrub(&format!("{what}: HTTP {} {code}", u16::from(*status)))
            }
            _ => self.url.scrub(&chain_text(e)),
        }
    }

    fn listing_error(&self, e: &azure_core::Error) -> StorageError {
        let container = self.url.container().to_string();
        let account = self.url.account().to_string();
        match e.kind() {
            ErrorKind::HttpResponse { status, .. } if *status == StatusCode::NotFound => {
                StorageError::ContainerNotFound { container, account }
            }
            ErrorKind::HttpResponse { status, .. }
                if *status == StatusCode::Forbidden || *status == StatusCode::Unauthorized =>
            {
                StorageError::AccessDenied {
                    container,
                    account,
                    detail: self.reason(e),
                    hint: if self.url.has_sas() {
                        SAS_HINT
                    } else {
                        ENTRA_HINT
                    },
                }
            }
            ErrorKind::Credential => StorageError::Credential {
                account,
                detail: self.url.scrub(&chain_text(e)),
            },
            _ => StorageError::Service {
                container,
                account,
                detail: self.reason(e),
            },
        }
    }
}

/// The error and its sources, one line.
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text.replace('\n', " ")
}

/// Lists and reads on a runtime of its own, for a synchronous caller (the CLI). Must not be
/// called from inside a tokio runtime (use [`ContainerSource::fetch`] there).
pub fn fetch_blocking(
    url: &ContainerUrl,
    window: Option<&ListWindow>,
    stem: &str,
    options: SourceOptions,
) -> Result<ReadOutcome, StorageError> {
    let mut outcome = ReadOutcome::default();
    fetch_each_blocking(url, window, stem, options, |got| match got {
        Ok(blob) => outcome.blobs.push(blob),
        Err(unreadable) => outcome.unreadable.push(unreadable),
    })?;
    Ok(outcome)
}

/// Lists (the window and stem of [`ContainerSource::list`]) and hands each blob to `each` in
/// name order as [`ContainerSource::read_each`] does, on a runtime of its own, for a
/// synchronous caller: only the blobs in flight are held in memory. Returns how many blobs were
/// listed. Must not be called from inside a tokio runtime.
pub fn fetch_each_blocking(
    url: &ContainerUrl,
    window: Option<&ListWindow>,
    stem: &str,
    options: SourceOptions,
    each: impl FnMut(Result<Blob, Unreadable>),
) -> Result<usize, StorageError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| StorageError::Runtime(e.to_string()))?;
    runtime.block_on(async {
        let source = ContainerSource::connect(url, options)?;
        let names = source.list(window, stem).await?;
        source.read_each(&names, each).await;
        Ok(names.len())
    })
}
