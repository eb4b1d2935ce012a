//! The Entra path against a real Azurite over https (`--oauth basic`, a test certificate the
//! test's transport trusts): no SAS on the URL, so the chain's managed identity asks a loopback
//! token endpoint (the App Service protocol: IDENTITY_ENDPOINT, IDENTITY_HEADER) and the bearer
//! token reaches the storage requests; Azurite refuses a token for another audience; the token
//! is never in anything the crate shows. One test in its own binary: it sets process env vars.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientOptions, Transport};
use azure_storage_blob::BlobContainerClientOptions;
use base64::Engine;
use chargeback_storage::{ContainerSource, ContainerUrl, SourceOptions, StorageError, LEDGER_STEM};
use common::{fill, ledger_name, Azurite};

/// An unsigned JWT with the claims Azurite's basic OAuth check reads.
fn jwt(audience: &str, marker: &str) -> String {
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let now = chrono::Utc::now().timestamp();
    let claims = format!(
        r#"{{"aud":"{audience}","iss":"https://sts.windows.net/00000000-0000-0000-0000-000000000001/","iat":{},"nbf":{},"exp":{},"oid":"{marker}"}}"#,
        now - 60,
        now - 60,
        now + 3600
    );
    format!(
        "{}.{}.{}",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64(&claims),
        b64("signature")
    )
}

/// A loopback App Service token endpoint; records each request line and identity header.
fn token_endpoint(token: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/msi/token", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                request.push_str(&line);
            }
            log.lock().unwrap().push(request);
            let expires = chrono::Utc::now().timestamp() + 3600;
            let body = format!(
                r#"{{"access_token":"{token}","expires_on":"{expires}","resource":"https://storage.azure.com","token_type":"Bearer"}}"#
            );
            let mut out = stream;
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

/// A self-signed certificate for 127.0.0.1, written as PEM files; and a transport trusting it.
fn certificate(dir: &std::path::Path) -> (String, String, Transport) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_merge([root])
        .build()
        .unwrap();
    let transport = Transport::new(Arc::new(client));
    (
        cert_path.display().to_string(),
        key_path.display().to_string(),
        transport,
    )
}

#[derive(Debug)]
struct Fixed(String);

#[async_trait::async_trait]
impl TokenCredential for Fixed {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let expires =
            azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
        Ok(AccessToken::new(self.0.clone(), expires))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_identity_token_reaches_storage_over_https_and_is_never_shown() {
    if common::azurite_binary().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, transport) = certificate(dir.path());
    let Some(az) = Azurite::start_with(&["--oauth", "basic", "--cert", &cert, "--key", &key])
    else {
        return;
    };
    let client_options = ClientOptions {
        transport: Some(transport.clone()),
        ..Default::default()
    };
    let setup = az.setup_client(
        "ledger",
        Some(BlobContainerClientOptions {
            client_options,
            ..Default::default()
        }),
    );
    let blobs: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| {
            (
                ledger_name(&format!("2026-11-{:02}T08-00-00Z", i + 1), i),
                format!("{{\"n\":{i}}}\n").into_bytes(),
            )
        })
        .collect();
    fill(&setup, &blobs).await;

    let token = jwt("https://storage.azure.com", "token-marker-4f1c");
    let (endpoint, seen) = token_endpoint(token.clone());
    std::env::set_var("IDENTITY_ENDPOINT", &endpoint);
    std::env::set_var("IDENTITY_HEADER", "identity-header-value");
    let url = ContainerUrl::parse(&az.container_url("ledger")).unwrap();
    assert!(!url.has_sas());
    let options = SourceOptions {
        transport: Some(transport.clone()),
        ..Default::default()
    };
    let src = ContainerSource::connect(&url, options).unwrap();
    let outcome = src.fetch(None, LEDGER_STEM).await.unwrap();
    assert_eq!(outcome.blobs.len(), 20, "{:?}", outcome.unreadable);
    assert!(outcome.complete());

    let requests = seen.lock().unwrap().join("\n");
    assert!(
        requests.contains("resource=https%3A%2F%2Fstorage.azure.com"),
        "{requests}"
    );
    assert!(
        requests
            .to_ascii_lowercase()
            .contains("x-identity-header: identity-header-value"),
        "{requests}"
    );
    let shown = format!("{outcome:?} {url} {url:?}");
    assert!(
        !shown.contains(&token) && !shown.contains("token-marker"),
        "{shown}"
    );

    // Azurite checks the token: one for another audience is refused, and the refusal does not
    // quote it.
    let wrong = jwt("https://vault.azure.net", "wrong-marker-9a2b");
    let options = SourceOptions {
        transport: Some(transport),
        credential: Some(Arc::new(Fixed(wrong.clone()))),
        ..Default::default()
    };
    let err = ContainerSource::connect(&url, options)
        .unwrap()
        .list(None, LEDGER_STEM)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::AccessDenied { .. }), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("Storage Blob Data Reader"), "{text}");
    assert!(
        !text.contains(&wrong) && !text.contains("wrong-marker"),
        "{text}"
    );
}
