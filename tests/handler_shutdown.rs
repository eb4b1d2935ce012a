//! SIGTERM while a batch is in flight: the real `chargeback serve` stops accepting, finishes the
//! invocation (its telemetry included), and exits 0 within the drain cap.

mod handler_support;

use std::time::{Duration, Instant};

use handler_support::*;

async fn wait_until_not_accepting(handler: &Handler) {
    let until = Instant::now() + WAIT;
    while handler.get_ready().await.is_ok() {
        assert!(
            Instant::now() < until,
            "still accepting after SIGTERM: {}",
            handler.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_batch_finishes_the_invocation_delivers_its_records_and_exits_0() {
    let ingestion = Ingestion::new(vec![], Reply::HoldThenAccept);
    let identity = Identity::new("mi-token-", 3600);
    let env = telemetry_env(&ingestion.start().await, &identity.start().await);
    let mut handler = Handler::start(&env).await;
    let events = chat_events("sigterm", 5);

    let in_flight = handler.invoke_later(invocation(&events, Some((0, 5))), "inv-sigterm");
    ingestion.wait_for_requests(1).await; // the batch is now held inside its telemetry send
    handler.terminate();
    wait_until_not_accepting(&handler).await;
    assert!(
        !in_flight.is_finished(),
        "the invocation is still waiting on ingestion"
    );
    ingestion.release();
    let (status, response) = in_flight.await.unwrap();

    assert_eq!(status, 200, "{response}");
    let rows = ledger(&response);
    assert_eq!(
        ids_of(&rows),
        (0..5).map(|i| request_id("sigterm", i)).collect::<Vec<_>>()
    );
    assert!(
        marked(&rows).is_empty(),
        "delivered before exit: nothing marked"
    );
    let seen = ingestion.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].token_info_ids(),
        ids_of(&rows),
        "ingestion got every record"
    );
    let exit = handler.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(exit.code(), Some(0), "{}", handler.stderr());
    let stderr = handler.stderr();
    for said in [
        "SIGTERM received",
        "stopped accepting connections",
        "drained",
        "shut down cleanly",
    ] {
        assert!(stderr.contains(said), "missing {said:?} in {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_that_would_outlast_the_drain_cap_is_cut_short_with_a_503_and_the_process_still_exits_0(
) {
    let ingestion = Ingestion::new(vec![], Reply::HoldForever);
    let identity = Identity::new("mi-token-", 3600);
    let mut env = telemetry_env(&ingestion.start().await, &identity.start().await);
    env.push(("CHARGEBACK_DRAIN_SECS", "2".into()));
    let mut handler = Handler::start(&env).await;

    let in_flight =
        handler.invoke_later(invocation(&chat_events("cap", 3), Some((0, 5))), "inv-cap");
    ingestion.wait_for_requests(1).await;
    handler.terminate();
    let (status, response) = in_flight.await.unwrap();

    assert_eq!(status, 503, "the host re-delivers the batch: {response}");
    assert!(response.get("Outputs").is_none());
    // The answer arrived at all: had it missed the cap, the process would have exited first.
    let exit = handler.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(exit.code(), Some(0), "{}", handler.stderr());
    assert!(handler
        .stderr()
        .contains("cut short by the shutdown drain cap"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_cut_on_the_last_retry_writes_the_ledger_with_the_records_marked() {
    let ingestion = Ingestion::new(vec![], Reply::HoldForever);
    let identity = Identity::new("mi-token-", 3600);
    let mut env = telemetry_env(&ingestion.start().await, &identity.start().await);
    env.push(("CHARGEBACK_DRAIN_SECS", "2".into()));
    let mut handler = Handler::start(&env).await;

    let in_flight = handler.invoke_later(
        invocation(&chat_events("caplast", 2), Some((5, 5))),
        "inv-cap-last",
    );
    ingestion.wait_for_requests(1).await;
    handler.terminate();
    let (status, response) = in_flight.await.unwrap();

    assert_eq!(status, 200, "{response}");
    let rows = ledger(&response);
    assert_eq!(marked(&rows), ids_of(&rows));
    assert_eq!(rows.len(), 2);
    let exit = handler.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(exit.code(), Some(0), "{}", handler.stderr());
}
