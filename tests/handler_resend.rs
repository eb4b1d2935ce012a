//! `chargeback resend LEDGER…` (and `replay --resend`): the rows the handler marked
//! `telemetryUndelivered` go to ingestion once per requestId; what still fails is printed.

mod handler_support;

use handler_support::*;
use serde_json::{json, Value};

fn ledger_file(out: &Outputs, name: &str, rows: &[Value]) -> String {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let path = out.path(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn stdout_rows(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("stdout holds ledger lines"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_marked_on_the_last_retry_are_resent_once_each_and_nothing_remains() {
    // The handler, on its last retry during an outage, writes the ledger with the rows marked.
    let down = Ingestion::new(vec![], Reply::Status(503, vec![]));
    let identity = Identity::new("mi-token-", 3600);
    let mut env = telemetry_env(&down.start().await, &identity.start().await);
    env.retain(|(k, _)| *k != "CHARGEBACK_TELEMETRY_DEADLINE_SECS");
    env.push(("CHARGEBACK_TELEMETRY_DEADLINE_SECS", "1".into()));
    let handler = Handler::start(&env).await;
    let (status, response) = handler
        .invoke(
            &invocation(&chat_events("resend", 3), Some((5, 5))),
            "inv-resend",
        )
        .await;
    assert_eq!(status, 200);
    let mut rows = ledger(&response);
    assert_eq!(marked(&rows).len(), 3);
    // The same batch delivered twice (at-least-once), plus a row that was delivered.
    rows.push(rows[0].clone());
    let mut delivered = rows[1].clone();
    delivered["requestId"] = json!("req-already-delivered");
    delivered
        .as_object_mut()
        .unwrap()
        .remove("telemetryUndelivered");
    rows.push(delivered);
    let out = Outputs::new();
    let file = ledger_file(&out, "usage.jsonl", &rows);

    let up = Ingestion::accepting();
    let env = telemetry_env(&up.start().await, &identity.start().await);
    let run = run_cli(vec!["resend".into(), file], env).await;

    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "", "nothing remains undelivered");
    let seen = up.seen();
    assert_eq!(seen.len(), 1, "one batch");
    assert_eq!(
        seen[0].token_info_ids(),
        (0..3).map(|i| request_id("resend", i)).collect::<Vec<_>>(),
        "each marked requestId once; unmarked rows are not sent"
    );
    assert!(
        run.stderr.contains("5 ledger rows read, 3 marked telemetryUndelivered (1 duplicate requestIds skipped); 3 accepted, 0 still undelivered"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_still_undelivered_are_printed_as_ledger_lines_and_the_exit_code_is_1() {
    let ingestion = Ingestion::new(vec![Reply::Partial(vec![(1, 400)])], Reply::Accept);
    let identity = Identity::new("mi-token-", 3600);
    let env = telemetry_env(&ingestion.start().await, &identity.start().await);
    let rows: Vec<Value> = (0..3).map(|i| marked_row(&request_id("left", i))).collect();
    let out = Outputs::new();
    let file = ledger_file(&out, "usage.jsonl", &rows);

    let run = run_cli(vec!["replay".into(), "--resend".into(), file], env).await;

    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let left = stdout_rows(&run.stdout);
    assert_eq!(
        ids_of(&left),
        vec![request_id("left", 1)],
        "only the refused row"
    );
    assert_eq!(
        marked(&left),
        ids_of(&left),
        "still marked, ready for the next resend"
    );
    assert_eq!(left[0]["promptTokens"], 30, "the row as it was");
    assert!(
        run.stderr.contains("1 rows remain undelivered"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_without_telemetry_configured_fails_with_a_clear_message() {
    let out = Outputs::new();
    let file = ledger_file(&out, "usage.jsonl", &[marked_row("req-x")]);

    let run = run_cli(vec!["resend".into(), file], vec![]).await;

    // Exit 1 (failed): 2 is clap's usage error only.
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("telemetry is not configured")
            && run.stderr.contains("APPLICATIONINSIGHTS_CONNECTION_STRING"),
        "{}",
        run.stderr
    );
}

/// A ledger row marked undelivered (as the handler writes it).
fn marked_row(request_id: &str) -> Value {
    json!({
        "requestId": request_id,
        "eventTime": "2026-11-02T09:01:00.1234567Z",
        "consumer": {"subscriptionId": "finance-analytics"},
        "apiOperation": "ChatCompletion",
        "deployment": "gpt-4o",
        "model": "gpt-4o",
        "stream": false,
        "statusCode": 200,
        "billable": true,
        "promptTokens": 30,
        "completionTokens": 35,
        "totalTokens": 65,
        "cachedTokens": 0,
        "reasoningTokens": 0,
        "countSource": "usage",
        "telemetryUndelivered": true
    })
}
