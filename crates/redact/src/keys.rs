//! Which key names hold secrets: names are compared on their ASCII letters and digits only, lowercased.

/// How a secret name matches a normalised key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Match {
    /// The normalised key ends with the name (`x-api-key`, `AppSubscriptionKey`).
    Suffix,
    /// The normalised key is the name.
    Exact,
    /// The name alone, and only as a URL query parameter (`?code=…`, `&code=…`).
    Query,
}

/// What a secret key's value is replaced by.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Class {
    /// A machine-made key or token: replaced by its fingerprint, so a dead letter can still say
    /// which key was used.
    Key,
    /// A value a person chose (a password): a fingerprint could be found by guessing, so it is
    /// replaced by the fixed marker.
    Password,
}

/// Secret names, normalised (ASCII letters and digits, lowercase).
const NAMES: &[(&str, Match, Class)] = &[
    ("subscriptionkey", Match::Suffix, Class::Key),
    ("apikey", Match::Suffix, Class::Key),
    ("accountkey", Match::Suffix, Class::Key),
    ("accesskey", Match::Suffix, Class::Key),
    ("instrumentationkey", Match::Suffix, Class::Key),
    ("functionskey", Match::Suffix, Class::Key),
    ("functionkey", Match::Suffix, Class::Key),
    ("masterkey", Match::Suffix, Class::Key),
    ("hostkey", Match::Suffix, Class::Key),
    ("primarykey", Match::Suffix, Class::Key),
    ("secondarykey", Match::Suffix, Class::Key),
    ("privatekey", Match::Suffix, Class::Key),
    ("secretkey", Match::Suffix, Class::Key),
    ("signingkey", Match::Suffix, Class::Key),
    ("encryptionkey", Match::Suffix, Class::Key),
    ("authorization", Match::Suffix, Class::Key),
    ("secret", Match::Suffix, Class::Key),
    ("token", Match::Suffix, Class::Key),
    ("sharedaccesssignature", Match::Suffix, Class::Key),
    ("connectionstring", Match::Suffix, Class::Key),
    ("cookie", Match::Suffix, Class::Key),
    ("credential", Match::Suffix, Class::Key),
    ("credentials", Match::Suffix, Class::Key),
    ("sig", Match::Exact, Class::Key),
    ("code", Match::Query, Class::Key),
    ("password", Match::Suffix, Class::Password),
    ("passwd", Match::Suffix, Class::Password),
    ("pwd", Match::Exact, Class::Password),
];

/// The last three letters of every name (a quick first test: most words end otherwise).
const LAST_THREE: &[[u8; 3]] = &[
    *b"key", *b"ion", *b"ret", *b"ken", *b"ure", *b"ing", *b"kie", *b"ial", *b"als", *b"sig",
    *b"ode", *b"ord", *b"swd", *b"pwd",
];

/// The longest name, in bytes; a longer key is compared on its last `KEEP` letters and digits.
pub(crate) const KEEP: usize = 32;

/// A key name reduced to its ASCII letters and digits, lowercased, keeping the last [`KEEP`].
#[derive(Default)]
pub(crate) struct Normalised {
    buf: [u8; KEEP],
    len: usize,
    /// How many letters and digits were seen in all (more than `len` when the key was long).
    seen: usize,
}

impl Normalised {
    pub(crate) fn push(&mut self, c: char) {
        if !c.is_ascii_alphanumeric() {
            return;
        }
        let b = c.to_ascii_lowercase() as u8;
        if self.len == KEEP {
            self.buf.copy_within(1.., 0);
            self.len -= 1;
        }
        self.buf[self.len] = b;
        self.len += 1;
        self.seen += 1;
    }

    pub(crate) fn of(key: &str) -> Normalised {
        let mut n = Normalised::default();
        key.chars().for_each(|c| n.push(c));
        n
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn is_whole(&self) -> bool {
        self.seen == self.len
    }

    /// Whether this is exactly `word` (ASCII, lowercase).
    pub(crate) fn is(&self, word: &str) -> bool {
        self.is_whole() && self.bytes() == word.as_bytes()
    }

    /// The class of secret a key of this name holds, if any. `query` says the key is a URL query
    /// parameter (preceded by `?`, `&` or `;`).
    pub(crate) fn secret_class(&self, query: bool) -> Option<Class> {
        let key = self.bytes();
        let ends_like_a_name = match key {
            [.., a, b, c] => LAST_THREE.contains(&[*a, *b, *c]),
            _ => false,
        };
        if !ends_like_a_name {
            return None;
        }
        NAMES.iter().find_map(|&(name, how, class)| {
            let hit = match how {
                Match::Suffix => key.ends_with(name.as_bytes()),
                Match::Exact => self.is(name),
                Match::Query => query && self.is(name),
            };
            hit.then_some(class)
        })
    }
}

/// The class of secret a JSON object key (already unescaped) holds, if any.
pub(crate) fn json_key_class(key: &str) -> Option<Class> {
    Normalised::of(key).secret_class(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_match_whatever_their_case_and_separators() {
        for key in [
            "api-key",
            "API_KEY",
            "ApiKey",
            "x-api-key",
            "Ocp-Apim-Subscription-Key",
            "ocp_apim_subscription_key",
            "AppSubscriptionKey",
            "client.secret",
            "refresh token",
            "Set-Cookie",
            "AccountKey",
            "sig",
        ] {
            assert_eq!(json_key_class(key), Some(Class::Key), "{key}");
        }
        assert_eq!(json_key_class("adminPassword"), Some(Class::Password));
    }

    #[test]
    fn the_quick_first_test_lets_every_name_through() {
        for (name, _, _) in NAMES {
            assert!(Normalised::of(name).secret_class(true).is_some(), "{name}");
        }
    }

    #[test]
    fn usage_and_error_keys_are_not_secrets() {
        for key in [
            "prompt_tokens",
            "completion_tokens",
            "max_tokens",
            "code",
            "subscriptionId",
            "requestId",
            "signature_name",
            "keys",
        ] {
            assert_eq!(json_key_class(key), None, "{key}");
        }
    }

    #[test]
    fn code_is_a_secret_only_as_a_query_parameter() {
        assert!(Normalised::of("code").secret_class(true).is_some());
        assert!(Normalised::of("code").secret_class(false).is_none());
    }

    #[test]
    fn a_long_key_is_compared_on_its_end() {
        let key = format!("{}-api-key", "x".repeat(100));
        assert_eq!(json_key_class(&key), Some(Class::Key));
        assert_eq!(json_key_class(&format!("{}sig", "x".repeat(40))), None);
    }
}
