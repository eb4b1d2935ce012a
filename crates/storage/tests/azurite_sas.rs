//! The container source against a real Azurite, authorized by a SAS on the URL: period and
//! prefix listing, a blob gone between listing and reading, bytes returned as stored, an empty
//! container, a wrong container, a wrong SAS — and no SAS signature in any message.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chargeback_storage::{
    ContainerSource, ContainerUrl, ListWindow, SourceOptions, StorageError, LEDGER_STEM,
};
use common::{fill, ledger_name, Azurite};

/// 300 ledger blobs: 100 in each of October, November and December 2026, spread over the days
/// and hours, plus two dead letters that no ledger listing may pick up.
fn three_months() -> Vec<(String, Vec<u8>)> {
    let mut blobs = Vec::new();
    for (month, days) in [(10, 31), (11, 30), (12, 31)] {
        for i in 0..100 {
            let day = 1 + (i * 7) % days;
            let time = format!("2026-{month:02}-{day:02}T{:02}-{:02}-07Z", i % 24, i % 60);
            let name = ledger_name(&time, month * 1000 + i);
            let line = format!("{{\"blob\":\"{name}\"}}\n");
            blobs.push((name, line.into_bytes()));
        }
    }
    blobs.push((
        "deadletter-2026-11-03T00-00-00Z-x.jsonl".into(),
        b"{}\n".to_vec(),
    ));
    blobs.push((
        "archive/usage-2026-11-03T00-00-00Z-y.jsonl".into(),
        b"{}\n".to_vec(),
    ));
    blobs
}

fn source(url: &str) -> ContainerSource {
    let url = ContainerUrl::parse(url).unwrap();
    ContainerSource::connect(&url, SourceOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_lists_its_days_and_the_backlog_week_and_reads_them_in_name_order() {
    let Some(az) = Azurite::start() else { return };
    let blobs = three_months();
    fill(&az.setup_client("ledger", None), &blobs).await;

    let done = Arc::new(Mutex::new(Vec::new()));
    let seen = done.clone();
    let url = ContainerUrl::parse(&az.sas_url("ledger")).unwrap();
    let options = SourceOptions {
        concurrency: 4,
        progress: Some(Arc::new(move |d, t| seen.lock().unwrap().push((d, t)))),
        ..Default::default()
    };
    let src = ContainerSource::connect(&url, options).unwrap();
    let window = ListWindow::period("2026-11").unwrap();
    let outcome = src.fetch(Some(&window), LEDGER_STEM).await.unwrap();

    let mut expected: Vec<&String> = blobs
        .iter()
        .map(|(n, _)| n)
        .filter(|n| {
            n.starts_with("usage-2026-11-")
                || n.as_str() < "usage-2026-12-08" && n.starts_with("usage-2026-12-0")
        })
        .collect();
    expected.sort();
    let got: Vec<&String> = outcome.blobs.iter().map(|b| &b.name).collect();
    assert_eq!(got, expected);
    assert!(outcome.complete());
    for b in &outcome.blobs {
        assert_eq!(
            b.bytes,
            format!("{{\"blob\":\"{}\"}}\n", b.name).into_bytes()
        );
    }
    let progress = done.lock().unwrap().clone();
    assert_eq!(progress.first(), Some(&(0, expected.len())));
    assert_eq!(progress.last(), Some(&(expected.len(), expected.len())));

    // no window: the whole container, dead letters and subfolders included, sorted
    let all = source(&az.sas_url("ledger"))
        .list(None, LEDGER_STEM)
        .await
        .unwrap();
    assert_eq!(all.len(), blobs.len());
    assert!(all.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_in_the_url_narrows_the_listing_to_that_folder() {
    let Some(az) = Azurite::start() else { return };
    fill(&az.setup_client("ledger", None), &three_months()).await;
    let sas = common::account_sas("rl");
    let url = format!("{}/archive?{sas}", az.container_url("ledger"));
    let window = ListWindow::period("2026-11").unwrap();
    let outcome = source(&url)
        .fetch(Some(&window), LEDGER_STEM)
        .await
        .unwrap();
    let names: Vec<&str> = outcome.blobs.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["archive/usage-2026-11-03T00-00-00Z-y.jsonl"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_deleted_between_listing_and_reading_is_reported_by_name_and_the_rest_read() {
    let Some(az) = Azurite::start() else { return };
    let setup = az.setup_client("ledger", None);
    let blobs = three_months();
    fill(&setup, &blobs).await;
    let src = source(&az.sas_url("ledger"));
    let names = src.list(None, LEDGER_STEM).await.unwrap();
    let gone = names[5].clone();
    setup.blob_client(&gone).delete(None).await.unwrap();

    let outcome = src.read(&names).await;
    assert_eq!(outcome.unreadable.len(), 1);
    assert_eq!(outcome.unreadable[0].name, gone);
    assert!(
        outcome.unreadable[0].reason.contains("404"),
        "{:?}",
        outcome.unreadable
    );
    assert!(!outcome.complete());
    assert_eq!(outcome.blobs.len(), names.len() - 1);
    assert!(outcome.blobs.iter().all(|b| b.name != gone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_blob_comes_back_byte_for_byte_under_its_name() {
    let Some(az) = Azurite::start() else { return };
    let junk = vec![0xff, 0xfe, b'{', b'\n', 0x00, b'x'];
    let blobs = vec![
        (ledger_name("2026-11-04T10-00-00Z", 1), junk.clone()),
        (
            ledger_name("2026-11-04T11-00-00Z", 2),
            b"{\"ok\":1}\n".to_vec(),
        ),
    ];
    fill(&az.setup_client("ledger", None), &blobs).await;
    let outcome = source(&az.sas_url("ledger"))
        .fetch(None, LEDGER_STEM)
        .await
        .unwrap();
    assert_eq!(outcome.blobs.len(), 2);
    assert_eq!(outcome.blobs[0].name, blobs[0].0);
    assert_eq!(outcome.blobs[0].bytes, junk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_container_gives_no_blobs_and_no_error() {
    let Some(az) = Azurite::start() else { return };
    fill(&az.setup_client("ledger", None), &[]).await;
    let window = ListWindow::period("2026-11").unwrap();
    let outcome = source(&az.sas_url("ledger"))
        .fetch(Some(&window), LEDGER_STEM)
        .await
        .unwrap();
    assert!(outcome.blobs.is_empty() && outcome.complete());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_container_is_named_with_its_account() {
    let Some(az) = Azurite::start() else { return };
    fill(&az.setup_client("ledger", None), &[]).await;
    let url = az.sas_url("no-such-ledger");
    let err = source(&url).list(None, LEDGER_STEM).await.unwrap_err();
    assert!(
        matches!(err, StorageError::ContainerNotFound { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "container no-such-ledger not found at devstoreaccount1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_sas_is_refused_clearly_and_its_signature_is_never_shown() {
    let Some(az) = Azurite::start() else { return };
    fill(&az.setup_client("ledger", None), &three_months()).await;
    let good = az.sas_url("ledger");
    let sig = good.split("sig=").nth(1).unwrap().to_string();
    let wrong_sig = format!("{}AAAA", &sig[..sig.len() - 4]);
    let wrong = good.replace(&sig, &wrong_sig);
    let url = ContainerUrl::parse(&wrong).unwrap();
    let err = source(&wrong).list(None, LEDGER_STEM).await.unwrap_err();
    assert!(matches!(err, StorageError::AccessDenied { .. }), "{err:?}");
    let text = format!("{err} {err:?} {url} {url:?}");
    assert!(text.contains("403") && text.contains("SAS"), "{text}");
    for secret in [
        &sig,
        &wrong_sig,
        &wrong_sig
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "="),
    ] {
        assert!(
            !text.contains(secret.as_str()),
            "a signature leaked: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_blobs_than_the_bound_are_in_flight_at_once() {
    let Some(az) = Azurite::start() else { return };
    fill(&az.setup_client("ledger", None), &three_months()).await;
    let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let counting = common::counting_transport(now.clone(), max.clone());
    let url = ContainerUrl::parse(&az.sas_url("ledger")).unwrap();
    let options = SourceOptions {
        concurrency: 3,
        transport: Some(counting),
        ..Default::default()
    };
    let src = ContainerSource::connect(&url, options).unwrap();
    let names = src.list(None, LEDGER_STEM).await.unwrap();
    max.store(0, Ordering::SeqCst);
    let outcome = src.read(&names).await;
    assert_eq!(outcome.blobs.len(), names.len());
    let peak = max.load(Ordering::SeqCst);
    assert!((1..=3).contains(&peak), "peak in flight {peak}");
}

#[test]
fn the_blocking_entry_point_reads_what_the_async_one_does() {
    let Some(az) = Azurite::start() else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let blobs = three_months();
    runtime.block_on(fill(&az.setup_client("ledger", None), &blobs));
    drop(runtime);
    let url = ContainerUrl::parse(&az.sas_url("ledger")).unwrap();
    let window = ListWindow::period("2026-10").unwrap();
    let outcome = chargeback_storage::fetch_blocking(
        &url,
        Some(&window),
        LEDGER_STEM,
        SourceOptions::default(),
    )
    .unwrap();
    assert_eq!(
        outcome.blobs.len(),
        100 + blobs
            .iter()
            .filter(|(n, _)| n.as_str() < "usage-2026-11-08" && n.starts_with("usage-2026-11-0"))
            .count()
    );
}

#[test]
fn a_plain_http_url_without_a_sas_asks_for_one() {
    let url = ContainerUrl::parse("http://127.0.0.1:10000/devstoreaccount1/ledger").unwrap();
    let err = ContainerSource::connect(&url, SourceOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("add a SAS"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sas_that_may_list_but_not_read_reports_every_blob_as_denied() {
    let Some(az) = Azurite::start() else { return };
    let blobs = three_months();
    fill(&az.setup_client("ledger", None), &blobs[..5]).await;
    let list_only = format!(
        "{}?{}",
        az.container_url("ledger"),
        common::account_sas("l")
    );
    let outcome = source(&list_only).fetch(None, LEDGER_STEM).await.unwrap();
    assert!(outcome.blobs.is_empty());
    assert_eq!(outcome.unreadable.len(), 5);
    for u in &outcome.unreadable {
        assert!(u.reason.starts_with("access denied: HTTP 403"), "{u:?}");
        assert!(!u.reason.contains("sig="), "{u:?}");
    }
}
