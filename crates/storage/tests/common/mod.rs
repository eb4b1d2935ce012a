//! Test harness: a real Azurite (npm `azurite`) on loopback with a temporary directory and a free
//! port, stopped when dropped; account SAS signing with Azurite's well-known development key
//! (setup only — the crate itself takes Entra or a SAS, never a shared key); blob upload through
//! the SDK.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use azure_core::http::{RequestContent, Url};
use azure_storage_blob::BlobContainerClient;
use base64::Engine;
use hmac::{Hmac, Mac};

pub const ACCOUNT: &str = "devstoreaccount1";
/// Azurite's published development key (not a secret).
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite blob service; killed on drop.
pub struct Azurite {
    child: Child,
    pub port: u16,
    pub scheme: &'static str,
    _dir: tempfile::TempDir,
}

/// `Some(path)` of `azurite-blob`, or `None` after printing why the test is skipped; under
/// `CI=true` a missing Azurite fails the test.
pub fn azurite_binary() -> Option<String> {
    let found = Command::new("azurite-blob")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some("azurite-blob".into());
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        !ci,
        "CI=true but azurite-blob is not on PATH (npm install -g azurite)"
    );
    eprintln!("skipped: azurite-blob not on PATH (npm install -g azurite)");
    None
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    l.local_addr().expect("its address").port()
}

impl Azurite {
    /// Starts Azurite over http, or `None` when it is not installed (see [`azurite_binary`]).
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    /// Starts Azurite with extra arguments (`--oauth basic --cert … --key …` for https).
    pub fn start_with(extra: &[&str]) -> Option<Self> {
        let bin = azurite_binary()?;
        let dir = tempfile::tempdir().expect("a temp dir");
        let port = free_port();
        let child = Command::new(bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(dir.path())
            .args([
                "--silent",
                "--skipApiVersionCheck",
                "--disableProductStyleUrl",
                "--disableTelemetry",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("azurite-blob starts");
        let scheme = if extra.contains(&"--cert") {
            "https"
        } else {
            "http"
        };
        let azurite = Self {
            child,
            port,
            scheme,
            _dir: dir,
        };
        azurite.wait_listening();
        Some(azurite)
    }

    fn wait_listening(&self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Azurite did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `SCHEME://127.0.0.1:PORT/devstoreaccount1/CONTAINER`.
    pub fn container_url(&self, container: &str) -> String {
        format!(
            "{}://127.0.0.1:{}/{ACCOUNT}/{container}",
            self.scheme, self.port
        )
    }

    /// The container URL with a fresh account SAS (read, write, delete, list, create).
    pub fn sas_url(&self, container: &str) -> String {
        format!(
            "{}?{}",
            self.container_url(container),
            account_sas("rwdlac")
        )
    }

    /// A container client for setup, authorized by an account SAS.
    pub fn setup_client(
        &self,
        container: &str,
        options: Option<azure_storage_blob::BlobContainerClientOptions>,
    ) -> BlobContainerClient {
        let url = Url::parse(&self.sas_url(container)).expect("a URL");
        BlobContainerClient::new(url, None, options).expect("a client")
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An account SAS (blob service; service, container and object resources) signed with the
/// development key, valid for a day.
pub fn account_sas(permissions: &str) -> String {
    let expiry = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let version = "2021-08-06";
    let to_sign = [
        ACCOUNT,
        permissions,
        "b",
        "sco",
        "",
        &expiry,
        "",
        "https,http",
        version,
        "",
        "",
    ]
    .join("\n");
    let key = base64::engine::general_purpose::STANDARD
        .decode(DEV_KEY)
        .expect("the dev key is base64");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(to_sign.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "sv={version}&ss=b&srt=sco&sp={permissions}&se={}&spr=https,http&sig={}",
        enc(&expiry),
        enc(&sig)
    )
}

/// Creates the container and uploads `blobs` (name, bytes), 16 at a time.
pub async fn fill(client: &BlobContainerClient, blobs: &[(String, Vec<u8>)]) {
    client.create(None).await.expect("container created");
    use futures::StreamExt;
    futures::stream::iter(blobs)
        .for_each_concurrent(16, |(name, bytes)| async move {
            client
                .blob_client(name)
                .upload(RequestContent::from(bytes.clone()), None)
                .await
                .unwrap_or_else(|e| panic!("upload {name}: {e}"));
        })
        .await;
}

/// A ledger-like blob name for an invocation at `yyyy-MM-ddTHH-mm-ssZ`.
pub fn ledger_name(time: &str, n: usize) -> String {
    format!("usage-{time}-{n:08x}-0000-4000-8000-000000000000.jsonl")
}

pub fn read_to_string(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A transport over the SDK's default reqwest client that records the most requests in flight.
pub fn counting_transport(
    now: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    max: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> azure_core::http::Transport {
    use std::sync::atomic::Ordering;
    #[derive(Debug)]
    struct Counting {
        inner: std::sync::Arc<dyn azure_core::http::HttpClient>,
        now: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        max: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }
    #[async_trait::async_trait]
    impl azure_core::http::HttpClient for Counting {
        async fn execute_request(
            &self,
            request: &azure_core::http::Request,
        ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(n, Ordering::SeqCst);
            let r = self.inner.execute_request(request).await;
            // the body is read after this returns; counting headers-in-flight is what the bound limits
            self.now.fetch_sub(1, Ordering::SeqCst);
            r
        }
    }
    let inner = azure_core::http::new_http_client(None);
    azure_core::http::Transport::new(std::sync::Arc::new(Counting { inner, now, max }))
}
