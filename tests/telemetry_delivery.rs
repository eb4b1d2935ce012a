//! Delivery of usage records to fake ingestion and managed-identity servers on loopback
//! (telemetry sink: batching, gzip, retries, 206, redirects, Entra tokens, deadline).

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aoai_chargeback::record::{ApiOperation, Consumer, CountSource, UsageRecord};
use aoai_chargeback::telemetry::{
    build_envelope, envelope_json, parse_retry_after, AppInsights, AppInsightsConfig,
    ConnectionString, DeliveryReport, ManagedIdentityConfig, RetryPolicy,
};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

const IKEY: &str = "0fa1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b";

// ---------------------------------------------------------------- fake ingestion

#[derive(Clone)]
enum Scripted {
    /// A status with headers; a 200 without body accepts every item.
    Reply(u16, Vec<(&'static str, String)>),
    /// A 206 whose `errors` fail these (index, statusCode) items.
    Partial(Vec<(usize, u16)>),
}

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    gzipped: bool,
    raw: Vec<u8>,
    items: Vec<Value>,
}

impl Seen {
    fn token_info_ids(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|i| {
                i["data"]["baseData"]["properties"]["TokenInfoId"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }
    fn authorization(&self) -> Option<String> {
        self.headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string())
    }
}

#[derive(Default)]
struct IngestionState {
    script: VecDeque<Scripted>,
    /// What to answer once the script is used up (200 = accept all).
    fallback: Option<u16>,
    /// Answer 401 to this exact Authorization header.
    reject_authorization: Option<String>,
    seen: Vec<Seen>,
}

#[derive(Clone, Default)]
struct Ingestion(Arc<Mutex<IngestionState>>);

impl Ingestion {
    fn scripted(script: Vec<Scripted>) -> Self {
        let f = Ingestion::default();
        f.0.lock().unwrap().script = script.into();
        f
    }
    fn always(status: u16) -> Self {
        let f = Ingestion::default();
        f.0.lock().unwrap().fallback = Some(status);
        f
    }
    fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().seen.clone()
    }
    async fn start(&self) -> String {
        let app = Router::new().fallback(track).with_state(self.clone());
        serve(app).await
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
    let items: Vec<Value> = serde_json::from_slice(&raw).expect("a JSON array of envelopes");
    let n = items.len();
    let mut state = f.0.lock().unwrap();
    state.seen.push(Seen {
        path: uri.path().to_string(),
        headers: headers.clone(),
        gzipped,
        raw,
        items,
    });
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap_or_default().to_string());
    if state.reject_authorization.is_some() && state.reject_authorization == auth {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let accept_all = || json!({"itemsReceived": n, "itemsAccepted": n, "errors": []}).to_string();
    let next = state
        .script
        .pop_front()
        .unwrap_or(Scripted::Reply(state.fallback.unwrap_or(200), vec![]));
    match next {
        Scripted::Reply(status, extra) => {
            let mut builder = Response::builder().status(status);
            for (k, v) in extra {
                builder = builder.header(k, v);
            }
            let body = if status == 200 {
                accept_all()
            } else {
                String::new()
            };
            builder.body(axum::body::Body::from(body)).unwrap()
        }
        Scripted::Partial(errors) => {
            let errs: Vec<Value> = errors
                .iter()
                .map(|(i, s)| json!({"index": i, "statusCode": s, "message": "scripted"}))
                .collect();
            let body = json!({"itemsReceived": n, "itemsAccepted": n - errs.len(), "errors": errs});
            (StatusCode::PARTIAL_CONTENT, body.to_string()).into_response()
        }
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

// ---------------------------------------------------------------- fake managed identity

#[derive(Default)]
struct IdentityState {
    calls: usize,
    /// Seconds from now the issued tokens expire; as a string when `expires_as_string`.
    lifetime_secs: u64,
    expires_as_string: bool,
    queries: Vec<Vec<(String, String)>>,
    headers: Vec<Option<String>>,
}

#[derive(Clone, Default)]
struct Identity(Arc<Mutex<IdentityState>>);

impl Identity {
    fn new(lifetime_secs: u64, expires_as_string: bool) -> Self {
        let f = Identity::default();
        {
            let mut s = f.0.lock().unwrap();
            s.lifetime_secs = lifetime_secs;
            s.expires_as_string = expires_as_string;
        }
        f
    }
    fn calls(&self) -> usize {
        self.0.lock().unwrap().calls
    }
    async fn start(&self) -> String {
        let app = Router::new()
            .route("/msi/token", axum::routing::get(issue_token))
            .with_state(self.clone());
        format!("{}/msi/token", serve(app).await)
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
    s.headers.push(
        headers
            .get("x-identity-header")
            .map(|v| v.to_str().unwrap().to_string()),
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expires_on = now + s.lifetime_secs;
    let expires_on = if s.expires_as_string {
        json!(expires_on.to_string())
    } else {
        json!(expires_on)
    };
    axum::Json(json!({
        "access_token": format!("token-{}", s.calls),
        "expires_on": expires_on,
        "resource": "https://monitor.azure.com/",
        "token_type": "Bearer",
    }))
    .into_response()
}

// ---------------------------------------------------------------- helpers

fn record(n: usize) -> UsageRecord {
    UsageRecord {
        request_id: format!("req-{n}"),
        event_time: "2025-03-04T05:06:07Z".into(),
        consumer: Consumer {
            subscription_id: Some(format!("sub-{}", n % 3)),
            ..Consumer::default()
        },
        api_operation: ApiOperation::ChatCompletion,
        deployment: Some("gpt-4o".into()),
        model: Some("gpt-4o".into()),
        api_version: Some("2024-10-21".into()),
        stream: false,
        status_code: 200,
        billable: true,
        prompt_tokens: 10 + n as u64,
        completion_tokens: 5,
        total_tokens: 15 + n as u64,
        cached_tokens: 0,
        reasoning_tokens: 0,
        count_source: CountSource::Usage,
        encoding: None,
        cost: None,
        service_name: None,
        region: None,
        partition_id: Some("0".into()),
        sequence_number: Some(n as i64),
        enqueued_time: None,
        invocation_id: None,
        telemetry_undelivered: false,
    }
}

fn records(n: usize) -> Vec<UsageRecord> {
    (0..n).map(record).collect()
}

fn ids(range: impl IntoIterator<Item = usize>) -> Vec<String> {
    range.into_iter().map(|n| format!("req-{n}")).collect()
}

fn config(endpoint: &str) -> AppInsightsConfig {
    let cs = ConnectionString::parse(&format!(
        "InstrumentationKey={IKEY};IngestionEndpoint={endpoint}/"
    ))
    .unwrap();
    let mut c = AppInsightsConfig::new(cs);
    c.retry = RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_attempts: 10,
    };
    c
}

fn with_identity(mut c: AppInsightsConfig, identity_url: &str) -> AppInsightsConfig {
    c.identity = Some(ManagedIdentityConfig {
        endpoint: identity_url.parse().unwrap(),
        header: "identity-header-value".into(),
        client_id: Some("11111111-2222-3333-4444-555555555555".into()),
    });
    c
}

fn soon(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

// ---------------------------------------------------------------- batching and encoding

#[tokio::test]
async fn all_records_of_an_invocation_go_in_one_request() {
    let fake = Ingestion::default();
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let report = sink.send(&records(3), Some("inv-1"), soon(10)).await;
    assert!(report.is_complete(), "{report}");
    assert_eq!(
        (report.records, report.accepted, report.requests),
        (3, 3, 1)
    );
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v2.1/track");
    assert_eq!(seen[0].headers["content-type"], "application/json");
    assert_eq!(seen[0].token_info_ids(), ids(0..3));
    assert!(seen[0].authorization().is_none());
    for item in &seen[0].items {
        assert_eq!(item["tags"]["ai.operation.id"], "inv-1");
        assert_eq!(item["data"]["baseData"]["name"], "Azure OpenAI Tokens");
    }
}

#[tokio::test]
async fn an_empty_batch_sends_nothing() {
    let fake = Ingestion::default();
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let report = sink.send(&[], None, soon(10)).await;
    assert!(report.is_complete());
    assert_eq!(report.requests, 0);
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn a_batch_larger_than_the_request_cap_is_split() {
    let fake = Ingestion::default();
    let mut c = config(&fake.start().await);
    c.max_batch_items = 2;
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(5), None, soon(10)).await;
    assert!(report.is_complete(), "{report}");
    let sizes: Vec<usize> = fake.seen().iter().map(|s| s.items.len()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
}

#[tokio::test]
async fn gzip_bodies_decompress_to_the_same_envelopes() {
    let fake = Ingestion::default();
    let endpoint = fake.start().await;
    let mut c = config(&endpoint);
    c.gzip_threshold = 100;
    let ctx = c.context.clone();
    let sink = AppInsights::new(c).unwrap();
    let recs = records(4);
    assert!(sink
        .send(&recs, Some("inv-gz"), soon(10))
        .await
        .is_complete());

    let mut small = config(&endpoint);
    small.gzip_threshold = 1 << 20;
    let plain = AppInsights::new(small).unwrap();
    assert!(plain
        .send(&recs, Some("inv-gz"), soon(10))
        .await
        .is_complete());

    let seen = fake.seen();
    assert!(seen[0].gzipped, "a body over the threshold is gzipped");
    assert_eq!(seen[0].headers["content-encoding"], "gzip");
    assert!(!seen[1].gzipped, "a body under the threshold is sent as is");
    assert!(seen[1].headers.get("content-encoding").is_none());
    assert_eq!(
        seen[0].raw, seen[1].raw,
        "gzip must not change the envelopes"
    );
    let expected: Vec<Value> = recs
        .iter()
        .map(|r| {
            serde_json::from_slice(&envelope_json(&build_envelope(r, &ctx, Some("inv-gz"))))
                .unwrap()
        })
        .collect();
    assert_eq!(seen[0].items, expected);
}

// ---------------------------------------------------------------- responses and retries

#[tokio::test]
async fn a_206_partial_response_resends_only_the_failed_retriable_items() {
    let fake = Ingestion::scripted(vec![Scripted::Partial(vec![(1, 500), (2, 400), (3, 429)])]);
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let report = sink.send(&records(5), None, soon(10)).await;
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].token_info_ids(), ids(0..5));
    assert_eq!(seen[1].token_info_ids(), ids([1, 3]));
    assert_eq!(report.accepted, 4);
    assert_eq!(report.dropped, vec![2]);
    assert!(report.undelivered.is_empty());
    assert!(
        !report.needs_host_retry(),
        "a 400 item must not cause a host retry"
    );
}

#[tokio::test]
async fn item_indexes_in_a_second_206_refer_to_the_resent_batch() {
    let fake = Ingestion::scripted(vec![
        Scripted::Partial(vec![(0, 503), (2, 503), (4, 503)]),
        // Index 1 of the resent batch [0, 2, 4] is record 2.
        Scripted::Partial(vec![(1, 503)]),
    ]);
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let report = sink.send(&records(5), None, soon(10)).await;
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].token_info_ids(), ids([0, 2, 4]));
    assert_eq!(seen[2].token_info_ids(), ids([2]));
    assert!(report.is_complete(), "{report}");
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_given_delay() {
    let fake = Ingestion::scripted(vec![Scripted::Reply(
        429,
        vec![("retry-after", "1".into())],
    )]);
    let mut c = config(&fake.start().await);
    // Without honouring Retry-After the backoff (up to an hour) would pass the deadline.
    c.retry = RetryPolicy {
        base_delay: Duration::from_secs(3600),
        max_delay: Duration::from_secs(3600),
        max_attempts: 10,
    };
    let sink = AppInsights::new(c).unwrap();
    let started = Instant::now();
    let report = sink.send(&records(2), None, soon(30)).await;
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.requests, 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retried before Retry-After"
    );
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_is_not_waited_for() {
    let fake = Ingestion::scripted(vec![Scripted::Reply(
        503,
        vec![("retry-after", "3600".into())],
    )]);
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let started = Instant::now();
    let report = sink.send(&records(2), None, soon(20)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "slept toward the Retry-After"
    );
    assert_eq!(report.requests, 1);
    assert_eq!(report.undelivered, vec![0, 1]);
    assert!(report.needs_host_retry());
}

#[tokio::test]
async fn a_503_outage_then_recovery_delivers_everything() {
    let outage = Scripted::Reply(503, vec![]);
    let fake = Ingestion::scripted(vec![outage.clone(), outage.clone(), outage]);
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let report = sink.send(&records(3), None, soon(10)).await;
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.requests, 4);
    let seen = fake.seen();
    assert!(seen.iter().all(|s| s.token_info_ids() == ids(0..3)));
}

#[tokio::test]
async fn every_retriable_status_is_retried() {
    for status in [408, 429, 500, 502, 503, 504] {
        let fake = Ingestion::scripted(vec![Scripted::Reply(status, vec![])]);
        let sink = AppInsights::new(config(&fake.start().await)).unwrap();
        let report = sink.send(&records(1), None, soon(10)).await;
        assert!(report.is_complete(), "{status}: {report}");
        assert_eq!(report.requests, 2, "{status}");
    }
}

#[tokio::test]
async fn an_outage_past_the_deadline_reports_every_record_undelivered() {
    let fake = Ingestion::always(503);
    let mut c = config(&fake.start().await);
    c.retry.base_delay = Duration::from_millis(20);
    c.retry.max_delay = Duration::from_millis(40);
    c.retry.max_attempts = u32::MAX;
    let sink = AppInsights::new(c).unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_millis(300);
    let report = sink.send(&records(4), None, deadline).await;
    assert_eq!(report.undelivered, vec![0, 1, 2, 3]);
    assert!(report.dropped.is_empty());
    assert_eq!(report.accepted, 0);
    assert!(report.needs_host_retry());
    assert!(
        report.requests >= 2,
        "retried within the deadline: {report}"
    );
    assert!(
        Instant::now() < deadline + Duration::from_millis(500),
        "waited past the deadline"
    );
}

#[tokio::test]
async fn network_errors_are_retried_until_the_deadline() {
    // A port nobody listens on: connection refused on every attempt.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut c = config(&endpoint);
    c.retry.max_attempts = 3;
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(2), None, soon(10)).await;
    assert_eq!(report.requests, 3);
    assert_eq!(report.undelivered, vec![0, 1]);
    assert!(report.needs_host_retry());
}

#[tokio::test]
async fn a_400_is_dropped_without_retry_and_needs_no_host_retry() {
    let fake = Ingestion::always(400);
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let report = sink.send(&records(3), None, soon(10)).await;
    assert_eq!(report.requests, 1);
    assert_eq!(report.dropped, vec![0, 1, 2]);
    assert!(!report.needs_host_retry());
    assert!(!report.is_complete());
}

#[tokio::test]
async fn quota_statuses_402_and_439_drop_the_batch_without_retry() {
    for status in [402, 439] {
        let fake = Ingestion::always(status);
        let sink = AppInsights::new(config(&fake.start().await)).unwrap();
        let report = sink.send(&records(2), None, soon(10)).await;
        assert_eq!(report.requests, 1, "{status}");
        assert_eq!(report.dropped, vec![0, 1], "{status}");
        assert!(!report.needs_host_retry(), "{status}");
    }
}

#[tokio::test]
async fn forbidden_and_not_found_are_not_retried_but_stay_undelivered_for_later() {
    for status in [403, 404] {
        let fake = Ingestion::always(status);
        let sink = AppInsights::new(config(&fake.start().await)).unwrap();
        let report = sink.send(&records(2), None, soon(10)).await;
        assert_eq!(report.requests, 1, "{status}");
        assert_eq!(report.undelivered, vec![0, 1], "{status}");
        assert!(report.dropped.is_empty());
    }
}

// ---------------------------------------------------------------- redirects

#[tokio::test]
async fn a_redirect_to_another_host_never_carries_the_authorization_header() {
    let other = Ingestion::default();
    let other_url = other.start().await;
    let first = Ingestion::scripted(vec![Scripted::Reply(
        307,
        vec![("location", format!("{other_url}/v2.1/track"))],
    )]);
    let identity = Identity::new(3600, false);
    let c = with_identity(config(&first.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(2), None, soon(10)).await;
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.requests, 1, "a redirect hop is not a retry");
    assert_eq!(
        first.seen()[0].authorization().as_deref(),
        Some("Bearer token-1")
    );
    let at_other = other.seen();
    assert_eq!(at_other.len(), 1);
    assert_eq!(at_other[0].authorization(), None);
    assert_eq!(at_other[0].token_info_ids(), ids(0..2));
}

#[tokio::test]
async fn a_same_host_redirect_keeps_the_authorization_header() {
    let fake = Ingestion::scripted(vec![Scripted::Reply(
        308,
        vec![("location", "/regional/v2.1/track".into())],
    )]);
    let identity = Identity::new(3600, false);
    let c = with_identity(config(&fake.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(1), None, soon(10)).await;
    assert!(report.is_complete(), "{report}");
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].path, "/regional/v2.1/track");
    assert_eq!(seen[1].authorization().as_deref(), Some("Bearer token-1"));
}

#[tokio::test]
async fn a_redirect_loop_is_a_failure_not_a_hang() {
    let looping = Ingestion::default();
    let url = looping.start().await;
    looping.0.lock().unwrap().script = (0..20)
        .map(|_| Scripted::Reply(307, vec![("location", format!("{url}/v2.1/track"))]))
        .collect();
    let sink = AppInsights::new(config(&url)).unwrap();
    let report = sink.send(&records(1), None, soon(10)).await;
    assert_eq!(report.undelivered, vec![0]);
    assert_eq!(report.requests, 1, "a redirect loop is not retried");
    assert_eq!(
        looping.seen().len(),
        6,
        "the first request and five redirect hops"
    );
}

// ---------------------------------------------------------------- Entra tokens

#[tokio::test]
async fn the_managed_identity_token_is_cached_and_refreshed_once_on_401() {
    let fake = Ingestion::default();
    fake.0.lock().unwrap().reject_authorization = Some("Bearer token-1".into());
    let identity = Identity::new(3600, true);
    let c = with_identity(config(&fake.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();

    let first = sink.send(&records(1), None, soon(10)).await;
    let second = sink.send(&records(2), None, soon(10)).await;
    assert!(
        first.is_complete() && second.is_complete(),
        "{first} / {second}"
    );
    assert_eq!(
        identity.calls(),
        2,
        "one fetch, one refresh after the 401, then the cache"
    );
    let auth: Vec<Option<String>> = fake.seen().iter().map(Seen::authorization).collect();
    let bearer = |n: u32| Some(format!("Bearer token-{n}"));
    assert_eq!(auth, vec![bearer(1), bearer(2), bearer(2)]);

    let s = identity.0.lock().unwrap();
    let q = &s.queries[0];
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(get("resource"), Some("https://monitor.azure.com/"));
    assert_eq!(get("api-version"), Some("2019-08-01"));
    assert_eq!(
        get("client_id"),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(s.headers[0].as_deref(), Some("identity-header-value"));
}

#[tokio::test]
async fn a_token_expiring_within_five_minutes_is_not_reused() {
    let fake = Ingestion::default();
    let identity = Identity::new(120, false);
    let c = with_identity(config(&fake.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();
    for _ in 0..3 {
        assert!(sink.send(&records(1), None, soon(10)).await.is_complete());
    }
    assert_eq!(identity.calls(), 3);
}

#[tokio::test]
async fn a_persistent_401_refreshes_only_once_and_leaves_the_records_undelivered() {
    let fake = Ingestion::always(401);
    let identity = Identity::new(3600, false);
    let c = with_identity(config(&fake.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(2), None, soon(10)).await;
    assert_eq!(identity.calls(), 2);
    assert_eq!(report.requests, 2);
    assert_eq!(report.undelivered, vec![0, 1]);
    assert!(report.needs_host_retry());
}

#[tokio::test]
async fn an_unreachable_identity_endpoint_leaves_the_records_undelivered() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/msi/token", listener.local_addr().unwrap());
    drop(listener);
    let fake = Ingestion::default();
    let mut c = with_identity(config(&fake.start().await), &dead);
    c.retry.max_attempts = 2;
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(2), None, soon(10)).await;
    assert_eq!(report.undelivered, vec![0, 1]);
    assert!(fake.seen().is_empty(), "nothing is sent without a token");
}

#[tokio::test]
async fn no_token_or_identity_secret_appears_in_the_report() {
    let fake = Ingestion::always(401);
    let identity = Identity::new(3600, false);
    let c = with_identity(config(&fake.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(1), None, soon(10)).await;
    let text = format!("{report} {report:?} {sink:?}");
    for secret in ["token-1", "token-2", "identity-header-value", IKEY] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

// ---------------------------------------------------------------- pure parts

#[test]
fn retry_after_accepts_seconds_and_http_dates() {
    let now = UNIX_EPOCH + Duration::from_secs(1_445_412_470); // Wed, 21 Oct 2015 07:27:50 GMT
    assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
}

#[test]
fn backoff_grows_exponentially_with_full_jitter_under_the_cap() {
    let p = RetryPolicy {
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        max_attempts: 5,
    };
    assert_eq!(p.backoff_cap(1), Duration::from_millis(100));
    assert_eq!(p.backoff_cap(2), Duration::from_millis(200));
    assert_eq!(p.backoff_cap(4), Duration::from_millis(800));
    assert_eq!(p.backoff_cap(5), Duration::from_secs(1));
    assert_eq!(p.backoff_cap(500), Duration::from_secs(1));
    let waits: Vec<Duration> = (0..200).map(|_| p.backoff(3)).collect();
    assert!(waits.iter().all(|w| *w <= Duration::from_millis(400)));
    assert!(
        waits.iter().any(|w| *w < Duration::from_millis(200)),
        "jitter"
    );
    assert!(
        waits.iter().any(|w| *w > Duration::from_millis(200)),
        "jitter"
    );
}

#[test]
fn mark_undelivered_flags_every_record_not_accepted() {
    let mut recs = records(5);
    let report = DeliveryReport {
        records: 5,
        accepted: 2,
        undelivered: vec![1, 4],
        dropped: vec![3],
        ..DeliveryReport::default()
    };
    report.mark_undelivered(&mut recs);
    let flags: Vec<bool> = recs.iter().map(|r| r.telemetry_undelivered).collect();
    assert_eq!(flags, vec![false, true, false, true, true]);
    assert_eq!(report.not_delivered(), vec![1, 3, 4]);
    assert_eq!(
        report.summary(),
        "telemetry: 5 records, 2 accepted, 2 undelivered, 1 dropped, 0 requests"
    );
}
