//! Blob container sources for aoai-chargeback: the ledger (usage JSON-lines blobs) and Event Hubs
//! Capture files, listed and downloaded through Microsoft's Azure SDK for Rust.
//!
//! Layout:
//! - `container_url` — [`ContainerUrl`]: parsing a container URL (Azure or Azurite, optional blob
//!   name prefix, optional SAS) and keeping the SAS signature out of every text it shows.
//! - `credential` — the short Entra chain (managed identity in Azure, az CLI / azd on a laptop).
//! - `window` — [`ListWindow`]: which blob-name prefixes a period or a since/until range lists.
//! - `source` — [`ContainerSource`]: listing and the bounded, ordered, all-or-reported download
//!   ([`fetch_each_blocking`] hands each blob on as it arrives, for the CLI).
//! - `progress` — [`terminal_progress`]: an indicatif bar when stderr is a terminal.
//! - `error` — [`StorageError`], every message free of SAS signatures and tokens.
//!
//! The crate returns bytes; parsing them (ledger lines, Capture Avro) is the caller's.

mod container_url;
mod credential;
mod error;
mod progress;
mod source;
mod window;

pub use container_url::ContainerUrl;
pub use credential::{entra_credential, CREDENTIAL_ORDER};
pub use error::StorageError;
pub use progress::{terminal_progress, Progress};
pub use source::{
    fetch_blocking, fetch_each_blocking, Blob, ContainerSource, ReadOutcome, SourceOptions,
    Unreadable, DEFAULT_CONCURRENCY,
};
pub use window::{ListWindow, BACKLOG_DAYS, LEDGER_STEM};
