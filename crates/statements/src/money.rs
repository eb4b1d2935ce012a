//! Presentation of exact amounts: the one place where an amount is rounded (half away from zero,
//! once, when it is shown), and the precision each kind of figure is shown with.

use rust_decimal::{Decimal, RoundingStrategy};

/// Digits after the point of a currency's minor unit (ISO 4217). Currencies not listed use 2.
pub fn minor_unit_digits(currency: &str) -> u32 {
    match currency.to_ascii_uppercase().as_str() {
        "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "XAF" | "XOF" | "UGX" | "PYG" | "RWF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Extra digits shown on line and daily amounts beyond the minor unit, so a sub-cent line does not
/// read as zero.
pub const LINE_EXTRA_DIGITS: u32 = 2;

/// The presentation rule, in one function: `amount` rounded half away from zero to `digits`
/// decimals and written with exactly that many (no exponent, no grouping, `-` for negatives).
pub fn present(amount: Decimal, digits: u32) -> String {
    let mut r = amount.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero);
    if r.is_zero() {
        r.set_sign_positive(true);
    }
    let mut s = r.to_string();
    let have = s.split_once('.').map(|(_, f)| f.len() as u32).unwrap_or(0);
    if have < digits {
        if have == 0 {
            s.push('.');
        }
        s.extend(std::iter::repeat_n('0', (digits - have) as usize));
    }
    s
}

/// A total (statement totals, overview rows, budgets): the currency's minor unit.
pub fn present_total(amount: Decimal, currency: &str) -> String {
    present(amount, minor_unit_digits(currency))
}

/// A line or daily amount: the minor unit plus [`LINE_EXTRA_DIGITS`].
pub fn present_line(amount: Decimal, currency: &str) -> String {
    present(amount, minor_unit_digits(currency) + LINE_EXTRA_DIGITS)
}

/// A rate: exact (never rounded), trailing zeros dropped, but at least the minor unit's digits.
pub fn present_rate(rate: Decimal, currency: &str) -> String {
    let n = rate.normalize();
    present(n, n.scale().max(minor_unit_digits(currency)))
}

/// A count with thin grouping for reading (`1 234 567`); CSV and data attributes use plain digits.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn halves_round_away_from_zero_once() {
        assert_eq!(present(d("0.125"), 2), "0.13");
        assert_eq!(present(d("-0.125"), 2), "-0.13");
        assert_eq!(present(d("0.124999"), 2), "0.12");
        assert_eq!(present(d("2.5"), 0), "3");
    }

    #[test]
    fn amounts_are_written_with_exactly_the_digits_asked() {
        assert_eq!(present(d("7"), 2), "7.00");
        assert_eq!(present(d("7.1"), 4), "7.1000");
        assert_eq!(present_total(d("1234.5"), "JPY"), "1235");
        assert_eq!(present_total(d("1.2345"), "KWD"), "1.235");
        assert_eq!(present_line(d("0.00042500"), "USD"), "0.0004");
    }

    #[test]
    fn a_negative_amount_that_rounds_to_zero_shows_no_sign() {
        assert_eq!(present(d("-0.001"), 2), "0.00");
    }

    #[test]
    fn rates_are_exact_with_at_least_the_minor_unit() {
        assert_eq!(present_rate(d("2.50"), "EUR"), "2.50");
        assert_eq!(present_rate(d("0.075"), "EUR"), "0.075");
        assert_eq!(present_rate(d("1.1500000"), "USD"), "1.15");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(group_digits(1_234_567), "1\u{2009}234\u{2009}567");
        assert_eq!(group_digits(999), "999");
    }
}
