//! Exact decimals as JSON numbers: written as the decimal's own digits (never through `f64`),
//! read from the number's text (serde_json's `RawValue`), so a ledger's `cost` round-trips
//! exactly whatever its number of digits. A quoted number is accepted on input too.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::value::RawValue;

/// Writes `amount` as a JSON number with exactly its digits (`0.00387`, never `3.87e-3`).
pub fn serialize<S: Serializer>(amount: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(amount.normalize().to_string()).map_err(S::Error::custom)?;
    serde::Serialize::serialize(&raw, s)
}

/// Reads a JSON number (or a quoted one) from its text, exactly. Needs serde_json's own
/// deserializer (`from_str`, `from_slice`, `from_reader`), which is how ledgers are read.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let raw = <Box<RawValue>>::deserialize(d)?;
    parse(raw.get()).map_err(D::Error::custom)
}

/// An exact decimal from a JSON number's text (or a quoted number).
pub(crate) fn parse(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t);
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .map_err(|e| format!("amount {t:?} is not an exact decimal: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct A(#[serde(with = "super")] Decimal);

    #[test]
    fn amounts_with_more_digits_than_a_float_holds_round_trip_exactly() {
        for s in [
            "0.00387",
            "12345678901234.567890123456",
            "0.0000001",
            "0",
            "1e-7",
        ] {
            let d = parse(s).unwrap();
            let json = serde_json::to_string(&A(d)).unwrap();
            let back: A = serde_json::from_str(&json).unwrap();
            assert_eq!(back.0, d, "{s} -> {json}");
            assert!(!json.contains('"'), "{json} is a JSON number");
        }
    }
}
