//! Delivery of usage records to fake ingestion and managed-identity servers on loopback
//! (telemetry sink: batching, gzip, retries, 206, redirects, Entra tokens, deadline).

#[path = "../../../tests/fakes/mod.rs"]
mod fakes;

use std::time::{Duration, Instant, UNIX_EPOCH};

use chargeback_appinsights::{
    build_envelope, envelope_json, parse_retry_after, AppInsights, AppInsightsConfig,
    ConnectionString, DeliveryReport, ManagedIdentityConfig, RetryPolicy,
};
use chargeback_core::{ApiOperation, Consumer, CountSource, DeploymentType, UsageRecord};
use fakes::{Identity, Ingestion, Reply, Seen};
use serde_json::Value;

const IKEY: &str = "0fa1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b";

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
        deployment_type: DeploymentType::DEFAULT,
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
        unpriced: None,
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
    let fake = Ingestion::accepting();
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let report = sink.send(&records(3), Some("inv-1"), soon(10)).await;
    assert!(report.is_complete(), "{report:?}");
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
    let fake = Ingestion::accepting();
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let report = sink.send(&[], None, soon(10)).await;
    assert!(report.is_complete());
    assert_eq!(report.requests, 0);
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn a_batch_larger_than_the_request_cap_is_split() {
    let fake = Ingestion::accepting();
    let mut c = config(&fake.start().await);
    c.max_batch_items = 2;
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(5), None, soon(10)).await;
    assert!(report.is_complete(), "{report:?}");
    let sizes: Vec<usize> = fake.seen().iter().map(|s| s.items.len()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
}

#[tokio::test]
async fn gzip_bodies_decompress_to_the_same_envelopes() {
    let fake = Ingestion::accepting();
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
    let fake = Ingestion::new(
        vec![Reply::Partial(vec![(1, 500), (2, 400), (3, 429)])],
        Reply::Accept,
    );
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
    let fake = Ingestion::new(
        vec![
            Reply::Partial(vec![(0, 503), (2, 503), (4, 503)]),
            // Index 1 of the resent batch [0, 2, 4] is record 2.
            Reply::Partial(vec![(1, 503)]),
        ],
        Reply::Accept,
    );
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let report = sink.send(&records(5), None, soon(10)).await;
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].token_info_ids(), ids([0, 2, 4]));
    assert_eq!(seen[2].token_info_ids(), ids([2]));
    assert!(report.is_complete(), "{report:?}");
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_given_delay() {
    let fake = Ingestion::new(
        vec![Reply::Status(429, vec![("retry-after", "1".into())])],
        Reply::Accept,
    );
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
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.requests, 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retried before Retry-After"
    );
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_is_not_waited_for() {
    let fake = Ingestion::new(
        vec![Reply::Status(503, vec![("retry-after", "3600".into())])],
        Reply::Accept,
    );
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
    let outage = Reply::Status(503, vec![]);
    let fake = Ingestion::new(vec![outage.clone(), outage.clone(), outage], Reply::Accept);
    let sink = AppInsights::new(config(&fake.start().await)).unwrap();
    let report = sink.send(&records(3), None, soon(10)).await;
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.requests, 4);
    let seen = fake.seen();
    assert!(seen.iter().all(|s| s.token_info_ids() == ids(0..3)));
}

#[tokio::test]
async fn every_retriable_status_is_retried() {
    for status in [408, 429, 500, 502, 503, 504] {
        let fake = Ingestion::new(vec![Reply::Status(status, vec![])], Reply::Accept);
        let sink = AppInsights::new(config(&fake.start().await)).unwrap();
        let report = sink.send(&records(1), None, soon(10)).await;
        assert!(report.is_complete(), "{status}: {report:?}");
        assert_eq!(report.requests, 2, "{status}");
    }
}

#[tokio::test]
async fn an_outage_past_the_deadline_reports_every_record_undelivered() {
    let fake = Ingestion::new(vec![], Reply::Status(503, vec![]));
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
        "retried within the deadline: {report:?}"
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
    let fake = Ingestion::new(vec![], Reply::Status(400, vec![]));
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
        let fake = Ingestion::new(vec![], Reply::Status(status, vec![]));
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
        let fake = Ingestion::new(vec![], Reply::Status(status, vec![]));
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
    let other = Ingestion::accepting();
    let other_url = other.start().await;
    let first = Ingestion::new(
        vec![Reply::Redirect(format!("{other_url}/v2.1/track"))],
        Reply::Accept,
    );
    let identity = Identity::new("token-", 3600).expires_on_as_number();
    let c = with_identity(config(&first.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(2), None, soon(10)).await;
    assert!(report.is_complete(), "{report:?}");
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
    let fake = Ingestion::new(
        vec![Reply::Status(
            308,
            vec![("location", "/regional/v2.1/track".into())],
        )],
        Reply::Accept,
    );
    let identity = Identity::new("token-", 3600).expires_on_as_number();
    let c = with_identity(config(&fake.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(1), None, soon(10)).await;
    assert!(report.is_complete(), "{report:?}");
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].path, "/regional/v2.1/track");
    assert_eq!(seen[1].authorization().as_deref(), Some("Bearer token-1"));
}

#[tokio::test]
async fn a_redirect_loop_is_a_failure_not_a_hang() {
    let looping = Ingestion::accepting();
    let url = looping.start().await;
    looping.extend_script((0..20).map(|_| Reply::Redirect(format!("{url}/v2.1/track"))));
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
    let fake = Ingestion::accepting();
    fake.reject_authorization("Bearer token-1");
    let identity = Identity::new("token-", 3600);
    let c = with_identity(config(&fake.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();

    let first = sink.send(&records(1), None, soon(10)).await;
    let second = sink.send(&records(2), None, soon(10)).await;
    assert!(
        first.is_complete() && second.is_complete(),
        "{first:?} / {second:?}"
    );
    assert_eq!(
        identity.calls(),
        2,
        "one fetch, one refresh after the 401, then the cache"
    );
    let auth: Vec<Option<String>> = fake.seen().iter().map(Seen::authorization).collect();
    let bearer = |n: u32| Some(format!("Bearer token-{n}"));
    assert_eq!(auth, vec![bearer(1), bearer(2), bearer(2)]);

    let queries = identity.queries();
    let q = &queries[0];
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(get("resource"), Some("https://monitor.azure.com/"));
    assert_eq!(get("api-version"), Some("2019-08-01"));
    assert_eq!(
        get("client_id"),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(
        identity.identity_headers()[0].as_deref(),
        Some("identity-header-value")
    );
}

#[tokio::test]
async fn a_token_expiring_within_five_minutes_is_not_reused() {
    let fake = Ingestion::accepting();
    let identity = Identity::new("token-", 120).expires_on_as_number();
    let c = with_identity(config(&fake.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();
    for _ in 0..3 {
        assert!(sink.send(&records(1), None, soon(10)).await.is_complete());
    }
    assert_eq!(identity.calls(), 3);
}

#[tokio::test]
async fn a_persistent_401_refreshes_only_once_and_leaves_the_records_undelivered() {
    let fake = Ingestion::new(vec![], Reply::Status(401, vec![]));
    let identity = Identity::new("token-", 3600).expires_on_as_number();
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
    let fake = Ingestion::accepting();
    let mut c = with_identity(config(&fake.start().await), &dead);
    c.retry.max_attempts = 2;
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(2), None, soon(10)).await;
    assert_eq!(report.undelivered, vec![0, 1]);
    assert!(fake.seen().is_empty(), "nothing is sent without a token");
}

#[tokio::test]
async fn no_token_or_identity_secret_appears_in_the_report() {
    let fake = Ingestion::new(vec![], Reply::Status(401, vec![]));
    let identity = Identity::new("token-", 3600).expires_on_as_number();
    let c = with_identity(config(&fake.start().await), &identity.start().await);
    let sink = AppInsights::new(c).unwrap();
    let report = sink.send(&records(1), None, soon(10)).await;
    let text = format!("{} {report:?} {sink:?}", report.summary());
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
