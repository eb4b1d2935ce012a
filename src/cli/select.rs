//! `--period` / `--since` / `--until`: which ledger records count, by their `eventTime` (UTC
//! days, inclusive). `report`, `resend` (and `statement`) flatten [`SelectArgs`] and hand the
//! [`Selection`] to `read_ledgers`.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use clap::Args;

use chargeback_core::{parse_time, UsageRecord};

/// The selection flags. With a container URL the listing is narrowed by blob name to the same
/// days plus the backlog days (docs/blob-ledger.md); records are always kept by `eventTime`,
/// local files included.
#[derive(Args, Clone, Default)]
pub(crate) struct SelectArgs {
    /// Only records whose eventTime falls in this calendar month (UTC), `YYYY-MM`.
    #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["since", "until"])]
    period: Option<String>,
    /// Only records whose eventTime is on or after this UTC day, `YYYY-MM-DD`.
    #[arg(long, value_name = "YYYY-MM-DD")]
    since: Option<NaiveDate>,
    /// Only records whose eventTime is on or before this UTC day, `YYYY-MM-DD`.
    #[arg(long, value_name = "YYYY-MM-DD")]
    until: Option<NaiveDate>,
}

impl SelectArgs {
    /// The chosen days; an error names the flag that is wrong.
    pub(crate) fn selection(&self) -> Result<Selection> {
        if let Some(p) = &self.period {
            return Selection::period(p);
        }
        if let (Some(s), Some(u)) = (self.since, self.until) {
            if u < s {
                bail!("--until {u} is before --since {s}");
            }
        }
        Ok(Selection {
            since: self.since,
            until: self.until,
        })
    }
}

/// The chosen UTC days (inclusive); no bound means open on that side, and no bound at all
/// (`Selection::default()`) keeps every record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
}

impl Selection {
    /// A calendar month `YYYY-MM`.
    pub(crate) fn period(p: &str) -> Result<Selection> {
        let first = NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d")
            .ok()
            .filter(|d| p.len() == 7 && d.day() == 1)
            .with_context(|| format!("--period {p:?} is not YYYY-MM"))?;
        let last = first
            .checked_add_months(Months::new(1))
            .and_then(|d| d.pred_opt())
            .with_context(|| format!("--period {p:?} is out of range"))?;
        Ok(Selection {
            since: Some(first),
            until: Some(last),
        })
    }

    /// True when nothing is selected: every record counts.
    pub(crate) fn is_everything(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// True when `r`'s `eventTime` is inside the selection; a record without a readable time is
    /// kept only when nothing is selected.
    pub(crate) fn contains(&self, r: &UsageRecord) -> bool {
        self.is_everything() || parse_time(&r.event_time).is_some_and(|t| self.contains_time(t))
    }

    fn contains_time(&self, t: DateTime<Utc>) -> bool {
        let day = t.date_naive();
        self.since.is_none_or(|s| day >= s) && self.until.is_none_or(|u| day <= u)
    }

    /// The first and last day, both bounds given (the listing window of a container).
    #[cfg_attr(not(feature = "blob"), allow(dead_code))]
    pub(crate) fn bounds(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.since.zip(self.until)
    }
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let day = |d: Option<NaiveDate>| d.map_or_else(|| "…".to_string(), |d| d.to_string());
        write!(f, "{}..{} (UTC)", day(self.since), day(self.until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_time(s).expect("a time")
    }

    #[test]
    fn a_period_takes_its_first_and_last_second_and_nothing_around_it() {
        let nov = Selection::period("2026-11").unwrap();
        assert!(nov.contains_time(at("2026-11-01T00:00:00Z")));
        assert!(nov.contains_time(at("2026-11-30T23:59:59.999Z")));
        assert!(!nov.contains_time(at("2026-10-31T23:59:59Z")));
        assert!(!nov.contains_time(at("2026-12-01T00:00:00Z")));
        // An offset time is judged by its UTC day.
        assert!(!nov.contains_time(at("2026-11-30T23:30:00-01:00")));
    }

    #[test]
    fn a_malformed_period_is_refused() {
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "", "2026-11-01"] {
            assert!(Selection::period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn since_after_until_is_refused_and_one_bound_leaves_the_other_side_open() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let args = SelectArgs {
            since: Some(d("2026-11-02")),
            until: Some(d("2026-11-01")),
            ..Default::default()
        };
        assert!(args.selection().is_err());
        let from = SelectArgs {
            since: Some(d("2026-11-02")),
            ..Default::default()
        }
        .selection()
        .unwrap();
        assert!(from.contains_time(at("2099-01-01T00:00:00Z")));
        assert!(!from.contains_time(at("2026-11-01T23:59:59Z")));
        assert_eq!(from.bounds(), None);
        assert!(Selection::default().is_everything());
    }
}
