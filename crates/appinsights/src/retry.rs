//! The retry decision, apart from the I/O: an ingestion answer in, the next step out
//! ([`classify`]); the backoff with full jitter and `Retry-After`.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

/// Statuses on which a whole request (or, in a 206, one item) is retried.
pub fn is_retriable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Backoff between attempts: exponential with full jitter, capped, and a bounded attempt count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff's upper bound; doubles per attempt.
    pub base_delay: Duration,
    /// No backoff (without `Retry-After`) is longer than this.
    pub max_delay: Duration,
    /// Requests per batch at most, counting the first (the deadline usually ends sooner).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(16),
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// The upper bound of the wait after the `attempt`-th failed request (1-based).
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1).min(30))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// A uniformly random wait in `[0, backoff_cap(attempt)]` ("full jitter").
    pub fn backoff(&self, attempt: u32) -> Duration {
        let cap = u64::try_from(self.backoff_cap(attempt).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=cap))
    }
}

/// The wait a `Retry-After` value asks for: delta-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let now = chrono::DateTime::<chrono::Utc>::from(now);
    Some(
        date.with_timezone(&chrono::Utc)
            .signed_duration_since(now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[derive(Deserialize)]
struct TrackResponse {
    #[serde(default, rename = "itemsReceived")]
    items_received: Option<u64>,
    #[serde(default)]
    errors: Vec<TrackItemError>,
}

#[derive(Deserialize)]
struct TrackItemError {
    index: usize,
    #[serde(rename = "statusCode")]
    status_code: u16,
}

/// One HTTP exchange's result, after redirects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

/// What to do after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing is left to send.
    Finished,
    /// Send what is still pending again, after this wait (`None`: the policy's backoff).
    Retry(Option<Duration>),
    /// The token was refused: refresh it once and send again at once.
    RefreshToken,
    /// Give up on this batch now: what is still pending is undelivered.
    Stop,
}

/// What one answer means for the records it carried (indexes into the caller's records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Classified {
    pub(crate) step: Step,
    /// Records ingestion accepted with this answer.
    pub(crate) accepted: usize,
    /// Records ingestion refused for good with this answer.
    pub(crate) dropped: Vec<usize>,
    /// Records still to send (after `Retry`), or left undelivered (after `Stop`).
    pub(crate) pending: Vec<usize>,
    /// The report's new `last_error`; `None` leaves it as it was.
    pub(crate) error: Option<String>,
}

/// Classifies ingestion's `answer` to a request that carried `pending`. `may_refresh_token`:
/// the request carried a bearer token not yet refreshed after a 401. No I/O (it only logs).
pub(crate) fn classify(answer: &Answer, pending: &[usize], may_refresh_token: bool) -> Classified {
    let status = answer.status;
    let mut out = Classified {
        step: Step::Stop,
        accepted: 0,
        dropped: Vec::new(),
        pending: pending.to_vec(),
        error: Some(format!("ingestion answered {status}")),
    };
    out.step = match status {
        200 | 206 => return accepted(answer, pending),
        401 if may_refresh_token => {
            tracing::info!("telemetry: ingestion answered 401; refreshing the token once");
            out.error = Some("401 Unauthorized".into());
            Step::RefreshToken
        }
        s if is_retriable(s) => Step::Retry(answer.retry_after),
        s @ (400 | 402 | 439) => {
            tracing::error!(
                status = s,
                dropped = pending.len(),
                "telemetry: ingestion refused the batch ({}); the records are not retried",
                if s == 400 {
                    "invalid data"
                } else {
                    "quota or daily cap exceeded"
                }
            );
            out.dropped = std::mem::take(&mut out.pending);
            Step::Stop
        }
        s => {
            tracing::error!(
                status = s,
                undelivered = pending.len(),
                "telemetry: ingestion answered a status that is not retried here \
                 (check the connection string, the identity and its role assignment)"
            );
            Step::Stop
        }
    };
    out
}

/// A 200 or 206: everything accepted, or (with item errors) the retriable items kept pending
/// and the others dropped. A 206 that cannot be read is sent again whole (readers dedupe on
/// `TokenInfoId`) rather than guessing which items were kept.
fn accepted(answer: &Answer, pending: &[usize]) -> Classified {
    let parsed: Option<TrackResponse> = serde_json::from_slice(&answer.body).ok();
    let Some(parsed) = parsed.filter(|p| !p.errors.is_empty()) else {
        let whole = answer.status == 206;
        return Classified {
            step: if whole {
                Step::Retry(answer.retry_after)
            } else {
                Step::Finished
            },
            accepted: if whole { 0 } else { pending.len() },
            dropped: Vec::new(),
            pending: if whole { pending.to_vec() } else { Vec::new() },
            error: whole.then(|| "unreadable 206 response".into()),
        };
    };
    if parsed
        .items_received
        .is_some_and(|n| n != pending.len() as u64)
    {
        tracing::warn!(
            sent = pending.len(),
            received = parsed.items_received,
            "telemetry: ingestion counted a different number of items"
        );
    }
    let mut retry = BTreeSet::new();
    let mut failed = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    let mut dropped = Vec::new();
    for e in &parsed.errors {
        let Some(&record) = pending.get(e.index) else {
            continue;
        };
        if !failed.insert(e.index) {
            continue;
        }
        statuses.insert(e.status_code);
        if is_retriable(e.status_code) {
            retry.insert(record);
        } else {
            dropped.push(record);
        }
    }
    if !dropped.is_empty() {
        tracing::error!(
            dropped = dropped.len(),
            item_statuses = ?statuses,
            "telemetry: ingestion rejected items permanently"
        );
    }
    let pending_now: Vec<usize> = retry.into_iter().collect();
    Classified {
        step: if pending_now.is_empty() {
            Step::Finished
        } else {
            Step::Retry(answer.retry_after)
        },
        accepted: pending.len() - failed.len(),
        dropped,
        pending: pending_now,
        error: Some(format!("partial success, item statuses {statuses:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: Some(Duration::from_secs(3)),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_200_accepts_every_pending_record() {
        let c = classify(&answer(200, r#"{"itemsReceived":3}"#), &[4, 5, 6], false);
        assert_eq!(
            (c.step, c.accepted, c.pending.len()),
            (Step::Finished, 3, 0)
        );
        assert_eq!(c.error, None);
    }

    #[test]
    fn a_206_keeps_the_retriable_items_and_drops_the_others() {
        let body = r#"{"itemsReceived":3,"itemsAccepted":1,"errors":[{"index":0,"statusCode":429},{"index":2,"statusCode":400}]}"#;
        let c = classify(&answer(206, body), &[4, 5, 6], false);
        assert_eq!(c.step, Step::Retry(Some(Duration::from_secs(3))));
        assert_eq!((c.accepted, c.pending, c.dropped), (1, vec![4], vec![6]));
    }

    #[test]
    fn an_unreadable_206_is_sent_again_whole() {
        let c = classify(&answer(206, "?"), &[1, 2], false);
        assert_eq!((c.accepted, c.pending), (0, vec![1, 2]));
        assert!(matches!(c.step, Step::Retry(_)));
    }

    #[test]
    fn a_401_refreshes_the_token_once_then_stops() {
        assert_eq!(
            classify(&answer(401, ""), &[1], true).step,
            Step::RefreshToken
        );
        let c = classify(&answer(401, ""), &[1], false);
        assert_eq!((c.step, c.pending), (Step::Stop, vec![1]));
    }

    #[test]
    fn retriable_statuses_retry_and_refusals_drop() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(
                classify(&answer(s, ""), &[1], false).step,
                Step::Retry(_)
            ));
        }
        for s in [400, 402, 439] {
            let c = classify(&answer(s, ""), &[1, 2], false);
            assert_eq!(
                (c.step, c.dropped, c.pending.len()),
                (Step::Stop, vec![1, 2], 0)
            );
        }
        let c = classify(&answer(404, ""), &[1], false);
        assert_eq!(
            (c.step, c.pending, c.dropped.len()),
            (Step::Stop, vec![1], 0)
        );
    }
}
