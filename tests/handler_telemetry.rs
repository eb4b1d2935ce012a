//! The real `chargeback serve` against fake Application Insights ingestion and managed-identity
//! servers on loopback: what reaches ingestion, and what the host is answered (`docs/telemetry.md`).

mod handler_support;

use std::time::Duration;

use handler_support::*;
use serde_json::{json, Value};

async fn fakes(
    script: Vec<Reply>,
    fallback: Reply,
) -> (Ingestion, Identity, Vec<(&'static str, String)>) {
    let ingestion = Ingestion::new(script, fallback);
    let identity = Identity::new("mi-token-", 3600);
    let env = telemetry_env(&ingestion.start().await, &identity.start().await);
    (ingestion, identity, env)
}

fn with(
    mut env: Vec<(&'static str, String)>,
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    env.retain(|(k, _)| *k != key);
    env.push((key, value.to_string()));
    env
}

// ------------------------------------------------------------------ batching, gzip, schema

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_records_of_an_invocation_go_to_ingestion_in_one_gzipped_request() {
    let (ingestion, identity, env) = fakes(vec![], Reply::Accept).await;
    let handler = Handler::start(&env).await;
    let mut events = chat_events("batch", 12);
    events.extend(sample("embeddings"));
    events.extend(sample("chat-stream-without-usage"));
    events.extend(sample("throttled-429")); // not billable: no record, nothing sent

    let (status, response) = handler
        .invoke(&invocation(&events, Some((0, 5))), "inv-batch-1")
        .await;

    assert_eq!(status, 200, "{response}");
    let rows = ledger(&response);
    assert_eq!(
        rows.len(),
        14,
        "12 chats + embeddings + a stream are billable"
    );
    assert!(
        marked(&rows).is_empty(),
        "nothing is marked when all is delivered"
    );
    let seen = ingestion.seen();
    assert_eq!(seen.len(), 1, "one request per invocation");
    let request = &seen[0];
    assert_eq!(request.path, "/v2.1/track");
    assert!(request.gzipped, "a 14-item body is gzipped");
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        request.token_info_ids(),
        ids_of(&rows),
        "every ledger row, in order"
    );
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {}", identity.token(1)).as_str())
    );
    assert_eq!(
        identity.requests(),
        vec![(
            Some(IDENTITY_HEADER.to_string()),
            Some("https://monitor.azure.com/".to_string())
        )]
    );
    assert!(
        logs(&response)
            .contains("telemetry: 14 records, 14 accepted, 0 undelivered, 0 dropped, 1 requests"),
        "{}",
        logs(&response)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_carries_every_envelope_field_the_official_sdks_send() {
    let (ingestion, _identity, env) = fakes(vec![], Reply::Accept).await;
    let handler = Handler::start(&env).await;
    let events = chat_events("schema", 2);

    let (status, response) = handler
        .invoke(&invocation(&events, None), "inv-schema-1")
        .await;

    assert_eq!(status, 200, "{response}");
    let rows = ledger(&response);
    let seen = ingestion.wait_for_requests(1).await;
    let request = &seen[0];
    assert_eq!(request.items.len(), 2);
    for (item, row) in request.items.iter().zip(&rows) {
        let envelope = item.as_object().unwrap();
        let mut keys: Vec<&str> = envelope.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["data", "iKey", "name", "sampleRate", "tags", "time"]);
        assert_eq!(
            item["name"],
            format!(
                "Microsoft.ApplicationInsights.{}.Event",
                IKEY.replace('-', "")
            )
        );
        assert_eq!(item["iKey"], IKEY);
        assert_eq!(item["sampleRate"], json!(100.0));
        let time = item["time"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with('Z'),
            "time is UTC ISO 8601: {time}"
        );
        let tags = &item["tags"];
        assert_eq!(tags["ai.cloud.role"], "chargeback-func");
        assert_eq!(tags["ai.cloud.roleInstance"], "instance-7");
        assert_eq!(tags["ai.operation.id"], "inv-schema-1");
        assert!(tags["ai.internal.sdkVersion"]
            .as_str()
            .unwrap()
            .starts_with("rust-chargeback:"));
        assert_eq!(item["data"]["baseType"], "EventData");
        let base = &item["data"]["baseData"];
        assert_eq!(base["ver"], 2);
        assert_eq!(base["name"], "Azure OpenAI Tokens");
        let p = &base["properties"];
        assert!(
            p.as_object().unwrap().values().all(Value::is_string),
            "dimensions are strings"
        );
        assert_eq!(p["AppKey"], row["consumer"]["subscriptionId"]);
        assert_eq!(p["TokenInfoId"], row["requestId"]);
        assert_eq!(p["Stream"], "False");
        assert_eq!(p["ApiOperation"], "ChatCompletion");
        assert_eq!(p["PromptTokens"], row["promptTokens"].to_string());
        assert_eq!(p["InvocationId"], "inv-schema-1");
        let m = &base["measurements"];
        assert_eq!(m["PromptTokens"].as_f64(), row["promptTokens"].as_f64());
        assert_eq!(
            m["CompletionTokens"].as_f64(),
            row["completionTokens"].as_f64()
        );
        assert_eq!(m["TotalTokens"].as_f64(), row["totalTokens"].as_f64());
        assert_eq!(m["Cost"].as_f64(), row["cost"]["total"].as_f64());
    }
    // The original sample's dimension keys come first, in its order, so its queries still run.
    let order = [
        "AppKey",
        "Timestamp",
        "Stream",
        "ApiOperation",
        "PromptTokens",
        "CompletionTokens",
        "TotalTokens",
        "TokenInfoId",
        "Model",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|k| request.text.find(&format!("\"{k}\":\"")).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "dimension order in {}",
        request.text
    );
}

// ------------------------------------------------------------------ retries

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_206_partial_success_resends_only_the_failed_retriable_items() {
    let partial = Reply::Partial(vec![(1, 500), (3, 429), (4, 400)]);
    let (ingestion, _identity, env) = fakes(vec![partial], Reply::Accept).await;
    let handler = Handler::start(&env).await;
    let events = chat_events("partial", 6);

    let (status, response) = handler
        .invoke(&invocation(&events, Some((0, 5))), "inv-partial")
        .await;

    assert_eq!(
        status, 200,
        "a permanently refused item never fails the batch: {response}"
    );
    let seen = ingestion.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].token_info_ids().len(), 6);
    assert_eq!(
        seen[1].token_info_ids(),
        vec![request_id("partial", 1), request_id("partial", 3)],
        "only the 500 and 429 items are sent again"
    );
    let rows = ledger(&response);
    assert_eq!(rows.len(), 6);
    assert_eq!(
        marked(&rows),
        vec![request_id("partial", 4)],
        "the item refused with 400 stays marked in the ledger"
    );
    assert!(
        logs(&response).contains("5 accepted, 0 undelivered, 1 dropped"),
        "{}",
        logs(&response)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_no_sooner_than_its_retry_after() {
    let throttled = Reply::Status(429, vec![("Retry-After", "1".into())]);
    let (ingestion, _identity, env) = fakes(vec![throttled], Reply::Accept).await;
    let handler = Handler::start(&env).await;

    let (status, response) = handler
        .invoke(
            &invocation(&chat_events("throttle", 3), Some((0, 5))),
            "inv-429",
        )
        .await;

    assert_eq!(status, 200, "{response}");
    let seen = ingestion.seen();
    assert_eq!(seen.len(), 2);
    let waited = seen[1].at.duration_since(seen[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert_eq!(seen[1].token_info_ids().len(), 3);
    assert!(marked(&ledger(&response)).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_outage_is_retried_until_ingestion_recovers() {
    let outage = vec![Reply::Status(503, vec![]); 3];
    let (ingestion, identity, env) = fakes(outage, Reply::Accept).await;
    let handler = Handler::start(&env).await;

    let (status, response) = handler
        .invoke(
            &invocation(&chat_events("outage", 4), Some((0, 5))),
            "inv-503",
        )
        .await;

    assert_eq!(status, 200, "{response}");
    let seen = ingestion.seen();
    assert_eq!(seen.len(), 4, "three 503s, then the accepted attempt");
    assert!(seen.iter().all(|s| s.items.len() == 4));
    assert!(
        marked(&ledger(&response)).is_empty(),
        "recovered: nothing marked"
    );
    assert_eq!(identity.calls(), 1, "the token is reused across attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_past_the_deadline_answers_503_so_the_host_retries_the_batch() {
    let (ingestion, _identity, env) = fakes(vec![], Reply::Status(503, vec![])).await;
    let env = with(env, "CHARGEBACK_TELEMETRY_DEADLINE_SECS", "1");
    let env = with(env, "CHARGEBACK_TELEMETRY_RETRY_BASE_MS", "400");
    let handler = Handler::start(&env).await;

    let (status, response) = handler
        .invoke(
            &invocation(&chat_events("down", 3), Some((1, 5))),
            "inv-down",
        )
        .await;

    assert_eq!(status, 503, "{response}");
    assert!(
        response.get("Outputs").is_none(),
        "nothing is written on a failed attempt"
    );
    let error = response["error"].as_str().unwrap();
    assert!(
        error.contains("3 undelivered")
            && error.contains("deadline")
            && error.contains("retry 1/5"),
        "{error}"
    );
    assert!(ingestion.seen().len() >= 2, "it retried before giving up");
    let ready = handler.get_ready().await.unwrap();
    assert_eq!(ready["hostRetriesRequested"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_outage_on_the_last_retry_answers_200_with_the_ledger_and_every_record_marked() {
    let (ingestion, _identity, env) = fakes(vec![], Reply::Status(503, vec![])).await;
    let env = with(env, "CHARGEBACK_TELEMETRY_DEADLINE_SECS", "1");
    let handler = Handler::start(&env).await;
    let events = chat_events("last", 3);

    let (status, response) = handler
        .invoke(&invocation(&events, Some((5, 5))), "inv-last")
        .await;

    assert_eq!(status, 200, "{response}");
    let rows = ledger(&response);
    assert_eq!(
        ids_of(&rows),
        (0..3).map(|i| request_id("last", i)).collect::<Vec<_>>()
    );
    assert_eq!(
        marked(&rows),
        ids_of(&rows),
        "every undelivered row is marked"
    );
    let logs = logs(&response);
    assert!(
        logs.contains("3 records marked telemetryUndelivered") && logs.contains("last host retry"),
        "{logs}"
    );
    assert!(!ingestion.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_on_an_invocation_without_retry_context_keeps_the_records_marked_in_the_ledger() {
    let (_ingestion, _identity, env) = fakes(vec![], Reply::Status(503, vec![])).await;
    let env = with(env, "CHARGEBACK_TELEMETRY_DEADLINE_SECS", "1");
    let handler = Handler::start(&env).await;

    let (status, response) = handler
        .invoke(&invocation(&chat_events("noretry", 2), None), "inv-noretry")
        .await;

    assert_eq!(
        status, 200,
        "no retry policy means no second chance: {response}"
    );
    let rows = ledger(&response);
    assert_eq!(marked(&rows).len(), 2);
    assert!(logs(&response).contains("no retry policy"));
}

// ------------------------------------------------------------------ Entra tokens and redirects

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_managed_identity_token_is_fetched_once_and_reused_across_invocations() {
    let (ingestion, identity, env) = fakes(vec![], Reply::Accept).await;
    let handler = Handler::start(&env).await;

    for n in 0..3 {
        let (status, _) = handler
            .invoke(
                &invocation(&chat_events(&format!("cache{n}"), 1), None),
                "inv-cache",
            )
            .await;
        assert_eq!(status, 200);
    }

    assert_eq!(identity.calls(), 1);
    let bearer = format!("Bearer {}", identity.token(1));
    assert!(ingestion
        .seen()
        .iter()
        .all(|s| s.authorization.as_deref() == Some(bearer.as_str())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_refreshes_the_token_once_and_the_batch_goes_through() {
    let (ingestion, identity, env) = fakes(vec![], Reply::Accept).await;
    ingestion.reject_authorization(&format!("Bearer {}", identity.token(1)));
    let handler = Handler::start(&env).await;

    let (status, response) = handler
        .invoke(
            &invocation(&chat_events("refresh", 2), Some((0, 5))),
            "inv-401",
        )
        .await;

    assert_eq!(status, 200, "{response}");
    assert!(marked(&ledger(&response)).is_empty());
    assert_eq!(identity.calls(), 2, "one refresh after the 401");
    let auth: Vec<Option<String>> = ingestion
        .seen()
        .into_iter()
        .map(|s| s.authorization)
        .collect();
    assert_eq!(
        auth,
        vec![
            Some(format!("Bearer {}", identity.token(1))),
            Some(format!("Bearer {}", identity.token(2)))
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_is_followed_without_the_authorization_header() {
    let other_host = Ingestion::accepting();
    let other_url = other_host.start_on("127.0.0.2").await;
    let redirect = Reply::Redirect(format!("{other_url}/v2.1/track"));
    let (ingestion, identity, env) = fakes(vec![redirect], Reply::Accept).await;
    let handler = Handler::start(&env).await;

    let (status, response) = handler
        .invoke(
            &invocation(&chat_events("redirect", 2), Some((0, 5))),
            "inv-redirect",
        )
        .await;

    assert_eq!(status, 200, "{response}");
    assert_eq!(
        ingestion.seen()[0].authorization,
        Some(format!("Bearer {}", identity.token(1)))
    );
    let moved = other_host.seen();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        moved[0].authorization, None,
        "the token never leaves its host"
    );
    assert_eq!(moved[0].token_info_ids().len(), 2);
    assert!(marked(&ledger(&response)).is_empty());
}

// ------------------------------------------------------------------ start-up

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_off_is_said_once_at_start_up_and_the_ledger_is_still_written() {
    let handler = Handler::start(&[]).await;

    for n in 0..2 {
        let (status, response) = handler
            .invoke(
                &invocation(&chat_events(&format!("off{n}"), 2), None),
                "inv-off",
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(ledger(&response).len(), 2);
        assert!(!logs(&response).contains("telemetry:"));
    }

    assert_eq!(handler.get_ready().await.unwrap()["telemetry"], "off");
    assert_eq!(
        handler.stderr().matches("telemetry off").count(),
        1,
        "{}",
        handler.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_connection_string_stops_start_up_naming_the_setting_not_its_value() {
    let planted = "InstrumentationKey=planted-ikey-ZZ91;IngestionEndpoint=ftp://nowhere";
    let run = run_cli(
        vec!["serve".into()],
        vec![
            ("FUNCTIONS_CUSTOMHANDLER_PORT", free_port().to_string()),
            ("APPLICATIONINSIGHTS_CONNECTION_STRING", planted.into()),
        ],
    )
    .await;

    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("APPLICATIONINSIGHTS_CONNECTION_STRING"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("planted-ikey-ZZ91"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_auth_without_a_managed_identity_stops_start_up_naming_the_missing_setting() {
    let run = run_cli(
        vec!["serve".into()],
        vec![
            ("FUNCTIONS_CUSTOMHANDLER_PORT", free_port().to_string()),
            (
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                format!("InstrumentationKey={IKEY};IngestionEndpoint=http://127.0.0.1:9/"),
            ),
            (
                "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
                "Authorization=AAD".into(),
            ),
        ],
    )
    .await;

    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("IDENTITY_ENDPOINT"), "{}", run.stderr);
}
