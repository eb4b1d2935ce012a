//! Errors of the blob sources. Every message is built from scrubbed text: no SAS signature, no
//! token, no connection string.

/// Why a container could not be listed (a blob that cannot be read is not an error: it is
/// reported in [`crate::ReadOutcome::unreadable`]).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{url}: not a container URL: {reason}")]
    Url { url: String, reason: String },
    #[error("container {container} not found at {account}")]
    ContainerNotFound { container: String, account: String },
    #[error("access to container {container} at {account} denied ({detail}); {hint}")]
    AccessDenied {
        container: String,
        account: String,
        detail: String,
        hint: &'static str,
    },
    #[error("no Entra credential worked for {account}: {detail}; sign in with `az login` (or put a SAS on the container URL)")]
    Credential { account: String, detail: String },
    #[error("listing container {container} at {account} failed: {detail}")]
    Service {
        container: String,
        account: String,
        detail: String,
    },
    #[error("listing window: {0}")]
    Window(String),
    #[error("cannot start the storage runtime: {0}")]
    Runtime(String),
}

/// The hint for a 403 with a SAS.
pub(crate) const SAS_HINT: &str =
    "the SAS is wrong, expired, or lacks read and list permissions (sp=rl)";
/// The hint for a 403 with Entra.
pub(crate) const ENTRA_HINT: &str =
    "the signed-in identity needs the Storage Blob Data Reader role on the container or account";
