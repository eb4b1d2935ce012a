//! What a secret becomes: its fingerprint (`key-sha256:…`) or the fixed marker `[redacted]`.

use sha2::{Digest, Sha256};

use crate::keys::Class;

/// The fixed marker for values that get no fingerprint (passwords, arrays, objects, numbers).
pub const MARKER: &str = "[redacted]";

/// What every fingerprint starts with.
pub const FINGERPRINT_PREFIX: &str = "key-sha256:";

/// `key-sha256:<first 12 hex of sha256(trimmed key)>`: identifies a key without revealing it.
pub fn key_fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(secret.trim().as_bytes());
    let mut out = String::with_capacity(FINGERPRINT_PREFIX.len() + 12);
    out.push_str(FINGERPRINT_PREFIX);
    for b in &digest[..6] {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(b & 0xf));
    }
    out
}

fn hex_digit(n: u8) -> char {
    char::from_digit(u32::from(n), 16).unwrap_or('0')
}

/// Whether a value is already a fingerprint or the marker (redacting twice changes nothing).
pub(crate) fn is_redacted(value: &str) -> bool {
    value.starts_with(FINGERPRINT_PREFIX) || value.starts_with(MARKER)
}

/// The replacement of a secret string value (its decoded text) of the given class.
pub(crate) fn replace_string(value: &str, class: Class) -> String {
    match class {
        Class::Key => key_fingerprint(value),
        Class::Password => MARKER.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_the_one_billing_already_uses() {
        // Pinned from today's `event::key_fingerprint` (the legacy-v1 sample's key).
        assert_eq!(
            key_fingerprint("5f2b8c0e9d4a4e7bb1c3d6e8f0a2b4c6"),
            "key-sha256:515cd339548e"
        );
        assert_eq!(
            key_fingerprint("  5f2b8c0e9d4a4e7bb1c3d6e8f0a2b4c6\n"),
            key_fingerprint("5f2b8c0e9d4a4e7bb1c3d6e8f0a2b4c6")
        );
    }

    #[test]
    fn a_password_gets_the_marker_not_a_guessable_fingerprint() {
        assert_eq!(replace_string("hunter2", Class::Password), MARKER);
        assert!(replace_string("k", Class::Key).starts_with(FINGERPRINT_PREFIX));
    }
}
