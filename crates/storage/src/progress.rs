//! Progress of a download: a callback the caller chooses, and an indicatif bar for a terminal.

use std::sync::Arc;

/// Called after each blob is done (read or reported): `(done, total)`.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// A progress bar on stderr when `is_terminal` (the caller passes
/// `std::io::stderr().is_terminal()`), else `None`. It shows blob counts only, never names.
pub fn terminal_progress(is_terminal: bool) -> Option<Progress> {
    if !is_terminal {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} blobs {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(Arc::new(move |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        if done == total {
            bar.finish_and_clear();
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_a_terminal_there_is_no_bar_and_on_one_it_takes_every_count() {
        assert!(terminal_progress(false).is_none());
        let bar = terminal_progress(true).expect("a bar on a terminal");
        for done in 0..=3 {
            bar(done, 3);
        }
    }
}
