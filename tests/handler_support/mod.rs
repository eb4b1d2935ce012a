//! Shared harness for the `handler_*` integration tests: the REAL `chargeback` binary as a child
//! process, the fake Application Insights ingestion and managed-identity servers of
//! [`fakes`] on loopback, and host request bodies built from `samples/`.
//!
//! No sleeps for timing: the fakes announce every request through a `Notify`, tests wait on
//! conditions with a bounded timeout, and readiness is a bounded poll of `GET /`.

#![allow(dead_code)]

#[path = "../fakes/mod.rs"]
pub mod fakes;

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub use fakes::{Identity, Ingestion, Reply, WAIT};
use serde_json::{json, Value};

/// The instrumentation key of the test connection string.
pub const IKEY: &str = "5c0ffee0-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
/// The `IDENTITY_HEADER` secret the handler must send to the identity endpoint and nowhere else.
pub const IDENTITY_HEADER: &str = "planted-identity-header-Q7v9Xk2";

// ------------------------------------------------------------------ the real binary

/// The settings that point the handler at the fakes, Entra auth on, short budgets.
pub fn telemetry_env(ingestion: &str, identity: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            format!("InstrumentationKey={IKEY};IngestionEndpoint={ingestion}/"),
        ),
        (
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
            "Authorization=AAD".into(),
        ),
        ("IDENTITY_ENDPOINT", identity.to_string()),
        ("IDENTITY_HEADER", IDENTITY_HEADER.to_string()),
        ("CHARGEBACK_TELEMETRY_DEADLINE_SECS", "10".into()),
        ("CHARGEBACK_TELEMETRY_RETRY_BASE_MS", "20".into()),
        ("WEBSITE_SITE_NAME", "chargeback-func".into()),
        ("WEBSITE_INSTANCE_ID", "instance-7".into()),
    ]
}

/// Settings every child gets unless the test says otherwise.
const CLEARED: [&str; 11] = [
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "CHARGEBACK_TELEMETRY_DEADLINE_SECS",
    "CHARGEBACK_TELEMETRY_RETRY_BASE_MS",
    "CHARGEBACK_DRAIN_SECS",
    "CHARGEBACK_HEADER_TIMEOUT_SECS",
    "CHARGEBACK_BODY_TIMEOUT_SECS",
    "CHARGEBACK_PRICE_SHEET",
    "CHARGEBACK_DEPLOYMENT_MODELS",
];

/// Output files of a child process.
pub struct Outputs {
    pub dir: tempfile::TempDir,
}

impl Outputs {
    pub fn new() -> Outputs {
        Outputs {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

fn base_command(env: &[(&'static str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chargeback"));
    for k in CLEARED {
        cmd.env_remove(k);
    }
    cmd.env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// `chargeback serve` as a child process.
pub struct Handler {
    child: Child,
    pub port: u16,
    pub out: Outputs,
    http: reqwest::Client,
}

impl Handler {
    /// Starts `chargeback serve` on a free loopback port and waits until `GET /` answers.
    pub async fn start(env: &[(&'static str, String)]) -> Handler {
        Handler::start_with(env, &[]).await
    }

    /// [`Handler::start`] with extra `serve` arguments.
    pub async fn start_with(env: &[(&'static str, String)], args: &[&str]) -> Handler {
        let port = free_port();
        let out = Outputs::new();
        let child = base_command(env)
            .arg("serve")
            .args(args)
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(out.path("stdout")).unwrap())
            .stderr(std::fs::File::create(out.path("stderr")).unwrap())
            .spawn()
            .expect("the chargeback binary starts");
        let mut handler = Handler {
            child,
            port,
            out,
            http: reqwest::Client::new(),
        };
        handler.wait_ready().await;
        handler
    }

    async fn wait_ready(&mut self) {
        let until = Instant::now() + WAIT;
        loop {
            if self.get_ready().await.is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the handler exited with {status}: {}", self.stderr());
            }
            assert!(
                Instant::now() < until,
                "the handler never answered GET /: {}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `GET /`.
    pub async fn get_ready(&self) -> Result<Value, reqwest::Error> {
        Self::ready_with(&self.http, self.port).await
    }

    /// `GET /` on a connection of its own. The shared client keeps its earlier connection open,
    /// and a server with a short header timeout closes that idle keep-alive connection when the
    /// timeout runs out: a request sent on it just then fails with `IncompleteMessage`.
    pub async fn get_ready_on_a_new_connection(&self) -> Result<Value, reqwest::Error> {
        Self::ready_with(&reqwest::Client::new(), self.port).await
    }

    async fn ready_with(http: &reqwest::Client, port: u16) -> Result<Value, reqwest::Error> {
        http.get(format!("http://127.0.0.1:{port}/"))
            .timeout(Duration::from_secs(5))
            .send()
            .await?
            .json()
            .await
    }

    /// Posts an invocation and returns the status and the JSON body.
    pub async fn invoke(&self, body: &Value, invocation_id: &str) -> (u16, Value) {
        invoke_at(&self.http, self.port, body, invocation_id).await
    }

    /// A future posting an invocation, for running alongside other steps.
    pub fn invoke_later(
        &self,
        body: Value,
        invocation_id: &str,
    ) -> tokio::task::JoinHandle<(u16, Value)> {
        let (http, port, id) = (self.http.clone(), self.port, invocation_id.to_string());
        tokio::spawn(async move { invoke_at(&http, port, &body, &id).await })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM to the child (with `kill`, no libc).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (bounded) for the child to exit.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let until = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < until,
                "the handler did not exit within {within:?}: {}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn stderr(&self) -> String {
        self.out.read("stderr")
    }

    pub fn stdout(&self) -> String {
        self.out.read("stdout")
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

async fn invoke_at(
    http: &reqwest::Client,
    port: u16,
    body: &Value,
    invocation_id: &str,
) -> (u16, Value) {
    let response = http
        .post(format!("http://127.0.0.1:{port}/ChargebackEventHubTrigger"))
        .header("content-type", "application/json; charset=utf-8")
        .header("x-azure-functions-invocationid", invocation_id)
        .body(body.to_string())
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("the handler answers the invocation");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a complete response body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the response is not JSON ({e}): {text:?}"));
    (status, value)
}

/// The result of a one-shot CLI run.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `chargeback ARGS…` to completion on a blocking thread (so the fakes keep serving).
pub async fn run_cli(args: Vec<String>, env: Vec<(&'static str, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let out = base_command(&env)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("the chargeback binary runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .expect("the CLI run finishes")
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

// ------------------------------------------------------------------ invocations

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The JSON lines of `samples/{name}.jsonl`.
pub fn sample(name: &str) -> Vec<String> {
    std::fs::read_to_string(repo().join("samples").join(format!("{name}.jsonl")))
        .expect("a sample file")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// `n` billable chat completions (the sample, each with its own requestId `req-{tag}-{i}`).
pub fn chat_events(tag: &str, n: usize) -> Vec<String> {
    let template: Value = serde_json::from_str(&sample("chat-completion")[0]).unwrap();
    (0..n)
        .map(|i| {
            let mut e = template.clone();
            e["requestId"] = json!(request_id(tag, i));
            e.to_string()
        })
        .collect()
}

pub fn request_id(tag: &str, i: usize) -> String {
    format!("req-{tag}-{i:03}")
}

/// A host request body (`cardinality: many`, `dataType: string`): `Data.events` is a JSON string
/// holding a JSON array of the raw event strings. `retry`: `(RetryCount, MaxRetryCount)`.
pub fn invocation(events: &[String], retry: Option<(i64, i64)>) -> Value {
    let seqs: Vec<i64> = (0..events.len() as i64).map(|i| 1000 + i).collect();
    let mut metadata = json!({
        "PartitionContext": {
            "FullyQualifiedNamespace": "contoso-ehns.servicebus.windows.net",
            "EventHubName": "apim-logs",
            "ConsumerGroup": "chargeback",
            "PartitionId": "3"
        },
        "SequenceNumberArray": serde_json::to_string(&seqs).unwrap(),
        "sys": {"MethodName": "ChargebackEventHubTrigger", "UtcNow": "2026-11-02T09:40:00Z"}
    });
    if let Some((count, max)) = retry {
        metadata["RetryContext"] = json!({"RetryCount": count, "MaxRetryCount": max});
    }
    json!({
        "Data": {"events": serde_json::to_string(events).unwrap()},
        "Metadata": metadata,
    })
}

/// The ledger rows of a 200 response (`Outputs.usage`, JSON lines).
pub fn ledger(response: &Value) -> Vec<Value> {
    response["Outputs"]["usage"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a ledger line is JSON"))
        .collect()
}

/// `requestId`s of ledger rows.
pub fn ids_of(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["requestId"].as_str().unwrap().to_string())
        .collect()
}

/// Ledger rows marked `telemetryUndelivered: true`.
pub fn marked(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .filter(|r| r["telemetryUndelivered"] == json!(true))
        .map(|r| r["requestId"].as_str().unwrap().to_string())
        .collect()
}

/// The `Logs` of a response, joined.
pub fn logs(response: &Value) -> String {
    response["Logs"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
