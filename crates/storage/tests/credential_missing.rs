//! With no SAS on the URL and no Entra credential available (no managed-identity endpoint, no
//! `az`/`azd` on PATH), listing fails with the fix in the message: `az login`. Its own binary:
//! it clears process env vars.

use chargeback_storage::{ContainerSource, ContainerUrl, SourceOptions, StorageError, LEDGER_STEM};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_any_credential_the_error_says_to_run_az_login() {
    for var in [
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "MSI_ENDPOINT",
        "MSI_SECRET",
    ] {
        std::env::remove_var(var);
    }
    let empty = tempfile::tempdir().unwrap();
    std::env::set_var("PATH", empty.path());
    // Nothing listens on port 9 of loopback; the token is asked for before any connection.
    let url =
        ContainerUrl::parse("https://127.0.0.1:9/devstoreaccount1/chargeback-ledger").unwrap();
    let src = ContainerSource::connect(&url, SourceOptions::default()).unwrap();
    let err = src.list(None, LEDGER_STEM).await.unwrap_err();
    assert!(matches!(err, StorageError::Credential { .. }), "{err:?}");
    let text = err.to_string();
    eprintln!("the user sees: {text}");
    assert!(
        text.contains("az login") && text.contains("devstoreaccount1"),
        "{text}"
    );
}
