//! Shared harness for the `handler_*` integration tests: the REAL `chargeback` binary as a child
//! process, a fake Application Insights ingestion server and a fake managed-identity endpoint on
//! loopback, and host request bodies built from `samples/`.
//!
//! No sleeps for timing: the fakes announce every request through a `Notify`, tests wait on
//! conditions with a bounded timeout, and readiness is a bounded poll of `GET /`.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::Read;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};

/// The instrumentation key of the test connection string.
pub const IKEY: &str = "5c0ffee0-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
/// The `IDENTITY_HEADER` secret the handler must send to the identity endpoint and nowhere else.
pub const IDENTITY_HEADER: &str = "planted-identity-header-Q7v9Xk2";
/// How long any wait in these tests may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------ fake ingestion

/// What the fake ingestion answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 accepting every item.
    Accept,
    /// A bare status with extra headers (e.g. `Retry-After`).
    Status(u16, Vec<(&'static str, String)>),
    /// 206 failing these `(index, statusCode)` items.
    Partial(Vec<(usize, u16)>),
    /// 307 to this absolute URL.
    Redirect(String),
    /// Hold the request until [`Ingestion::release`], then accept every item.
    HoldThenAccept,
    /// Hold the request forever (the client gives up).
    HoldForever,
}

/// One request the fake ingestion received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub gzipped: bool,
    /// The body after gunzip.
    pub text: String,
    pub items: Vec<Value>,
}

impl Seen {
    /// `TokenInfoId` (= requestId) of every item, in order.
    pub fn token_info_ids(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|i| {
                i["data"]["baseData"]["properties"]["TokenInfoId"]
                    .as_str()
                    .expect("every item has a TokenInfoId")
                    .to_string()
            })
            .collect()
    }
}

#[derive(Default)]
struct IngestionState {
    script: VecDeque<Reply>,
    fallback: Option<Reply>,
    /// Answer 401 to exactly this Authorization header value.
    reject_authorization: Option<String>,
    seen: Vec<Seen>,
}

/// A fake `/v2.1/track` endpoint.
#[derive(Clone)]
pub struct Ingestion {
    state: Arc<Mutex<IngestionState>>,
    notify: Arc<Notify>,
    released: watch::Sender<bool>,
}

impl Ingestion {
    /// Answers the `script` in order, then `fallback` for every further request.
    pub fn new(script: Vec<Reply>, fallback: Reply) -> Ingestion {
        let state = IngestionState {
            script: script.into(),
            fallback: Some(fallback),
            ..IngestionState::default()
        };
        Ingestion {
            state: Arc::new(Mutex::new(state)),
            notify: Arc::new(Notify::new()),
            released: watch::Sender::new(false),
        }
    }

    pub fn accepting() -> Ingestion {
        Ingestion::new(vec![], Reply::Accept)
    }

    pub fn reject_authorization(&self, value: &str) {
        self.state.lock().unwrap().reject_authorization = Some(value.to_string());
    }

    /// Lets every held request (and any later one) go on.
    pub fn release(&self) {
        self.released.send_replace(true);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Waits until at least `n` requests have arrived.
    pub async fn wait_for_requests(&self, n: usize) -> Vec<Seen> {
        let until = Instant::now() + WAIT;
        loop {
            let notified = self.notify.notified();
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            let left = until.saturating_duration_since(Instant::now());
            tokio::time::timeout(left, notified)
                .await
                .unwrap_or_else(|_| panic!("expected {n} ingestion requests, saw {}", seen.len()));
        }
    }

    /// Serves on 127.0.0.1 (or `ip`) and returns the base URL.
    pub async fn start(&self) -> String {
        self.start_on("127.0.0.1").await
    }

    pub async fn start_on(&self, ip: &str) -> String {
        let app = Router::new().fallback(track).with_state(self.clone());
        serve(app, ip).await
    }
}

async fn track(State(f): State<Ingestion>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let gzipped = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes() == b"gzip");
    let raw = if gzipped {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .expect("a gzip body");
        out
    } else {
        body.to_vec()
    };
    let text = String::from_utf8(raw).expect("a UTF-8 body");
    let items: Vec<Value> = serde_json::from_str(&text).expect("a JSON array of envelopes");
    let n = items.len();
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or_default().to_string())
    };
    let authorization = header("authorization");
    let reply = {
        let mut s = f.state.lock().unwrap();
        s.seen.push(Seen {
            at: Instant::now(),
            path: uri.path().to_string(),
            authorization: authorization.clone(),
            content_type: header("content-type"),
            gzipped,
            text,
            items,
        });
        if s.reject_authorization.is_some() && s.reject_authorization == authorization {
            None
        } else {
            Some(
                s.script
                    .pop_front()
                    .or_else(|| s.fallback.clone())
                    .unwrap_or(Reply::Accept),
            )
        }
    };
    f.notify.notify_waiters();
    let accept_all = move || {
        (
            StatusCode::OK,
            json!({"itemsReceived": n, "itemsAccepted": n, "errors": []}).to_string(),
        )
            .into_response()
    };
    let Some(reply) = reply else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match reply {
        Reply::Accept => accept_all(),
        Reply::Status(status, extra) => {
            let mut b = Response::builder().status(status);
            for (k, v) in extra {
                b = b.header(k, v);
            }
            b.body(axum::body::Body::empty()).unwrap()
        }
        Reply::Partial(errors) => {
            let errs: Vec<Value> = errors
                .iter()
                .map(|(i, s)| json!({"index": i, "statusCode": s, "message": "scripted"}))
                .collect();
            let body = json!({"itemsReceived": n, "itemsAccepted": n - errs.len(), "errors": errs});
            (StatusCode::PARTIAL_CONTENT, body.to_string()).into_response()
        }
        Reply::Redirect(location) => Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header("location", location)
            .body(axum::body::Body::empty())
            .unwrap(),
        Reply::HoldThenAccept => {
            let mut rx = f.released.subscribe();
            let _ = rx.wait_for(|released| *released).await;
            accept_all()
        }
        Reply::HoldForever => std::future::pending().await,
    }
}

async fn serve(app: Router, ip: &str) -> String {
    let listener = tokio::net::TcpListener::bind(format!("{ip}:0"))
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

// ------------------------------------------------------------------ fake managed identity

#[derive(Default)]
struct IdentityState {
    calls: usize,
    lifetime_secs: u64,
    token_prefix: String,
    identity_headers: Vec<Option<String>>,
    resources: Vec<Option<String>>,
}

/// A fake App Service managed-identity endpoint issuing `{prefix}{n}` tokens.
#[derive(Clone)]
pub struct Identity(Arc<Mutex<IdentityState>>);

impl Identity {
    pub fn new(token_prefix: &str, lifetime_secs: u64) -> Identity {
        Identity(Arc::new(Mutex::new(IdentityState {
            lifetime_secs,
            token_prefix: token_prefix.to_string(),
            ..IdentityState::default()
        })))
    }

    pub fn calls(&self) -> usize {
        self.0.lock().unwrap().calls
    }

    pub fn token(&self, n: usize) -> String {
        format!("{}{n}", self.0.lock().unwrap().token_prefix)
    }

    /// The `X-IDENTITY-HEADER` and `resource` of every call.
    pub fn requests(&self) -> Vec<(Option<String>, Option<String>)> {
        let s = self.0.lock().unwrap();
        s.identity_headers
            .iter()
            .cloned()
            .zip(s.resources.iter().cloned())
            .collect()
    }

    /// Serves and returns the `IDENTITY_ENDPOINT` URL.
    pub async fn start(&self) -> String {
        let app = Router::new()
            .route("/msi/token", axum::routing::get(issue_token))
            .with_state(self.clone());
        format!("{}/msi/token", serve(app, "127.0.0.1").await)
    }
}

async fn issue_token(
    State(f): State<Identity>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let mut s = f.0.lock().unwrap();
    s.calls += 1;
    s.identity_headers.push(
        headers
            .get("x-identity-header")
            .map(|v| v.to_str().unwrap_or_default().to_string()),
    );
    s.resources.push(
        q.iter()
            .find(|(k, _)| k == "resource")
            .map(|(_, v)| v.clone()),
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    axum::Json(json!({
        "access_token": format!("{}{}", s.token_prefix, s.calls),
        "expires_on": (now + s.lifetime_secs).to_string(),
        "resource": "https://monitor.azure.com/",
        "token_type": "Bearer",
    }))
    .into_response()
}

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
const CLEARED: [&str; 9] = [
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "CHARGEBACK_TELEMETRY_DEADLINE_SECS",
    "CHARGEBACK_TELEMETRY_RETRY_BASE_MS",
    "CHARGEBACK_DRAIN_SECS",
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
        let port = free_port();
        let out = Outputs::new();
        let child = base_command(env)
            .arg("serve")
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
        self.http
            .get(format!("http://127.0.0.1:{}/", self.port))
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
