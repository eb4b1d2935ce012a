//! The listing window: which blob-name prefixes a period lists. Ledger blobs are named by the
//! Functions binding `usage-{DateTime}-{rand-guid}.jsonl`, and `{DateTime}` is the UTC time of the
//! invocation as `yyyy-MM-ddTHH-mm-ssZ`; so every blob of one UTC day starts with
//! `usage-yyyy-MM-dd`. An event lands in a blob named at or after its own time — a call near
//! midnight, or a backlog after an outage, in a later day's blob — so a window lists from the
//! first day of interest to [`BACKLOG_DAYS`] days after the last; the caller then selects records
//! by `eventTime`.

use chrono::{Datelike, Days, NaiveDate};

use crate::StorageError;

/// Days listed after the end of a period, for late invocations (retries, a backlog after an
/// outage). A record whose invocation came later than this is missed by a windowed listing; list
/// the whole container (no window) to be sure.
pub const BACKLOG_DAYS: u64 = 7;

/// The blob-name stem of ledger blobs (`usage-{DateTime}-{rand-guid}.jsonl`).
pub const LEDGER_STEM: &str = "usage-";

/// An inclusive range of UTC days whose blobs are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListWindow {
    first_day: NaiveDate,
    last_day: NaiveDate,
}

impl ListWindow {
    /// The window for a calendar month `YYYY-MM`: its first day to [`BACKLOG_DAYS`] days after
    /// its last.
    pub fn period(period: &str) -> Result<Self, StorageError> {
        let bad = || StorageError::Window(format!("period {period:?} is not YYYY-MM"));
        let (y, m) = period.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(bad)?;
        let last = next.pred_opt().ok_or_else(bad)?;
        Self::events_between(first, last)
    }

    /// The window for events from the day `since` to the day `until` (both inclusive, UTC):
    /// `since` to [`BACKLOG_DAYS`] days after `until`.
    pub fn events_between(since: NaiveDate, until: NaiveDate) -> Result<Self, StorageError> {
        if until < since {
            return Err(StorageError::Window(format!(
                "until {until} is before since {since}"
            )));
        }
        let last_day = until
            .checked_add_days(Days::new(BACKLOG_DAYS))
            .ok_or_else(|| StorageError::Window(format!("until {until} is out of range")))?;
        Ok(Self {
            first_day: since,
            last_day,
        })
    }

    /// The first listed day.
    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    /// The last listed day (the end of the events plus the backlog).
    pub fn last_day(&self) -> NaiveDate {
        self.last_day
    }

    /// One blob-name prefix per day: `{url_prefix}{stem}yyyy-MM-dd`.
    pub fn day_prefixes(&self, url_prefix: &str, stem: &str) -> Vec<String> {
        self.first_day
            .iter_days()
            .take_while(|d| *d <= self.last_day)
            .map(|d| {
                format!(
                    "{url_prefix}{stem}{:04}-{:02}-{:02}",
                    d.year(),
                    d.month(),
                    d.day()
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_lists_its_days_and_a_week_of_backlog() {
        let w = ListWindow::period("2026-11").unwrap();
        let p = w.day_prefixes("", LEDGER_STEM);
        assert_eq!(p.len(), 30 + 7);
        assert_eq!(p[0], "usage-2026-11-01");
        assert_eq!(p[29], "usage-2026-11-30");
        assert_eq!(p[36], "usage-2026-12-07");
    }

    #[test]
    fn december_spills_into_january_and_february_has_its_leap_day() {
        let dec = ListWindow::period("2026-12").unwrap();
        assert_eq!(dec.last_day(), NaiveDate::from_ymd_opt(2027, 1, 7).unwrap());
        let feb = ListWindow::period("2028-02").unwrap();
        assert_eq!(feb.day_prefixes("x/", "usage-")[28], "x/usage-2028-02-29");
    }

    #[test]
    fn a_malformed_period_or_reversed_range_is_refused() {
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "", "2026-11-01"] {
            assert!(ListWindow::period(bad).is_err(), "{bad}");
        }
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(ListWindow::events_between(d("2026-11-02"), d("2026-11-01")).is_err());
    }
}
