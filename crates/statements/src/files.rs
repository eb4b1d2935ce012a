//! Output files: a statement's lines as CSV (exact amounts), safe file names from ids, and a whole
//! statement set (one HTML and one CSV per statement, plus `index.html`) written into a directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::html::{render_overview_html_with_links, render_statement_html};
use crate::model::{Overview, Statement, TokenKind};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// The statement's lines as CSV with a header; amounts and rates exact (not rounded).
pub fn render_statement_csv(st: &Statement) -> Result<String, WriteError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "period",
        "id",
        "displayName",
        "costCenter",
        "deployment",
        "model",
        "deploymentType",
        "tokenKind",
        "quantity",
        "unit",
        "rate",
        "amount",
        "currency",
        "kind",
        "priceSheet",
    ])?;
    let period = st.period.to_string();
    for l in &st.lines {
        w.write_record([
            period.as_str(),
            &st.who.id,
            &st.who.display_name,
            st.who.cost_center.as_deref().unwrap_or(""),
            &l.deployment,
            &l.model,
            &l.deployment_type,
            l.token_kind.map(TokenKind::as_str).unwrap_or("all"),
            &l.quantity.to_string(),
            &l.unit,
            &l.rate.map(|r| r.to_string()).unwrap_or_default(),
            &l.amount.to_string(),
            &st.currency,
            l.kind.as_str(),
            &st.price_sheet_version,
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| WriteError::Io {
        path: PathBuf::from("<csv buffer>"),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A file stem from an id: ASCII letters, digits, `-`, `_` and `.` kept, anything else becomes `_`,
/// no leading dot, at most 80 characters; never empty. No separator survives, so the name cannot
/// leave the directory: `../../x` becomes `_._.._x`.
pub fn safe_stem(id: &str) -> String {
    let mut s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    while s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    if s.is_empty() {
        s.push('_');
    }
    s
}

fn write(path: &Path, text: &str) -> Result<(), WriteError> {
    std::fs::write(path, text).map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Picks a stem per statement, unique ignoring case (ids differing only by unsafe characters or
/// case get `-2`, `-3`…; a second currency of one id gets `-EUR` first).
fn stems(statements: &[Statement]) -> Vec<String> {
    let mut used = BTreeSet::new();
    used.insert("index".to_string());
    statements
        .iter()
        .map(|st| {
            let base = safe_stem(&st.who.id);
            let mut candidates = vec![base.clone(), format!("{base}-{}", safe_stem(&st.currency))];
            candidates.extend(
                (2..)
                    .take(statements.len() + 1)
                    .map(|n| format!("{base}-{n}")),
            );
            let stem = candidates
                .into_iter()
                .find(|c| !used.contains(&c.to_ascii_lowercase()))
                .unwrap_or(base);
            used.insert(stem.to_ascii_lowercase());
            stem
        })
        .collect()
}

/// Writes `index.html` (the overview, linking each row to its statement) and, per statement,
/// `<stem>.html` and `<stem>.csv` into `dir` (created if missing). Returns the paths written,
/// `index.html` first.
pub fn write_statement_set(
    dir: &Path,
    overview: &Overview,
    statements: &[Statement],
) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let stems = stems(statements);
    let mut links = BTreeMap::new();
    for (st, stem) in statements.iter().zip(&stems) {
        links
            .entry(st.who.id.clone())
            .or_insert_with(|| format!("{stem}.html"));
    }
    let mut written = Vec::with_capacity(1 + 2 * statements.len());
    let index = dir.join("index.html");
    write(&index, &render_overview_html_with_links(overview, &links))?;
    written.push(index);
    for (st, stem) in statements.iter().zip(&stems) {
        let html = dir.join(format!("{stem}.html"));
        write(&html, &render_statement_html(st))?;
        written.push(html);
        let csv = dir.join(format!("{stem}.csv"));
        write(&csv, &render_statement_csv(st)?)?;
        written.push(csv);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_names_that_cannot_leave_the_directory() {
        for id in [
            "../../x",
            "/etc/passwd",
            "..",
            "a/b\\c",
            "C:\\x",
            "",
            ".hidden",
        ] {
            let s = safe_stem(id);
            assert!(
                !s.contains('/') && !s.contains('\\') && !s.starts_with('.'),
                "{id} -> {s}"
            );
            assert!(!s.is_empty());
        }
        assert_eq!(safe_stem("../../x"), "_._.._x");
        assert_eq!(safe_stem("3f9a1c52-7d1e"), "3f9a1c52-7d1e");
    }
}
