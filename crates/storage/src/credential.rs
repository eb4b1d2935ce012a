//! The short Entra credential chain (azure_identity 1.x has no default chain). In order:
//! 1. managed identity, when the process runs where Azure sets `IDENTITY_ENDPOINT` (App Service,
//!    Functions, Container Apps) or `MSI_ENDPOINT` (Cloud Shell);
//! 2. the developer tools: the Azure CLI (`az login`), then the Azure Developer CLI
//!    (`azd auth login`).
//!
//! On an Azure VM, `az login --identity` makes step 2 use the VM's identity. When no step gives a
//! token the caller sees [`crate::StorageError::Credential`], which ends with the fix
//! (`az login`, or a SAS on the URL).

use std::sync::Arc;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::http::ClientOptions;
use azure_identity::{
    DeveloperToolsCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
};

/// The order tried, as documented in `docs/blob-ledger.md`.
pub const CREDENTIAL_ORDER: &[&str] = &[
    "managed identity (when IDENTITY_ENDPOINT or MSI_ENDPOINT is set)",
    "Azure CLI (az login)",
    "Azure Developer CLI (azd auth login)",
];

struct Chain {
    sources: Vec<(&'static str, Arc<dyn TokenCredential>)>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.sources.iter().map(|(n, _)| *n).collect();
        f.debug_struct("Chain").field("sources", &names).finish()
    }
}

#[async_trait::async_trait]
impl TokenCredential for Chain {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let mut failures = Vec::new();
        for (name, source) in &self.sources {
            match source.get_token(scopes, options.clone()).await {
                Ok(token) => return Ok(token),
                Err(e) => failures.push(format!("{name}: {}", one_line(&e.to_string()))),
            }
        }
        Err(azure_core::Error::with_message(
            ErrorKind::Credential,
            failures.join("; "),
        ))
    }
}

/// A multi-line SDK message (the developer tools list one failure per line) on one line.
fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join(" ")
}

/// Builds the chain. `client_options` is used for the managed-identity requests (tests give it
/// a transport); the developer tools run as processes.
pub fn entra_credential(
    client_options: ClientOptions,
) -> azure_core::Result<Arc<dyn TokenCredential>> {
    let mut sources: Vec<(&'static str, Arc<dyn TokenCredential>)> = Vec::new();
    let in_azure = std::env::var_os("IDENTITY_ENDPOINT").is_some()
        || std::env::var_os("MSI_ENDPOINT").is_some();
    if in_azure {
        let mi = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            client_options,
            ..Default::default()
        }))?;
        sources.push(("managed identity", mi));
    }
    sources.push(("developer tools", DeveloperToolsCredential::new(None)?));
    Ok(Arc::new(Chain { sources }))
}
