//! Removes secrets (subscription and API keys, bearer tokens, JWTs, SAS signatures, connection
//! string keys, passwords, client secrets, access/refresh/id tokens) from the raw text a dead letter
//! keeps, which may be valid JSON, JSON cut off at any byte, broken JSON or plain text, and holds
//! JSON inside its strings (escaped once or twice). Pure: no I/O; time and memory linear in the
//! input.
//!
//! Layout:
//! - [`redact`] (here): the entry point; picks the walk for valid JSON or walk + scan otherwise.
//! - `json`: the JSON walk (values under secret keys, recursion into every string).
//! - `scan`: the byte scanner (key-value pairs in any syntax, bearer tokens, JWTs, SAS `sig=`).
//! - `ends`: where the scanner's values end (remembered, so the scan stays linear).
//! - `unit`: what the scanner reads: characters and escapes (JSON at any level, `%XX`).
//! - `keys`: which key names are secret.
//! - `edit`: replacements as spans of the original text, spliced in.
//! - `fingerprint`: [`key_fingerprint`] and the `[redacted]` marker.
//!
//! What counts as a secret, what replaces it and the limits: `docs/redaction.md`.

mod edit;
mod ends;
mod fingerprint;
mod json;
mod keys;
mod scan;
mod unit;

pub use fingerprint::{key_fingerprint, FINGERPRINT_PREFIX, MARKER};

use edit::Edit;

/// Strings inside strings followed at most this deep; deeper text is still scanned.
const MAX_DEPTH: usize = 8;

/// `text` with every secret replaced: a string value by its fingerprint
/// (`key-sha256:<12 hex>`, see [`key_fingerprint`]) or, for passwords, by [`MARKER`]; any other
/// value under a secret key by `"[redacted]"`. Everything else is kept byte for byte, and valid
/// JSON stays valid JSON.
pub fn redact(text: &str) -> String {
    let edits = text_edits(text, 0);
    if edits.is_empty() {
        return text.to_string();
    }
    edit::apply(text, &edits)
}

/// The edits (sorted, disjoint) that redact `text`, itself `depth` strings deep.
pub(crate) fn text_edits(text: &str, depth: usize) -> Vec<Edit> {
    if depth >= MAX_DEPTH {
        return edit::merge(scan::edits(text));
    }
    if is_json(text) {
        return json::edits(text, depth, false);
    }
    let mut edits = json::edits(text, depth, true);
    edits.extend(scan::edits(text));
    edit::merge(edits)
}

/// Whether `text` is one valid JSON value (then the JSON walk alone is exact and keeps it valid).
fn is_json(text: &str) -> bool {
    let first = text.trim_start().as_bytes().first().copied();
    matches!(first, Some(b'{' | b'[' | b'"'))
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}
