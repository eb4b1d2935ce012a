//! Property tests: secrets of every class planted at random places, levels of JSON-in-JSON and
//! encodings, in valid events and in events cut at any byte, never survive; a valid event stays
//! valid JSON; an event without secrets comes out byte for byte.

use chargeback_redact::redact;
use proptest::prelude::*;
use proptest::sample::Index;

/// Natural words of secret key names (joined by a random separator, in a random case).
const KEY_NAMES: &[&[&str]] = &[
    &["api", "key"],
    &["x", "api", "key"],
    &["ocp", "apim", "subscription", "key"],
    &["subscription", "key"],
    &["app", "subscription", "key"],
    &["x", "functions", "key"],
    &["authorization"],
    &["client", "secret"],
    &["password"],
    &["refresh", "token"],
    &["access", "token"],
    &["id", "token"],
    &["account", "key"],
    &["shared", "access", "key"],
    &["instrumentation", "key"],
    &["set", "cookie"],
];

/// Words of ordinary text: escapes, non-ASCII, nothing secret.
const FILLER: &[&str] = &[
    "travel",
    "spend",
    "invoice",
    "plan",
    "the",
    "of",
    "Q3",
    "summary",
    "é",
    "日本",
    "😀",
    "line\nbreak",
    "tab\there",
    "say \"hi\"",
    "C:\\dir",
    "a/b",
    "50%",
    "x=1&y=2",
    "k: v",
    "<b>",
    "max_tokens",
    "api-version=2024-10-21",
];

/// A secret: `Zz` and ten capitals or digits (no filler contains `Zz`).
fn secret() -> impl Strategy<Value = String> {
    "[A-Z0-9]{10}".prop_map(|s| format!("Zz{s}"))
}

fn filler() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FILLER), 0..6).prop_map(|w| w.join(" "))
}

/// A key name spelled with a random separator, case and JSON escape (as JSON string content).
fn key_spelling() -> impl Strategy<Value = String> {
    (
        prop::sample::select(KEY_NAMES),
        prop::sample::select(&["-", "_", "", "."][..]),
        0..4usize,
        any::<Index>(),
        0..3usize,
    )
        .prop_map(|(words, sep, case, at, escape)| {
            let cased: Vec<String> = words
                .iter()
                .enumerate()
                .map(|(i, w)| match case {
                    0 => w.to_string(),
                    1 => w.to_uppercase(),
                    _ if case == 3 && i == 0 => w.to_string(),
                    _ => w[..1].to_uppercase() + &w[1..],
                })
                .collect();
            let name = cased.join(sep);
            let chars: Vec<char> = name.chars().collect();
            let k = at.index(chars.len());
            chars
                .iter()
                .enumerate()
                .map(|(i, c)| match escape {
                    1 if i == k => format!("\\u{:04x}", *c as u32),
                    2 if i == k || *c == '-' => format!("\\u{:04X}", *c as u32),
                    _ => c.to_string(),
                })
                .collect()
        })
}

/// A planted secret: JSON text for an object member, or plain text for inside a string.
#[derive(Debug, Clone)]
enum Plant {
    Member(String),
    Text(String),
}

fn member_plant(s: String) -> impl Strategy<Value = (Plant, Vec<String>)> {
    let gaps = prop::sample::select(&["", " ", "\n\t", "  \r\n "][..]);
    (key_spelling(), gaps, 0..4usize, secret()).prop_map(move |(key, gap, kind, s2)| {
        let value = match kind {
            0 => format!("\"{s}\""),
            1 => format!("[\"{s}\", 1, [\"{s2}\"]]"),
            2 => format!("{{\"value\":\"{s}\",\"more\":{{\"v\":\"{s2}\"}}}}"),
            _ => format!("\"prefix {s} suffix\""),
        };
        (
            Plant::Member(format!("\"{key}\":{gap}{value}")),
            vec![s.clone(), s2],
        )
    })
}

fn text_plant(s: String) -> impl Strategy<Value = (Plant, Vec<String>)> {
    let ws = prop::sample::select(&[" ", "\t", "  ", "\n", "\u{a0}", "\r\n "][..]);
    let amp = prop::sample::select(&["&", "&amp;"][..]);
    (0..8usize, ws, amp, key_spelling()).prop_map(move |(kind, ws, amp, key)| {
        let text = match kind {
            0 => format!("Bearer{ws}{s}"),
            1 => format!("eyJhbGciOiJSUzI1NiJ9.eyJ{s}.sig_{s}-x"),
            2 => format!("https://acct.blob.core.windows.net/c/b?sv=2022-11-02{amp}sig={s}%2B%3D{amp}se=2026"),
            3 => format!("DefaultEndpointsProtocol=https;AccountName=a;AccountKey={s}==;EndpointSuffix=core.windows.net"),
            4 => format!("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey={s}"),
            5 => format!("InstrumentationKey={s};IngestionEndpoint=https://x/"),
            6 => format!("https://fn.azurewebsites.net/api/x?code={s}{amp}clientId=default"),
            // A header line, the name as decoded text (its escapes are JSON escapes).
            _ => format!("{}:{ws}{s}\r\n", unescape_key(&key)),
        };
        (Plant::Text(text), vec![s.clone()])
    })
}

fn unescape_key(key: &str) -> String {
    serde_json::from_str(&format!("\"{key}\"")).unwrap_or_default()
}

fn plant() -> impl Strategy<Value = (Plant, Vec<String>)> {
    secret().prop_flat_map(|s| prop_oneof![member_plant(s.clone()), text_plant(s)].boxed())
}

/// How a text is written as a JSON string's content: standard, .NET-style (`&`, `+`, `<`, `>`,
/// `'` as `\u00XX`), or with quotes as `\u0022`.
fn encode(text: &str, style: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match (c, style) {
            ('"', 2) => out.push_str("\\u0022"),
            ('"', _) => out.push_str("\\\""),
            ('\\', _) => out.push_str("\\\\"),
            ('\n', _) => out.push_str("\\n"),
            ('\r', _) => out.push_str("\\r"),
            ('\t', _) => out.push_str("\\t"),
            ('&' | '+' | '<' | '>' | '\'', 1) => out.push_str(&format!("\\u{:04X}", c as u32)),
            (c, _) if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            (c, _) => out.push(c),
        }
    }
    out
}

/// One planted secret: which level of JSON-in-JSON (0 the event), where among the members, and
/// how strings are encoded.
#[derive(Debug, Clone)]
struct Placed {
    plant: Plant,
    level: usize,
    at: Index,
    filler: (String, String),
}

fn placed() -> impl Strategy<Value = (Placed, Vec<String>)> {
    (plant(), 0..3usize, any::<Index>(), filler(), filler()).prop_map(
        |((plant, secrets), level, at, before, after)| {
            let filler = (before, after);
            (
                Placed {
                    plant,
                    level,
                    at,
                    filler,
                },
                secrets,
            )
        },
    )
}

/// An APIM-like event whose request body holds JSON (which holds JSON), with the plants placed.
fn event_text(plants: &[Placed], fill: &[String], styles: (usize, usize)) -> String {
    let mut inner = String::new();
    for level in (0..3).rev() {
        let mut members: Vec<String> = match level {
            0 => vec![
                r#""requestId":"0b6f3c52-5d1e-4f5a-9a51-6f7c0e9d1a01""#.into(),
                r#""path":"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21""#
                    .into(),
                r#""statusCode":200"#.into(),
                format!(r#""response":"{}""#, encode(&fill[0], 0)),
            ],
            1 => vec![
                format!(
                    r#""messages":[{{"role":"user","content":"{}"}}]"#,
                    encode(&fill[1], 0)
                ),
                r#""max_tokens":200"#.into(),
            ],
            _ => vec![format!(
                r#""city":"{}","n":[1.50,2e3]"#,
                encode(&fill[2], 0)
            )],
        };
        if level < 2 {
            let style = if level == 0 { styles.0 } else { styles.1 };
            members.push(format!(r#""body":"{}""#, encode(&inner, style)));
        }
        for p in plants.iter().filter(|p| p.level == level) {
            let member = match &p.plant {
                Plant::Member(m) => m.clone(),
                Plant::Text(t) => {
                    let text = format!("{} {t} {}", p.filler.0, p.filler.1);
                    format!(r#""note":"{}""#, encode(&text, styles.0))
                }
            };
            let at = p.at.index(members.len() + 1);
            members.insert(at, member);
        }
        inner = format!("{{{}}}", members.join(","));
    }
    inner
}

fn event(planted: bool) -> impl Strategy<Value = (String, Vec<String>)> {
    let plants = if planted { 1..5usize } else { 0..1usize };
    (
        prop::collection::vec(placed(), plants),
        prop::collection::vec(filler(), 3),
        (0..3usize, 0..3usize),
    )
        .prop_map(move |(placed, fill, styles)| {
            let (plants, secrets): (Vec<Placed>, Vec<Vec<String>>) = placed.into_iter().unzip();
            let plants = if planted { plants } else { Vec::new() };
            (event_text(&plants, &fill, styles), secrets.concat())
        })
}

fn cut(text: &str, at: Index) -> &str {
    let mut i = at.index(text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    &text[..i]
}

/// The planted secrets found in `out`, as is or JSON-escaped once or twice.
fn survivors(out: &str, secrets: &[String]) -> Vec<String> {
    secrets
        .iter()
        .filter(|s| {
            let once = s.replace('\\', "\\\\").replace('"', "\\\"");
            let twice = once.replace('\\', "\\\\").replace('"', "\\\"");
            [s.as_str(), &once, &twice].iter().any(|f| out.contains(f))
        })
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_planted_secret_survives_a_valid_event(
        (text, secrets) in event(true)
    ) {
        prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "generator: {}", text);
        let out = redact(&text);
        prop_assert!(survivors(&out, &secrets).is_empty(), "{:?} survived\n in: {}\nout: {}", survivors(&out, &secrets), text, out);
    }

    #[test]
    fn a_valid_event_with_secrets_stays_valid_json((text, _) in event(true)) {
        let out = redact(&text);
        prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "not JSON:\n in: {}\nout: {}", text, out);
    }

    #[test]
    fn no_planted_secret_survives_an_event_cut_at_any_byte(
        (text, secrets) in event(true), at in any::<Index>()
    ) {
        let text = cut(&text, at);
        let out = redact(text);
        prop_assert!(survivors(&out, &secrets).is_empty(), "{:?} survived\n in: {}\nout: {}", survivors(&out, &secrets), text, out);
    }

    #[test]
    fn an_event_without_secrets_comes_out_byte_for_byte_whole_or_cut(
        (text, _) in event(false), at in any::<Index>()
    ) {
        prop_assert_eq!(redact(&text), text.clone());
        let text = cut(&text, at);
        prop_assert_eq!(redact(text), text);
    }

    #[test]
    fn plain_text_without_secrets_comes_out_byte_for_byte(text in filler()) {
        prop_assert_eq!(redact(&text), text.clone());
    }

    #[test]
    fn redacting_twice_changes_nothing_more((text, _) in event(true), at in any::<Index>()) {
        let once = redact(cut(&text, at));
        prop_assert_eq!(redact(&once), once.clone());
    }
}

#[test]
#[ignore = "prints generated events"]
fn print_some_events() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::default();
    for _ in 0..4 {
        let (text, secrets) = event(true).new_tree(&mut runner).unwrap().current();
        println!("{secrets:?}\n{text}\n{}\n", redact(&text));
    }
}
