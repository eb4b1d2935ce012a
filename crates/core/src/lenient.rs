//! Lenient scalar readers: APIM policy expressions, host metadata and identity endpoints do not
//! always type a number as a number, so a numeric string is accepted wherever a number is.

use serde_json::Value;

/// An unsigned integer given as a JSON number (a fraction is truncated, a negative reads as 0)
/// or as a numeric string.
pub fn lenient_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A signed integer given as a JSON integer or as a numeric string.
pub(crate) fn i64_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_read_from_json_numbers_and_numeric_strings() {
        assert_eq!(lenient_u64(&json!(7)), Some(7));
        assert_eq!(lenient_u64(&json!(7.9)), Some(7));
        assert_eq!(lenient_u64(&json!(" 8 ")), Some(8));
        assert_eq!(lenient_u64(&json!("x")), None);
        assert_eq!(i64_of(&json!(-1)), Some(-1));
        assert_eq!(i64_of(&json!("-1")), Some(-1));
        assert_eq!(i64_of(&json!(true)), None);
    }
}
