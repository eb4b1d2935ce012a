//! Delivery verdicts: what the handler answers once an invocation's telemetry was sent.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chargeback_appinsights::{AppInsights, DeliveryReport};
use chargeback_core::{RetryContext, UsageRecord};
use serde_json::json;

use crate::routes::Stats;
use crate::shutdown::ShutdownState;

/// The host's function timeout (`host.json` `functionTimeout`): an invocation's telemetry never
/// retries past it (minus [`FUNCTION_TIMEOUT_MARGIN`]), whatever the telemetry budget says.
pub(crate) const HOST_FUNCTION_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Time kept between the end of telemetry retries and the host's function timeout.
pub(crate) const FUNCTION_TIMEOUT_MARGIN: Duration = Duration::from_secs(30);
/// What the handler does with an invocation after its telemetry was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Everything accepted: 200 with the ledger as is.
    Delivered,
    /// Retriable failures and the host will try again: 503, nothing written.
    HostRetry,
    /// 200 with the ledger, the records not accepted marked `telemetryUndelivered` (the reason).
    MarkInLedger(&'static str),
}

/// The delivery rule (`docs/telemetry.md`) as a pure function of the report and the host's retry state.
pub(crate) fn telemetry_verdict(report: &DeliveryReport, retry: Option<RetryContext>) -> Verdict {
    if report.is_complete() {
        return Verdict::Delivered;
    }
    if !report.needs_host_retry() {
        return Verdict::MarkInLedger("refused permanently by ingestion");
    }
    match retry {
        Some(r) if !r.is_last() => Verdict::HostRetry,
        Some(_) => Verdict::MarkInLedger("last host retry"),
        None => Verdict::MarkInLedger("no retry policy on the invocation"),
    }
}

fn retry_note(retry: Option<RetryContext>) -> String {
    retry
        .map(|r| format!(" (retry {}/{})", r.retry_count, r.max_retry_count))
        .unwrap_or_default()
}

/// The invocation a delivery was for: its id (for logs) and the host's retry state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Invoked<'a> {
    pub(crate) id: Option<&'a str>,
    pub(crate) retry: Option<RetryContext>,
}

/// Applies the verdict on `report`: counts it, adds its log lines to `logs`, marks the records
/// not accepted when the ledger must keep them; `Some` is the 503 to answer instead of the
/// ledger when the host should re-deliver the batch.
pub(crate) fn settle(
    stats: &Stats,
    report: &DeliveryReport,
    call: Invoked<'_>,
    records: &mut [UsageRecord],
    logs: &mut Vec<String>,
) -> Option<Response> {
    logs.push(report.summary());
    stats
        .telemetry_accepted
        .fetch_add(report.accepted as u64, Ordering::Relaxed);
    let invocation_id = call.id.unwrap_or("");
    match telemetry_verdict(report, call.retry) {
        Verdict::Delivered => None,
        Verdict::HostRetry => {
            stats.host_retries_requested.fetch_add(1, Ordering::Relaxed);
            let message = format!(
                "{}; answering 503 so the host re-delivers the batch{}",
                report.summary(),
                retry_note(call.retry)
            );
            tracing::warn!(
                invocation_id,
                undelivered = report.undelivered.len(),
                "telemetry undelivered: answering 503 so the host re-delivers the batch"
            );
            Some(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({ "error": message, "Logs": logs, "ReturnValue": null })),
                )
                    .into_response(),
            )
        }
        Verdict::MarkInLedger(why) => {
            report.mark_undelivered(records);
            let marked = report.not_delivered().len();
            stats
                .telemetry_marked
                .fetch_add(marked as u64, Ordering::Relaxed);
            let line = format!(
                "telemetry: {marked} records marked telemetryUndelivered in the ledger ({why}); \
                 resend them with `chargeback resend`"
            );
            tracing::warn!(invocation_id, marked, "{line}");
            logs.push(line);
            None
        }
    }
}

/// Sends `records` within the telemetry budget, the host's function timeout and, once a shutdown
/// has begun, the drain's answer-by instant (then every record counts as undelivered; ingestion
/// dedupes nothing, but readers dedupe on `TokenInfoId`).
pub(crate) async fn deliver(
    shutdown: &ShutdownState,
    sink: &AppInsights,
    records: &[UsageRecord],
    invocation_id: Option<&str>,
    started: Instant,
) -> DeliveryReport {
    let host_bound = started + HOST_FUNCTION_TIMEOUT.saturating_sub(FUNCTION_TIMEOUT_MARGIN);
    let deadline = sink.deadline_from_now().min(host_bound);
    tokio::select! {
        report = sink.send(records, invocation_id, deadline) => report,
        () = shutdown.answer_by() => {
            tracing::warn!(
                records = records.len(),
                "telemetry cut short by the shutdown drain cap; the records count as undelivered"
            );
            DeliveryReport {
                records: records.len(),
                undelivered: (0..records.len()).collect(),
                last_error: Some("cut short by shutdown".into()),
                ..DeliveryReport::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(records: usize, undelivered: Vec<usize>, dropped: Vec<usize>) -> DeliveryReport {
        DeliveryReport {
            records,
            accepted: records - undelivered.len() - dropped.len(),
            undelivered,
            dropped,
            ..DeliveryReport::default()
        }
    }

    fn retry(count: i64, max: i64) -> Option<RetryContext> {
        Some(RetryContext {
            retry_count: count,
            max_retry_count: max,
        })
    }

    #[test]
    fn a_complete_delivery_is_simply_delivered() {
        assert_eq!(
            telemetry_verdict(&report(3, vec![], vec![]), retry(0, 5)),
            Verdict::Delivered
        );
    }

    #[test]
    fn undelivered_records_ask_the_host_to_retry_unless_it_is_the_last_chance() {
        let r = report(3, vec![1], vec![]);
        assert_eq!(telemetry_verdict(&r, retry(4, 5)), Verdict::HostRetry);
        assert_eq!(
            telemetry_verdict(&r, retry(5, 5)),
            Verdict::MarkInLedger("last host retry")
        );
        assert!(matches!(
            telemetry_verdict(&r, None),
            Verdict::MarkInLedger(_)
        ));
        assert_eq!(telemetry_verdict(&r, retry(9, -1)), Verdict::HostRetry);
    }

    #[test]
    fn permanently_refused_records_never_cause_a_host_retry() {
        assert!(matches!(
            telemetry_verdict(&report(3, vec![], vec![0, 2]), retry(0, 5)),
            Verdict::MarkInLedger(_)
        ));
    }
}
