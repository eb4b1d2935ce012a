//! Time parsing: one reader of the timestamps events carry, and the two forms written out — the
//! record's `eventTime` and the telemetry item's `time`. Pure: no function here reads the clock;
//! a caller that needs "now" as a fallback passes it in.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Layouts accepted without an offset (taken as UTC): ISO with `T` or a space, and .NET's
/// invariant `M/d/yyyy h:mm:ss tt` (the original sample's `DateTime.UtcNow.ToString()`).
const NAIVE_LAYOUTS: [&str; 4] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
];

/// Reads a timestamp: RFC 3339, or one of the layouts without an offset (taken as UTC).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NAIVE_LAYOUTS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
}

/// Normalises a timestamp to RFC 3339 UTC, as the record's `eventTime` (fraction digits as
/// needed); `None` when it cannot be read.
pub fn normalize_time(s: &str) -> Option<String> {
    parse_time(s).map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// A telemetry item's `time`: ISO 8601 UTC with microseconds (`…Z`), the event's time when it
/// can be read, else `now` (the original text stays in the item's `Timestamp` dimension).
pub fn item_time(event_time: &str, now: impl FnOnce() -> DateTime<Utc>) -> String {
    parse_time(event_time)
        .unwrap_or_else(now)
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_normalised_to_rfc3339_utc() {
        assert_eq!(
            normalize_time("2026-11-02T09:15:00+01:00").as_deref(),
            Some("2026-11-02T08:15:00Z")
        );
        assert_eq!(
            normalize_time("2025-01-15T10:20:30.512").as_deref(),
            Some("2025-01-15T10:20:30.512Z")
        );
        assert_eq!(
            normalize_time("11/2/2026 9:15:00 AM").as_deref(),
            Some("2026-11-02T09:15:00Z")
        );
        assert_eq!(normalize_time("yesterday"), None);
    }

    #[test]
    fn an_item_time_has_microseconds_and_falls_back_to_the_given_now() {
        let now = || DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").map(|t| t.to_utc());
        let now = now().unwrap_or_default();
        assert_eq!(
            item_time("2025-03-04T06:06:07+01:00", || now),
            "2025-03-04T05:06:07.000000Z"
        );
        assert_eq!(
            item_time("not a time", || now),
            "2030-01-01T00:00:00.000000Z"
        );
    }
}
