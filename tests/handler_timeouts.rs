//! Issue 12 item 8: a client too slow with its headers or its body no longer holds a connection
//! forever. The real `chargeback serve` with short timeouts (flag and setting), raw TCP clients
//! on 127.0.0.1; no sleeps: each test waits on the socket read with a bounded deadline.

#[allow(unused_imports)] // the telemetry fakes are not used here
mod handler_support;

use std::time::{Duration, Instant};

use handler_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long enough for any machine to close a connection after a sub-second timeout; a server that
/// never closes fails the test here instead of hanging it.
const DEADLINE: Duration = Duration::from_secs(20);

/// Writes `sent`, then reads until the server closes the connection; what it answered, and how
/// long after the write the connection closed. Fails if it is still open at the deadline.
async fn send_and_wait_for_close(handler: &Handler, sent: &[u8]) -> (String, Duration) {
    let mut tcp = TcpStream::connect(("127.0.0.1", handler.port))
        .await
        .expect("connect");
    tcp.write_all(sent).await.expect("write");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the connection was still open after {DEADLINE:?} (answer so far: {:?}): {}",
        String::from_utf8_lossy(&answer),
        handler.stderr()
    );
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

const HEAD: &str = "POST /ChargebackEventHubTrigger HTTP/1.1\r\nHost: 127.0.0.1\r\n";

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected_after_the_header_timeout() {
    let handler = Handler::start_with(&[], &["--header-timeout-secs", "0.3"]).await;
    let (_, after) = send_and_wait_for_close(&handler, HEAD.as_bytes()).await;
    assert!(
        after >= Duration::from_millis(150),
        "closed after {after:?}"
    );
    // The server itself is unharmed: a new client is served. (The start-up check's connection
    // is idle too, and the same timeout closes it at about this moment.)
    let ready = handler
        .get_ready_on_a_new_connection()
        .await
        .expect("GET / still answers");
    assert_eq!(ready["status"], "ready");
}

#[tokio::test]
async fn a_client_that_trickles_its_body_gets_a_408_and_is_disconnected() {
    let env = [("CHARGEBACK_BODY_TIMEOUT_SECS", "0.3".to_string())];
    let handler = Handler::start(&env).await;
    let request =
        format!("{HEAD}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"Data\":");
    let (answer, after) = send_and_wait_for_close(&handler, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(body).expect("a JSON error body");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("CHARGEBACK_BODY_TIMEOUT_SECS")),
        "{body}"
    );
    assert!(
        after >= Duration::from_millis(150),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn a_prompt_client_is_served_as_before_under_short_timeouts() {
    let env = [
        ("CHARGEBACK_HEADER_TIMEOUT_SECS", "2".to_string()),
        ("CHARGEBACK_BODY_TIMEOUT_SECS", "2".to_string()),
    ];
    let handler = Handler::start(&env).await;
    let events = chat_events("timeouts", 3);
    let (status, response) = handler.invoke(&invocation(&events, None), "inv-t").await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(ledger(&response).len(), 3);
}

#[tokio::test]
async fn empty_timeout_settings_mean_the_defaults() {
    let env = [
        ("CHARGEBACK_HEADER_TIMEOUT_SECS", String::new()),
        ("CHARGEBACK_BODY_TIMEOUT_SECS", " ".to_string()),
    ];
    let handler = Handler::start(&env).await;
    assert_eq!(handler.get_ready().await.expect("ready")["status"], "ready");
}

#[tokio::test]
async fn a_timeout_that_is_not_a_positive_number_stops_start_up_naming_the_setting() {
    let run = run_cli(
        vec!["serve".into(), "--port".into(), free_port().to_string()],
        vec![("CHARGEBACK_BODY_TIMEOUT_SECS", "0".into())],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("CHARGEBACK_BODY_TIMEOUT_SECS"),
        "{}",
        run.stderr
    );
}
