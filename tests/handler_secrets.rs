//! No secret and no prompt/completion text leaves the handler (`docs/telemetry.md`, *Security*): secrets and marker
//! texts are planted in the inputs and the settings, then every output is scanned — the
//! process's stdout/stderr, the response `Logs`, `Outputs.usage`, `Outputs.deadletter` and the
//! 503 error bodies, every telemetry body ingestion received (after gunzip), and the output of
//! `replay` and `resend`.

mod handler_support;

use handler_support::fakes::Seen;
use handler_support::*;
use serde_json::{json, Value};

const SUBSCRIPTION_KEY: &str = "plantedSubKey0c9d8e7f6a5b4c3d2e1f";
const API_KEY: &str = "planted-api-key-4f3e2d1c0b9a";
const BEARER: &str = "planted.bearer-jwt.Zq8Wm3Rt";
const MI_TOKEN_PREFIX: &str = "planted-mi-token-Xy7Pq-";
const PROMPT_MARKERS: [&str; 3] = [
    "PROMPT-MARKER-zebra-quartz",
    "PROMPT-MARKER-legacy-fjord",
    "PROMPT-MARKER-stream-lichen",
];
const COMPLETION_MARKERS: [&str; 3] = [
    "COMPLETION-MARKER-violet-ember",
    "COMPLETION-MARKER-legacy-basalt",
    "COMPLETION-MARKER-stream-cobalt",
];

fn edit_json_string(event: &mut Value, key: &str, edit: impl FnOnce(&mut Value)) {
    let mut inner: Value = serde_json::from_str(event[key].as_str().unwrap()).unwrap();
    edit(&mut inner);
    event[key] = json!(inner.to_string());
}

/// A billable chat completion whose logged request body carries an `api-key` and a bearer
/// token, and whose prompt and completion carry markers.
fn chat_with_secrets() -> String {
    let mut e: Value = serde_json::from_str(&sample("chat-completion")[0]).unwrap();
    e["requestId"] = json!("req-secret-chat");
    edit_json_string(&mut e, "request", |r| {
        r["messages"][1]["content"] = json!(format!("Summarise {} now.", PROMPT_MARKERS[0]));
        r["api-key"] = json!(API_KEY);
        r["headers"] = json!({ "Authorization": format!("Bearer {BEARER}") });
    });
    edit_json_string(&mut e, "response", |r| {
        r["choices"][0]["message"]["content"] = json!(format!("Done: {}.", COMPLETION_MARKERS[0]));
    });
    e.to_string()
}

/// A legacy v1 event: the subscription key itself is its consumer identity.
fn legacy_with_secrets() -> String {
    let mut e: Value = serde_json::from_str(&sample("legacy-v1")[0]).unwrap();
    e["AppSubscriptionKey"] = json!(SUBSCRIPTION_KEY);
    edit_json_string(&mut e, "Request", |r| {
        r["messages"][0]["content"] = json!(format!("Translate {}.", PROMPT_MARKERS[1]));
    });
    edit_json_string(&mut e, "Response", |r| {
        r["choices"][0]["message"]["content"] = json!(COMPLETION_MARKERS[1]);
    });
    e.to_string()
}

/// A stream without usage (counted with the tokenizer), markers in its prompt and its deltas.
fn stream_with_markers() -> String {
    let mut e: Value = serde_json::from_str(&sample("chat-stream-without-usage")[0]).unwrap();
    e["requestId"] = json!("req-secret-stream");
    let request = e["request"].as_str().unwrap().replace(
        "This late pivot",
        &format!("This late {} pivot", PROMPT_MARKERS[2]),
    );
    let response = e["response"].as_str().unwrap().replace(
        r#""delta":{"content":" change"}"#,
        &format!(r#""delta":{{"content":" {}"}}"#, COMPLETION_MARKERS[2]),
    );
    assert!(request.contains(PROMPT_MARKERS[2]) && response.contains(COMPLETION_MARKERS[2]));
    e["request"] = json!(request);
    e["response"] = json!(response);
    e.to_string()
}

/// Not JSON: a dead letter, which keeps the raw event with key/token values redacted.
fn undecodable_with_secrets() -> String {
    format!(
        r#"{{"schemaVersion":2,"requestId":"req-secret-dead","AppSubscriptionKey":"{SUBSCRIPTION_KEY}","request":"{{\"api-key\":\"{API_KEY}\"}}","note":"Authorization: Bearer {BEARER}""#
    )
}

fn events() -> Vec<String> {
    vec![
        chat_with_secrets(),
        legacy_with_secrets(),
        stream_with_markers(),
        undecodable_with_secrets(),
    ]
}

struct Planted(Vec<(&'static str, String)>);

impl Planted {
    /// Fails naming the output and the planted value found in it.
    fn assert_absent(&self, output: &str, text: &str) {
        for (what, value) in &self.0 {
            assert!(
                !text.contains(value.as_str()),
                "{what} ({value}) leaked into {output}:\n{text}"
            );
        }
    }
}

/// Every telemetry item with the two fields that must carry the instrumentation key removed
/// (`iKey`, and the envelope `name` built from it, as the official SDKs send them).
fn telemetry_without_ikey_fields(seen: &Seen) -> String {
    seen.items
        .iter()
        .map(|item| {
            assert_eq!(
                item["iKey"], IKEY,
                "the iKey field carries the instrumentation key"
            );
            let mut item = item.clone();
            let o = item.as_object_mut().unwrap();
            o.remove("iKey");
            o.remove("name");
            item.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_planted_secret_or_prompt_text_appears_in_any_output() {
    // Ingestion: 401 to the first token, then 503, then a 206 refusing one item; then an
    // outage, so every log path (refresh, retries, drops, marks, 503 to the host) runs.
    let ingestion = Ingestion::new(
        vec![Reply::Status(503, vec![]), Reply::Partial(vec![(1, 400)])],
        Reply::Status(503, vec![]),
    );
    let identity = Identity::new(MI_TOKEN_PREFIX, 3600);
    ingestion.reject_authorization(&format!("Bearer {}", identity.token(1)));
    let mut env = telemetry_env(&ingestion.start().await, &identity.start().await);
    env.retain(|(k, _)| *k != "CHARGEBACK_TELEMETRY_DEADLINE_SECS");
    env.push(("CHARGEBACK_TELEMETRY_DEADLINE_SECS", "1".into()));
    // `chargeback` is a prefix of every crate's target (chargeback_core, chargeback_handler, …).
    env.push(("RUST_LOG", "info,chargeback=trace".into()));
    let connection_string = env[0].1.clone();
    let planted = Planted(
        [
            ("the subscription key", SUBSCRIPTION_KEY.to_string()),
            ("the api-key", API_KEY.to_string()),
            ("the bearer token in a request body", BEARER.to_string()),
            ("the connection string", connection_string),
            ("the instrumentation key", IKEY.to_string()),
            (
                "the instrumentation key without dashes",
                IKEY.replace('-', ""),
            ),
            ("the managed-identity token", MI_TOKEN_PREFIX.to_string()),
            ("IDENTITY_HEADER", IDENTITY_HEADER.to_string()),
        ]
        .into_iter()
        .chain(PROMPT_MARKERS.iter().map(|m| ("a prompt", m.to_string())))
        .chain(
            COMPLETION_MARKERS
                .iter()
                .map(|m| ("a completion", m.to_string())),
        )
        .collect(),
    );
    let mut handler = Handler::start(&env).await;

    let (first_status, first) = handler
        .invoke(&invocation(&events(), Some((0, 5))), "inv-secrets-1")
        .await;
    let (last_status, last) = handler
        .invoke(&invocation(&events(), Some((5, 5))), "inv-secrets-2")
        .await;
    let (retry_status, retry) = handler
        .invoke(&invocation(&events(), Some((1, 5))), "inv-secrets-3")
        .await;
    handler.terminate();
    let exit = handler.wait_exit(WAIT).await;

    // The scenario ran as planned, so the scan below looks at real outputs.
    assert_eq!((first_status, last_status, retry_status), (200, 200, 503));
    assert_eq!(exit.code(), Some(0));
    let rows = ledger(&first);
    assert_eq!(
        rows.len(),
        3,
        "chat, legacy and stream are billable: {first}"
    );
    assert!(rows[1]["consumer"]["subscriptionId"]
        .as_str()
        .unwrap()
        .starts_with("key-sha256:"));
    assert_eq!(marked(&rows).len(), 1, "the refused item is marked");
    assert_eq!(marked(&ledger(&last)).len(), 3, "the last retry marks all");
    assert!(first["Outputs"]["deadletter"]
        .as_str()
        .unwrap()
        .contains("req-secret-dead"));
    assert!(identity.calls() >= 2, "the 401 refresh ran");
    let bodies = ingestion.seen();
    assert!(bodies.len() >= 3);
    assert!(
        events().concat().contains(API_KEY),
        "the secrets were planted"
    );

    planted.assert_absent("the handler's stdout", &handler.stdout());
    planted.assert_absent("the handler's stderr", &handler.stderr());
    for (name, response) in [
        ("response 1", &first),
        ("response 2", &last),
        ("the 503 response", &retry),
    ] {
        planted.assert_absent(
            &format!("{name} (Logs, Outputs.usage, Outputs.deadletter)"),
            &response.to_string(),
        );
        planted.assert_absent(
            &format!("{name} usage"),
            response["Outputs"]["usage"].as_str().unwrap_or(""),
        );
        planted.assert_absent(
            &format!("{name} deadletter"),
            response["Outputs"]["deadletter"].as_str().unwrap_or(""),
        );
    }
    for (n, body) in bodies.iter().enumerate() {
        planted.assert_absent(
            &format!("telemetry body {n}"),
            &telemetry_without_ikey_fields(body),
        );
    }

    // The offline tools over the same events and the marked ledger.
    let out = Outputs::new();
    let events_file = out.path("events.jsonl");
    std::fs::write(&events_file, events().join("\n") + "\n").unwrap();
    let replay = run_cli(
        vec!["replay".into(), events_file.display().to_string()],
        vec![("RUST_LOG", "trace".into())],
    )
    .await;
    assert_eq!(replay.code, Some(0), "{}", replay.stderr);
    assert_eq!(replay.stdout.lines().count(), 3);
    planted.assert_absent("replay stdout", &replay.stdout);
    planted.assert_absent("replay stderr (dead letters)", &replay.stderr);

    let ledger_file = out.path("usage.jsonl");
    std::fs::write(&ledger_file, last["Outputs"]["usage"].as_str().unwrap()).unwrap();
    let resend = run_cli(
        vec!["resend".into(), ledger_file.display().to_string()],
        env.clone(),
    )
    .await;
    assert_eq!(
        resend.code,
        Some(1),
        "ingestion is still down: {}",
        resend.stderr
    );
    assert_eq!(resend.stdout.lines().count(), 3);
    planted.assert_absent("resend stdout", &resend.stdout);
    planted.assert_absent("resend stderr", &resend.stderr);
}
