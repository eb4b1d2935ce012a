//! Finds the line:column of the value at a JSON path (`rates[3].input`) in a sheet's text, so
//! semantic errors point into the file like syntax errors do.

use std::fmt;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the document root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonPath(pub Vec<Seg>);

impl JsonPath {
    pub fn root() -> JsonPath {
        JsonPath(Vec::new())
    }

    pub fn key(&self, k: &str) -> JsonPath {
        let mut p = self.0.clone();
        p.push(Seg::Key(k.to_string()));
        JsonPath(p)
    }

    pub fn index(&self, i: usize) -> JsonPath {
        let mut p = self.0.clone();
        p.push(Seg::Index(i));
        JsonPath(p)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of the value at `path`, or of the deepest enclosing
/// value found when a step is missing. The text must be valid JSON.
pub fn position_of(text: &str, path: &JsonPath) -> (usize, usize) {
    let offset = Scanner {
        s: text.as_bytes(),
        i: 0,
    }
    .find(path)
    .unwrap_or(0);
    line_col(text, offset)
}

/// The text of the JSON number at `path` (`2.30`, `1e-3`), exactly as written; `None` when the
/// path does not reach a number. The text must be valid JSON.
pub fn number_text_at<'a>(text: &'a str, path: &JsonPath) -> Option<&'a str> {
    let mut scanner = Scanner {
        s: text.as_bytes(),
        i: 0,
    };
    scanner.ws();
    for seg in &path.0 {
        let found = match seg {
            Seg::Key(k) => scanner.enter_member(k),
            Seg::Index(n) => scanner.enter_element(*n),
        };
        if !found {
            return None;
        }
    }
    let rest = text.get(scanner.i..)?;
    let len = rest
        .find(|c: char| !matches!(c, '0'..='9' | '-' | '+' | '.' | 'e' | 'E'))
        .unwrap_or(rest.len());
    Some(&rest[..len]).filter(|n| !n.is_empty())
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    /// Offset of the value at `path` (or of the last value reached).
    fn find(&mut self, path: &JsonPath) -> Option<usize> {
        self.ws();
        let mut at = self.i;
        for seg in &path.0 {
            let found = match seg {
                Seg::Key(k) => self.enter_member(k),
                Seg::Index(n) => self.enter_element(*n),
            };
            if !found {
                return Some(at);
            }
            at = self.i;
        }
        Some(at)
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    /// At an object: moves to the value of member `key`.
    fn enter_member(&mut self, key: &str) -> bool {
        if self.s.get(self.i) != Some(&b'{') {
            return false;
        }
        self.i += 1;
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return false;
            }
            let name = self.string();
            self.ws();
            self.i += 1; // ':'
            self.ws();
            if name.as_deref() == Some(key) {
                return true;
            }
            self.skip_value();
            self.ws();
            if self.s.get(self.i) != Some(&b',') {
                return false;
            }
            self.i += 1;
        }
    }

    /// At an array: moves to element `n`.
    fn enter_element(&mut self, n: usize) -> bool {
        if self.s.get(self.i) != Some(&b'[') {
            return false;
        }
        self.i += 1;
        for _ in 0..n {
            self.ws();
            self.skip_value();
            self.ws();
            if self.s.get(self.i) != Some(&b',') {
                return false;
            }
            self.i += 1;
        }
        self.ws();
        self.s.get(self.i).is_some_and(|&b| b != b']')
    }

    /// Reads a string literal's raw content (escapes kept as written, enough for key names).
    fn string(&mut self) -> Option<String> {
        let start = self.i + 1;
        self.skip_string();
        let end = self.i.saturating_sub(1).max(start);
        std::str::from_utf8(&self.s[start..end])
            .ok()
            .map(str::to_string)
    }

    fn skip_string(&mut self) {
        self.i += 1;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return;
                }
                _ => self.i += 1,
            }
        }
    }

    fn skip_value(&mut self) {
        match self.s.get(self.i) {
            Some(b'"') => self.skip_string(),
            Some(b'{') | Some(b'[') => {
                let mut depth = 0usize;
                while self.i < self.s.len() {
                    match self.s[self.i] {
                        b'"' => {
                            self.skip_string();
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while self.i < self.s.len()
                    && !matches!(self.s[self.i], b',' | b'}' | b']')
                    && !self.s[self.i].is_ascii_whitespace()
                {
                    self.i += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\n  \"version\": \"x\",\n  \"rates\": [\n    {\"model\": \"a\", \"note\": \"]}\\\"\"},\n    { \"model\": \"b\",\n      \"input\": -1 }\n  ]\n}\n";

    #[test]
    fn the_nth_rate_and_its_fields_are_found_by_line_and_column() {
        let rates = JsonPath::root().key("rates");
        assert_eq!(position_of(TEXT, &rates), (3, 12));
        assert_eq!(position_of(TEXT, &rates.index(0)), (4, 5));
        assert_eq!(position_of(TEXT, &rates.index(1)), (5, 5));
        assert_eq!(position_of(TEXT, &rates.index(1).key("input")), (6, 16));
        assert_eq!(rates.index(1).key("input").to_string(), "rates[1].input");
    }

    #[test]
    fn a_missing_step_points_at_the_deepest_value_found() {
        let p = JsonPath::root().key("rates").index(1).key("currency");
        assert_eq!(position_of(TEXT, &p), (5, 5));
        assert_eq!(
            position_of(TEXT, &JsonPath::root().key("rates").index(7)),
            (3, 12)
        );
        assert_eq!(position_of(TEXT, &JsonPath::root()), (1, 1));
    }

    fn char_at(text: &str, (line, col): (usize, usize)) -> Option<char> {
        text.lines().nth(line - 1)?.chars().nth(col - 1)
    }

    proptest::proptest! {
        #[test]
        fn every_rate_and_its_model_are_found_in_any_layout(
            models in proptest::collection::vec("[a-z\\[\\]{}\",:é ]{0,12}", 1..6),
            pretty in proptest::bool::ANY,
        ) {
            let rates: Vec<serde_json::Value> = models
                .iter()
                .map(|m| serde_json::json!({"note": "}{][", "model": m, "input": 1}))
                .collect();
            let doc = serde_json::json!({"version": "v", "rates": rates});
            let text = if pretty {
                serde_json::to_string_pretty(&doc).unwrap()
            } else {
                serde_json::to_string(&doc).unwrap()
            };
            for (i, m) in models.iter().enumerate() {
                let rate = JsonPath::root().key("rates").index(i);
                proptest::prop_assert_eq!(char_at(&text, position_of(&text, &rate)), Some('{'));
                let model = position_of(&text, &rate.key("model"));
                let rest: String = text.lines().nth(model.0 - 1).unwrap().chars().skip(model.1 - 1).collect();
                let literal = serde_json::to_string(m).unwrap();
                proptest::prop_assert!(rest.starts_with(&literal), "{} not at {:?}", literal, model);
            }
        }
    }
}
