//! Exact money: a decimal amount with its currency, currency minor units, and the one
//! presentation rounding rule (half away from zero).

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code, upper-case (`USD`, `EUR`, `JPY`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    /// A currency from its code: three ASCII letters, any case.
    pub fn new(code: &str) -> Result<Currency, CurrencyError> {
        let code = code.trim();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Currency(code.to_ascii_uppercase()))
        } else {
            Err(CurrencyError(code.to_string()))
        }
    }

    pub fn code(&self) -> &str {
        &self.0
    }

    /// Decimal places of the currency's minor unit: see [`minor_unit_scale`].
    pub fn minor_unit_scale(&self) -> u32 {
        minor_unit_scale(&self.0)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A currency code that is not three letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("currency {0:?} is not a three-letter ISO 4217 code")]
pub struct CurrencyError(pub String);

/// Decimal places of a currency's minor unit (ISO 4217): 0 for JPY and KRW, 2 for every other
/// currency (USD, EUR, GBP, CHF, SEK, … and any code not in this small table). Azure bills in
/// the currencies of this table; a currency with three decimals (KWD, BHD) is shown with two,
/// which a finance team that bills in one should override by rounding with [`round_to`].
pub fn minor_unit_scale(code: &str) -> u32 {
    match code.to_ascii_uppercase().as_str() {
        "JPY" | "KRW" => 0,
        _ => 2,
    }
}

/// The presentation rounding rule: half away from zero (0.005 → 0.01, −0.005 → −0.01), the
/// rule of invoices and of spreadsheets' `ROUND`. Amounts are never rounded before they are
/// shown; banker's rounding would only matter if rounded values were summed again, and they
/// are not (allocations use the largest-remainder rule instead).
pub fn round_to(amount: Decimal, decimals: u32) -> Decimal {
    amount.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero)
}

/// An exact amount of one currency. Sums are exact: no float is ever involved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

/// Adding amounts of two currencies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot add {left} to {right}: different currencies")]
pub struct CurrencyMismatch {
    pub left: Currency,
    pub right: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Money {
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::new(Decimal::ZERO, currency)
    }

    /// The exact sum, or an error when the currencies differ.
    pub fn checked_add(&self, other: &Money) -> Result<Money, CurrencyMismatch> {
        if self.currency != other.currency {
            return Err(CurrencyMismatch {
                left: other.currency.clone(),
                right: self.currency.clone(),
            });
        }
        Ok(Money::new(
            self.amount + other.amount,
            self.currency.clone(),
        ))
    }

    /// Rounded once, half away from zero, to the currency's minor unit.
    pub fn rounded(&self) -> Decimal {
        round_to(self.amount, self.currency.minor_unit_scale())
    }

    /// Fixed decimals for a report: `0.05769167` at 8, `0.06` at the minor unit.
    pub fn display_with(&self, decimals: u32) -> String {
        format!("{:.*}", decimals as usize, round_to(self.amount, decimals))
    }
}

impl fmt::Display for Money {
    /// The amount at the currency's minor unit, then the code: `15000.00 USD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = self.currency.minor_unit_scale();
        write!(f, "{} {}", self.display_with(scale), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn a_million_calls_of_a_ten_millionth_sum_to_exactly_one_tenth() {
        let tiny = Money::new(d("0.0000001"), Currency::new("usd").unwrap());
        let mut total = Money::zero(Currency::new("USD").unwrap());
        for _ in 0..1_000_000 {
            total = total.checked_add(&tiny).unwrap();
        }
        assert_eq!(total.amount, d("0.1"));
        // The float sum the old code relied on is not exact.
        let float: f64 = (0..1_000_000).map(|_| 0.0000001_f64).sum();
        assert_ne!(float, 0.1);
    }

    #[test]
    fn presentation_rounds_half_away_from_zero_to_the_minor_unit() {
        let usd = Currency::new("USD").unwrap();
        assert_eq!(Money::new(d("0.005"), usd.clone()).rounded(), d("0.01"));
        assert_eq!(Money::new(d("-0.005"), usd.clone()).rounded(), d("-0.01"));
        assert_eq!(Money::new(d("2.345"), usd.clone()).rounded(), d("2.35"));
        let jpy = Currency::new("JPY").unwrap();
        assert_eq!(Money::new(d("1234.5"), jpy.clone()).rounded(), d("1235"));
        assert_eq!(Money::new(d("15000"), usd).to_string(), "15000.00 USD");
        assert_eq!(Money::new(d("0.5"), jpy).to_string(), "1 JPY");
    }

    #[test]
    fn minor_units_are_two_decimals_except_yen_and_won() {
        for (code, scale) in [("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0)] {
            assert_eq!(minor_unit_scale(code), scale, "{code}");
        }
        assert_eq!(minor_unit_scale("XYZ"), 2);
    }

    #[test]
    fn amounts_of_different_currencies_are_never_added() {
        let a = Money::new(d("1"), Currency::new("USD").unwrap());
        let b = Money::new(d("1"), Currency::new("EUR").unwrap());
        assert!(a.checked_add(&b).is_err());
        assert!(Currency::new("EURO").is_err());
    }

    #[test]
    fn a_report_shows_fixed_decimals() {
        let m = Money::new(d("0.057691665"), Currency::new("USD").unwrap());
        assert_eq!(m.display_with(8), "0.05769167");
        assert_eq!(m.display_with(2), "0.06");
    }
}
