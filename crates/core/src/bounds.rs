//! The bounds of a real call (`docs/event-schema.md`, "Bounds"): what no API could have produced —
//! a status outside 100..=599 or not an integer, a token count that is negative, fractional, not a
//! number or above [`MAX_TOKENS_PER_CALL`], prompt and completion together above it, a total
//! smaller than its parts — makes the event a dead letter instead of a bill.
//!
//! Only impossible values are refused. Shapes real providers send are kept even when they look
//! odd: a total larger than prompt + completion, cached above prompt or reasoning above completion
//! (models behind Azure AI Foundry's OpenAI-compatible endpoint report such counts).

use std::fmt;

use memchr::memmem;
use serde::Deserialize;
use serde_json::{Number, Value};

use crate::body::{boundary_at_or_after, decode, objects_after_key, usage_key, Body};

/// The ceiling of any token count of one call, and of its prompt and completion together: 10^9,
/// a thousand times the largest context window (about 1M tokens) and far above what one
/// embeddings request can carry.
pub const MAX_TOKENS_PER_CALL: u64 = 1_000_000_000;

/// The statuses HTTP defines.
const STATUS_RANGE: std::ops::RangeInclusive<u64> = 100..=599;

/// A value no real call can have. The text names the field and, for numbers, the value; it never
/// repeats text from the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impossible {
    pub field: String,
    pub problem: Problem,
}

/// What is wrong with the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not a number (a string that is not an integer, a boolean, an array, an object).
    NotANumber(&'static str),
    NotAnInteger(String),
    Negative(String),
    OutOfRange {
        value: String,
        range: &'static str,
    },
    TotalBelowParts {
        total: u64,
        parts: u64,
    },
    /// Prompt and completion within the ceiling each, but not together.
    PartsAboveCeiling(u64),
}

impl fmt::Display for Impossible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = &self.field;
        match &self.problem {
            Problem::NotANumber(kind) => write!(f, "{field} is {kind}, not a number"),
            Problem::NotAnInteger(v) => write!(f, "{field} is {v}, not an integer"),
            Problem::Negative(v) => write!(f, "{field} is {v}, a negative count"),
            Problem::OutOfRange { value, range } => {
                write!(f, "{field} is {value}, outside {range}")
            }
            Problem::TotalBelowParts { total, parts } => write!(
                f,
                "{field} is {total}, less than the {parts} tokens of its parts"
            ),
            Problem::PartsAboveCeiling(parts) => write!(
                f,
                "{field} add up to {parts}, above the {MAX_TOKENS_PER_CALL} tokens of one call"
            ),
        }
    }
}

impl std::error::Error for Impossible {}

/// A number as it may be shown in a reason: at most 24 characters.
fn shown(n: &Number) -> String {
    let s = n.to_string();
    match s.char_indices().nth(24) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s,
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        Value::Number(_) => "a number",
    }
}

/// An unsigned integer within `max`, or why the number is not one.
fn integer_within(n: &Number, max: u64, range: &'static str) -> Result<u64, Problem> {
    if let Some(u) = n.as_u64() {
        return match u <= max {
            true => Ok(u),
            false => Err(Problem::OutOfRange {
                value: shown(n),
                range,
            }),
        };
    }
    let negative = n.as_i64().is_some() || n.as_f64().is_some_and(|f| f < 0.0);
    match (negative, n.as_f64()) {
        (true, _) => Err(Problem::Negative(shown(n))),
        (false, Some(f)) if f.fract() == 0.0 && f > max as f64 => Err(Problem::OutOfRange {
            value: shown(n),
            range,
        }),
        _ => Err(Problem::NotAnInteger(shown(n))),
    }
}

/// The event's `statusCode`: absent (`None`), or an integer 100..=599 given as a JSON integer or
/// a numeric string. Null and an empty string mean absent.
pub(crate) fn status_code(v: &Value, field: &str) -> Result<Option<u16>, Impossible> {
    let fault = |problem| Impossible {
        field: field.to_owned(),
        problem,
    };
    let n = match v {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => match s.trim().parse::<Number>() {
            Ok(n) => n,
            Err(_) => return Err(fault(Problem::NotANumber("a string"))),
        },
        Value::Number(n) => n.clone(),
        other => return Err(fault(Problem::NotANumber(kind_of(other)))),
    };
    let code = match integer_within(&n, *STATUS_RANGE.end(), "100..=599") {
        Ok(c) if STATUS_RANGE.contains(&c) => c,
        Ok(_) | Err(Problem::Negative(_)) => {
            return Err(fault(Problem::OutOfRange {
                value: shown(&n),
                range: "100..=599",
            }))
        }
        Err(p) => return Err(fault(p)),
    };
    Ok(u16::try_from(code).ok())
}

/// The counts of a usage object as written, any JSON type, for checking.
#[derive(Deserialize, Default)]
struct Counts {
    prompt_tokens: Option<Value>,
    completion_tokens: Option<Value>,
    total_tokens: Option<Value>,
    input_tokens: Option<Value>,
    output_tokens: Option<Value>,
    prompt_tokens_details: Option<Details>,
    input_tokens_details: Option<Details>,
    completion_tokens_details: Option<Details>,
    output_tokens_details: Option<Details>,
}

#[derive(Deserialize, Default)]
struct Details {
    cached_tokens: Option<Value>,
    reasoning_tokens: Option<Value>,
}

/// One count: absent or null is `None`; otherwise an integer 0..=[`MAX_TOKENS_PER_CALL`].
fn count(v: &Option<Value>, field: &str) -> Result<Option<u64>, Impossible> {
    let fault = |problem| Impossible {
        field: format!("usage.{field}"),
        problem,
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => integer_within(n, MAX_TOKENS_PER_CALL, "0..=1000000000")
            .map(Some)
            .map_err(fault),
        Some(other) => Err(fault(Problem::NotANumber(kind_of(other)))),
    }
}

impl Counts {
    fn check(&self) -> Result<(), Impossible> {
        let prompt = count(&self.prompt_tokens, "prompt_tokens")?;
        let input = count(&self.input_tokens, "input_tokens")?;
        let completion = count(&self.completion_tokens, "completion_tokens")?;
        let output = count(&self.output_tokens, "output_tokens")?;
        let total = count(&self.total_tokens, "total_tokens")?;
        for (details, name) in [
            (&self.prompt_tokens_details, "prompt_tokens_details"),
            (&self.input_tokens_details, "input_tokens_details"),
            (&self.completion_tokens_details, "completion_tokens_details"),
            (&self.output_tokens_details, "output_tokens_details"),
        ] {
            if let Some(d) = details {
                count(&d.cached_tokens, &format!("{name}.cached_tokens"))?;
                count(&d.reasoning_tokens, &format!("{name}.reasoning_tokens"))?;
            }
        }
        // The reader takes prompt_tokens before input_tokens, completion before output.
        let parts = prompt.or(input).unwrap_or(0) + completion.or(output).unwrap_or(0);
        if parts > MAX_TOKENS_PER_CALL {
            return Err(Impossible {
                field: "usage prompt and completion".into(),
                problem: Problem::PartsAboveCeiling(parts),
            });
        }
        match total {
            Some(total) if total < parts => Err(Impossible {
                field: "usage.total_tokens".into(),
                problem: Problem::TotalBelowParts { total, parts },
            }),
            _ => Ok(()),
        }
    }
}

/// [`check_response`] of a body's decoded text. A body that is still escaped is checked in its
/// escaped form: the same `"usage"` objects are found there (`body::objects_after_key`), and each
/// is decoded only as far as the usage reader reads it.
///
/// The body remembers where its last usage object starts, for the response reader.
pub(crate) fn check_body(body: &mut Body<'_>) -> Result<(), Impossible> {
    let Some(raw) = body.as_escaped() else {
        return check_response(&body.text());
    };
    let mut last = None;
    for open in objects_after_key(raw.as_bytes(), usage_key()) {
        last = Some(open);
        // The window grows until the object reads whole or fails before the window's end.
        let mut size = 1024;
        loop {
            let end = boundary_at_or_after(raw, open.saturating_add(size));
            let window = decode(raw.get(open..end).unwrap_or_default());
            let mut de = serde_json::Deserializer::from_str(&window);
            match Counts::deserialize(&mut de) {
                Ok(counts) => {
                    counts.check()?;
                    break;
                }
                Err(e) if e.is_eof() && end < raw.len() => size = size.saturating_mul(4),
                Err(_) => break,
            }
        }
    }
    body.set_last_usage_object(last);
    Ok(())
}

/// Checks every usage object in a logged response body (a JSON document, a cut one, or an event
/// stream): wherever `"usage"` is followed by an object, the counts the usage reader takes are
/// checked. An object that does not read whole (cut, or not a usage object at all) is left to the
/// reader; only a count that reads and is impossible is refused.
pub(crate) fn check_response(body: &str) -> Result<(), Impossible> {
    let bytes = body.as_bytes();
    for at in memmem::find_iter(bytes, b"\"usage\"") {
        let rest = bytes[at + 7..].trim_ascii_start();
        let Some(rest) = rest.strip_prefix(b":").map(<[u8]>::trim_ascii_start) else {
            continue;
        };
        if !rest.starts_with(b"{") {
            continue;
        }
        let mut de = serde_json::Deserializer::from_slice(rest);
        if let Ok(counts) = Counts::deserialize(&mut de) {
            counts.check()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reason(body: &str) -> Option<String> {
        check_response(body).err().map(|e| e.to_string())
    }

    #[test]
    fn the_usage_of_every_sample_shape_is_within_bounds() {
        for body in [
            r#"{"usage":{"prompt_tokens":1290,"completion_tokens":36,"total_tokens":1326,"prompt_tokens_details":{"cached_tokens":1152,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"accepted_prediction_tokens":0}}}"#,
            r#"{"object":"list","usage":{"prompt_tokens":21,"total_tokens":21}}"#,
            r#"{"object":"response","usage":{"input_tokens":3410,"input_tokens_details":{"cached_tokens":0},"output_tokens":1184,"output_tokens_details":{"reasoning_tokens":896},"total_tokens":4594}}"#,
            "data: {\"choices\":[],\"usage\":null}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":412,\"completion_tokens\":11,\"total_tokens\":423}}\n\ndata: [DONE]\n\n",
            r#"{"usage":{"prompt_tokens":5,"completion_tokens":null,"prompt_tokens_details":null}}"#,
        ] {
            assert_eq!(reason(body), None, "{body}");
        }
    }

    #[test]
    fn odd_but_real_provider_counts_are_kept() {
        // total above the parts (reasoning not in completion), cached above prompt, reasoning
        // above completion: reported by some models behind Foundry's OpenAI-compatible endpoint.
        for body in [
            r#"{"usage":{"prompt_tokens":20,"completion_tokens":424,"total_tokens":1016}}"#,
            r#"{"usage":{"prompt_tokens":21,"completion_tokens":0,"total_tokens":81,"completion_tokens_details":{"reasoning_tokens":60}}}"#,
            r#"{"usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":900}}}"#,
        ] {
            assert_eq!(reason(body), None, "{body}");
        }
    }

    #[test]
    fn a_count_no_real_call_can_have_is_named_with_its_problem() {
        let cases = [
            (
                r#"{"usage":{"prompt_tokens":18446744073709551615,"completion_tokens":1}}"#,
                "usage.prompt_tokens is 18446744073709551615, outside 0..=1000000000",
            ),
            (
                r#"{"usage":{"prompt_tokens":1000000001}}"#,
                "usage.prompt_tokens is 1000000001, outside 0..=1000000000",
            ),
            (
                r#"{"usage":{"prompt_tokens":1e30}}"#,
                "usage.prompt_tokens is 1e+30, outside 0..=1000000000",
            ),
            (
                r#"{"usage":{"prompt_tokens":-5,"completion_tokens":1}}"#,
                "usage.prompt_tokens is -5, a negative count",
            ),
            (
                r#"{"usage":{"input_tokens":3.5}}"#,
                "usage.input_tokens is 3.5, not an integer",
            ),
            (
                r#"{"usage":{"completion_tokens":"12"}}"#,
                "usage.completion_tokens is a string, not a number",
            ),
            (
                r#"{"usage":{"output_tokens_details":{"reasoning_tokens":-1}}}"#,
                "usage.output_tokens_details.reasoning_tokens is -1, a negative count",
            ),
            (
                r#"{"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":3}}"#,
                "usage.total_tokens is 3, less than the 15 tokens of its parts",
            ),
            (
                r#"{"usage":{"input_tokens":600000000,"output_tokens":600000000}}"#,
                "usage prompt and completion add up to 1200000000, above the 1000000000 tokens of one call",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(reason(body).as_deref(), Some(want), "{body}");
        }
    }

    #[test]
    fn a_usage_object_anywhere_in_a_stream_or_a_cut_body_is_checked() {
        let stream = "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":-3,\"output_tokens\":1}}}\n\n";
        assert!(reason(stream).unwrap().contains("input_tokens is -3"));
        // The reader takes a whole usage object from a cut body: so does the check.
        let cut =
            r#"{"usage":{"prompt_tokens":99999999999,"completion_tokens":2},"choices":[{"mes"#;
        assert!(reason(cut).unwrap().contains("99999999999"));
    }

    #[test]
    fn text_that_only_mentions_usage_is_not_a_usage_object() {
        for body in [
            r#"{"choices":[{"message":{"content":"{\"usage\":{\"prompt_tokens\":-1}}"}}]}"#,
            r#"{"tools":[{"parameters":{"properties":{"usage":{"type":"object","minimum":-1}}}}]}"#,
            r#"{"usage":"none","x":{"usage": [1]}}"#,
            r#"{"usage":{"prompt_tokens":-"#,
        ] {
            assert_eq!(reason(body), None, "{body}");
        }
    }

    #[test]
    fn a_status_is_an_integer_from_100_to_599_and_null_or_empty_is_absent() {
        let ok = |v: Value| status_code(&v, "statusCode");
        assert_eq!(ok(json!(200)).unwrap(), Some(200));
        assert_eq!(ok(json!(" 429 ")).unwrap(), Some(429));
        assert_eq!(ok(json!(100)).unwrap(), Some(100));
        assert_eq!(ok(json!(599)).unwrap(), Some(599));
        assert_eq!(ok(json!(null)).unwrap(), None);
        assert_eq!(ok(json!("")).unwrap(), None);
        let bad = |v: Value| ok(v).unwrap_err().to_string();
        assert_eq!(bad(json!(70000)), "statusCode is 70000, outside 100..=599");
        assert_eq!(bad(json!(99)), "statusCode is 99, outside 100..=599");
        assert_eq!(bad(json!(600)), "statusCode is 600, outside 100..=599");
        assert_eq!(bad(json!(-200)), "statusCode is -200, outside 100..=599");
        assert_eq!(bad(json!(200.5)), "statusCode is 200.5, not an integer");
        assert_eq!(bad(json!("OK")), "statusCode is a string, not a number");
        assert_eq!(bad(json!(true)), "statusCode is a boolean, not a number");
        assert_eq!(
            bad(json!({"a": 1})),
            "statusCode is an object, not a number"
        );
    }
}
