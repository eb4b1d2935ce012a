//! Fake Azure endpoints on loopback, shared by the integration tests: an Application Insights
//! ingestion server ([`Ingestion`]) and an App Service managed-identity endpoint ([`Identity`]).
//!
//! No sleeps for timing: the ingestion fake announces every request through a `Notify`, so a
//! test waits on a condition with a bounded timeout ([`Ingestion::wait_for_requests`]).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};

/// How long any wait in these tests may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------ fake ingestion

/// What the fake ingestion answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 accepting every item.
    Accept,
    /// A status with extra headers (e.g. `Retry-After`, or `Location` for a redirect to a
    /// relative URL); no body, except that a 200 accepts every item.
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
    pub headers: HeaderMap,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub gzipped: bool,
    /// The body after gunzip.
    pub raw: Vec<u8>,
    /// [`Seen::raw`] as text.
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

    /// The `Authorization` header, if any.
    pub fn authorization(&self) -> Option<String> {
        self.authorization.clone()
    }
}

struct IngestionState {
    script: VecDeque<Reply>,
    fallback: Reply,
    /// Answer 401 to exactly this Authorization header value.
    reject_authorization: Option<String>,
    seen: Vec<Seen>,
}

/// A fake `/v2.1/track` endpoint (it answers on every path): gunzips and parses the envelopes
/// of each request, records them, and answers from a script.
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
            fallback,
            reject_authorization: None,
            seen: Vec::new(),
        };
        Ingestion {
            state: Arc::new(Mutex::new(state)),
            notify: Arc::new(Notify::new()),
            released: watch::Sender::new(false),
        }
    }

    /// Accepts every item of every request.
    pub fn accepting() -> Ingestion {
        Ingestion::new(vec![], Reply::Accept)
    }

    /// Appends to the script (e.g. replies that need the server's own URL).
    pub fn extend_script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    /// Answers 401 to exactly this `Authorization` header value (without using up the script).
    pub fn reject_authorization(&self, value: &str) {
        self.state.lock().unwrap().reject_authorization = Some(value.to_string());
    }

    /// Lets every held request (and any later one) go on.
    pub fn release(&self) {
        self.released.send_replace(true);
    }

    /// Every request so far, in order of arrival.
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

    /// Serves on 127.0.0.1 and returns the base URL.
    pub async fn start(&self) -> String {
        self.start_on("127.0.0.1").await
    }

    /// Serves on `ip` (e.g. 127.0.0.2, another host for redirects) and returns the base URL.
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
    let text = String::from_utf8(raw.clone()).expect("a UTF-8 body");
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
            headers: headers.clone(),
            authorization: authorization.clone(),
            content_type: header("content-type"),
            gzipped,
            raw,
            text,
            items,
        });
        if s.reject_authorization.is_some() && s.reject_authorization == authorization {
            None
        } else {
            Some(s.script.pop_front().unwrap_or_else(|| s.fallback.clone()))
        }
    };
    f.notify.notify_waiters();
    let accept_all = || json!({"itemsReceived": n, "itemsAccepted": n, "errors": []}).to_string();
    let Some(reply) = reply else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match reply {
        Reply::Accept => (StatusCode::OK, accept_all()).into_response(),
        Reply::Status(status, extra) => {
            let mut b = Response::builder().status(status);
            for (k, v) in extra {
                b = b.header(k, v);
            }
            let body = if status == 200 {
                accept_all()
            } else {
                String::new()
            };
            b.body(axum::body::Body::from(body)).unwrap()
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
            (StatusCode::OK, accept_all()).into_response()
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

struct IdentityState {
    calls: usize,
    /// Seconds from now the issued tokens expire.
    lifetime_secs: u64,
    /// `expires_on` as a JSON number rather than the string App Service sends.
    expires_as_number: bool,
    token_prefix: String,
    /// The query of every call.
    queries: Vec<Vec<(String, String)>>,
    /// The `X-IDENTITY-HEADER` of every call.
    identity_headers: Vec<Option<String>>,
}

/// A fake App Service managed-identity endpoint (`GET /msi/token`) issuing the tokens
/// `{prefix}1`, `{prefix}2`, … (one a call) and recording every call.
#[derive(Clone)]
pub struct Identity(Arc<Mutex<IdentityState>>);

impl Identity {
    /// Tokens `{token_prefix}{n}` that expire `lifetime_secs` from now, `expires_on` a string.
    pub fn new(token_prefix: &str, lifetime_secs: u64) -> Identity {
        Identity(Arc::new(Mutex::new(IdentityState {
            calls: 0,
            lifetime_secs,
            expires_as_number: false,
            token_prefix: token_prefix.to_string(),
            queries: Vec::new(),
            identity_headers: Vec::new(),
        })))
    }

    /// Sends `expires_on` as a JSON number instead of a string.
    pub fn expires_on_as_number(self) -> Identity {
        self.0.lock().unwrap().expires_as_number = true;
        self
    }

    pub fn calls(&self) -> usize {
        self.0.lock().unwrap().calls
    }

    /// The `n`th token issued (from 1).
    pub fn token(&self, n: usize) -> String {
        format!("{}{n}", self.0.lock().unwrap().token_prefix)
    }

    /// The query parameters of every call.
    pub fn queries(&self) -> Vec<Vec<(String, String)>> {
        self.0.lock().unwrap().queries.clone()
    }

    /// The `X-IDENTITY-HEADER` of every call.
    pub fn identity_headers(&self) -> Vec<Option<String>> {
        self.0.lock().unwrap().identity_headers.clone()
    }

    /// The `X-IDENTITY-HEADER` and `resource` of every call.
    pub fn requests(&self) -> Vec<(Option<String>, Option<String>)> {
        let s = self.0.lock().unwrap();
        s.identity_headers
            .iter()
            .cloned()
            .zip(s.queries.iter().map(|q| {
                q.iter()
                    .find(|(k, _)| k == "resource")
                    .map(|(_, v)| v.clone())
            }))
            .collect()
    }

    /// Serves on 127.0.0.1 and returns the `IDENTITY_ENDPOINT` URL.
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
    s.queries.push(q);
    s.identity_headers.push(
        headers
            .get("x-identity-header")
            .map(|v| v.to_str().unwrap_or_default().to_string()),
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires_on = now + s.lifetime_secs;
    let expires_on = if s.expires_as_number {
        json!(expires_on)
    } else {
        json!(expires_on.to_string())
    };
    axum::Json(json!({
        "access_token": format!("{}{}", s.token_prefix, s.calls),
        "expires_on": expires_on,
        "resource": "https://monitor.azure.com/",
        "token_type": "Bearer",
    }))
    .into_response()
}
