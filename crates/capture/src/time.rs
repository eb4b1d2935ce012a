//! `EnqueuedTimeUtc` as Capture writes it: .NET's `DateTime.ToString()` in US culture,
//! `M/d/yyyy h:mm:ss tt` (e.g. `2/6/2023 6:29:45 PM`), always UTC. Parsed strictly: any other
//! shape (leading zeros, 24-hour clock, ISO text, a zone) is an error rather than a guess.

use chrono::NaiveDateTime;

/// The .NET pattern in chrono's terms: `%-m/%-d/%Y %-I:%M:%S %p`.
const PARSE: &str = "%m/%d/%Y %I:%M:%S %p";
const CANONICAL: &str = "%-m/%-d/%Y %-I:%M:%S %p";

/// Why an `EnqueuedTimeUtc` text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("EnqueuedTimeUtc {text:?} is not M/d/yyyy h:mm:ss AM|PM (UTC)")]
pub struct TimeError {
    /// The refused text (a timestamp, never event content).
    pub text: String,
}

/// Parses `M/d/yyyy h:mm:ss tt` (US culture, UTC) into RFC 3339 UTC (`2023-02-06T18:29:45Z`).
pub fn parse_enqueued_time(text: &str) -> Result<String, TimeError> {
    let err = || TimeError {
        text: text.chars().take(40).collect(),
    };
    let parsed = NaiveDateTime::parse_from_str(text, PARSE).map_err(|_| err())?;
    // chrono accepts `02/06/2023` and `am` too; .NET writes neither, so only the canonical
    // rendering of the parsed time is taken.
    if parsed.format(CANONICAL).to_string() != text {
        return Err(err());
    }
    Ok(parsed.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_afternoon_time_becomes_its_24_hour_utc_instant() {
        assert_eq!(
            parse_enqueued_time("2/6/2023 6:29:45 PM").unwrap(),
            "2023-02-06T18:29:45Z"
        );
    }

    #[test]
    fn midnight_and_noon_follow_the_12_hour_clock() {
        assert_eq!(
            parse_enqueued_time("11/30/2026 12:00:01 AM").unwrap(),
            "2026-11-30T00:00:01Z"
        );
        assert_eq!(
            parse_enqueued_time("12/1/2026 12:59:59 PM").unwrap(),
            "2026-12-01T12:59:59Z"
        );
    }

    #[test]
    fn any_other_shape_is_refused_with_the_text_in_the_message() {
        for bad in [
            "2023-02-06T18:29:45Z",
            "02/06/2023 6:29:45 PM",
            "2/6/2023 06:29:45 PM",
            "2/6/2023 18:29:45",
            "2/6/2023 6:29:45 pm",
            "2/6/2023 6:29 PM",
            "2/30/2023 6:29:45 PM",
            "13/6/2023 6:29:45 PM",
            " 2/6/2023 6:29:45 PM",
            "2/6/2023 6:29:45 PM +00:00",
            "",
        ] {
            let e = parse_enqueued_time(bad).unwrap_err();
            assert!(e.to_string().contains("M/d/yyyy"), "{bad}: {e}");
        }
    }
}
