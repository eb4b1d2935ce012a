//! The exit-code scheme every command follows: what each number means, and how a command that
//! saw several outcomes picks one (the highest wins; stderr names each).

/// Shown at the end of every command's `--help`.
pub(crate) const EXIT_CODES_HELP: &str = "Exit status:
  0  all good
  1  failed: nothing, or not everything, could be read or written
  2  usage error (a flag or argument the command does not take)
  3  processed with rejects: dead letters, skipped lines or unreadable blobs
  4  a budget was exceeded
When several apply, the highest wins and stderr names each.";

/// One outcome of a command; the exit status is its number. Ordered: a higher outcome wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) enum Outcome {
    /// 0: all good.
    #[default]
    Ok,
    /// 1: nothing, or not everything, could be read (or written).
    Failed,
    /// 2: a usage error. clap exits with 2 itself; the code is here so nothing else takes it.
    Usage,
    /// 3: processed, with rejects (dead letters, skipped lines, unreadable blobs).
    Rejects,
    /// 4: a budget was exceeded.
    #[allow(dead_code)] // the budget commands (statements) use it
    BudgetExceeded,
}

impl Outcome {
    /// The process exit status.
    pub(crate) fn code(self) -> i32 {
        match self {
            Outcome::Ok => 0,
            Outcome::Failed => 1,
            Outcome::Usage => 2,
            Outcome::Rejects => 3,
            Outcome::BudgetExceeded => 4,
        }
    }

    /// What the status means, for the closing stderr line.
    pub(crate) fn meaning(self) -> &'static str {
        match self {
            Outcome::Ok => "all good",
            Outcome::Failed => "failed: not everything could be read or written",
            Outcome::Usage => "usage error",
            Outcome::Rejects => "processed with rejects",
            Outcome::BudgetExceeded => "a budget was exceeded",
        }
    }
}

/// The outcomes a command collected, each with the reason stderr gives for it.
#[derive(Debug, Default)]
pub(crate) struct Outcomes {
    seen: Vec<(Outcome, String)>,
}

impl Outcomes {
    /// Records `outcome` for `reason` (`Outcome::Ok` is never recorded: it is the absence of
    /// anything else).
    pub(crate) fn add(&mut self, outcome: Outcome, reason: impl Into<String>) {
        if outcome != Outcome::Ok {
            self.seen.push((outcome, reason.into()));
        }
    }

    /// Records `outcome` when `count` is not zero, with the reason `"{count} {what}"`.
    pub(crate) fn count(&mut self, outcome: Outcome, count: u64, what: &str) {
        if count > 0 {
            self.add(outcome, format!("{count} {what}"));
        }
    }

    /// The winning outcome: the highest seen, or `Ok`.
    pub(crate) fn outcome(&self) -> Outcome {
        self.seen.iter().map(|(o, _)| *o).max().unwrap_or_default()
    }

    /// The stderr lines naming each outcome seen (none when all was good).
    pub(crate) fn lines(&self, command: &str) -> Vec<String> {
        let mut sorted: Vec<&(Outcome, String)> = self.seen.iter().collect();
        sorted.sort_by_key(|b| std::cmp::Reverse(b.0));
        sorted
            .iter()
            .map(|(o, why)| format!("{command}: exit {} ({}): {why}", o.code(), o.meaning()))
            .collect()
    }

    /// Prints the lines on stderr and gives the exit status.
    pub(crate) fn finish(self, command: &str) -> i32 {
        for line in self.lines(command) {
            eprintln!("{line}");
        }
        self.outcome().code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_recorded_is_all_good() {
        let o = Outcomes::default();
        assert_eq!(o.outcome().code(), 0);
        assert!(o.lines("x").is_empty());
    }

    #[test]
    fn the_highest_outcome_wins_and_every_one_is_named() {
        let mut o = Outcomes::default();
        o.count(Outcome::Rejects, 2, "dead letters");
        o.count(Outcome::Rejects, 0, "skipped lines");
        o.add(Outcome::Failed, "cannot open a.jsonl");
        o.add(Outcome::BudgetExceeded, "team-a over budget");
        assert_eq!(o.outcome().code(), 4);
        let lines = o.lines("chargeback replay");
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("exit 4"), "{lines:?}");
        assert!(lines[1].contains("exit 3") && lines[1].contains("2 dead letters"));
        assert!(lines[2].contains("exit 1") && lines[2].contains("a.jsonl"));
    }

    #[test]
    fn rejects_outrank_a_failure() {
        let mut o = Outcomes::default();
        o.add(Outcome::Failed, "x");
        o.add(Outcome::Rejects, "y");
        assert_eq!(o.outcome(), Outcome::Rejects);
    }
}
