//! Money as integer minor units plus an ISO 4217 currency. Never floats.
//!
//! Arithmetic is checked: adding different currencies or overflowing `i64` is an error, never a
//! silent wrap.

use crate::error::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// The currencies we accept, with their minor-unit exponent (as Stripe uses them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Currency {
    Usd,
    Eur,
    Gbp,
    Cad,
    Aud,
    Inr,
    Brl,
    Jpy,
}

impl Currency {
    pub const ALL: [Currency; 8] = [
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Cad,
        Currency::Aud,
        Currency::Inr,
        Currency::Brl,
        Currency::Jpy,
    ];

    /// Upper-case ISO code, e.g. `USD`.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Cad => "CAD",
            Currency::Aud => "AUD",
            Currency::Inr => "INR",
            Currency::Brl => "BRL",
            Currency::Jpy => "JPY",
        }
    }

    /// Digits after the decimal point in the currency's major unit.
    pub fn minor_exponent(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            _ => 2,
        }
    }

    /// Parses an ISO code in either case (Stripe sends lower case).
    pub fn parse(raw: &str) -> Result<Currency, ValidationError> {
        let upper = raw.to_ascii_uppercase();
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == upper)
            .ok_or_else(|| ValidationError::new("currency", format!("unsupported currency '{raw}'")))
    }
}

impl TryFrom<String> for Currency {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Currency::parse(&raw)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
    #[error("amount must not be negative")]
    Negative,
}

/// An amount of money: `amount` minor units (cents, pence, yen) of `currency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(deserialize_with = "crate::json_integer::exact")]
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self { amount: 0, currency }
    }

    /// A non-negative amount, as prices and charges must be.
    pub fn non_negative(amount: i64, currency: Currency) -> Result<Self, MoneyError> {
        if amount < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Self { amount, currency })
    }

    pub fn is_zero(&self) -> bool {
        self.amount == 0
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        Ok(())
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency })
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let amount = self.amount.checked_sub(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency })
    }

    /// Sums amounts of one currency; an empty sum is zero of `currency`.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(currency: Currency, items: I) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::zero(currency), Money::checked_add)
    }

    /// Human form for receipts and emails, e.g. `USD 12.34` or `JPY 500`.
    pub fn display(&self) -> String {
        let exp = self.currency.minor_exponent();
        if exp == 0 {
            return format!("{} {}", self.currency, self.amount);
        }
        let unit = 10_i128.pow(exp);
        let amount = i128::from(self.amount);
        let sign = if amount < 0 { "-" } else { "" };
        let abs = amount.abs();
        format!("{} {sign}{}.{:0width$}", self.currency, abs / unit, abs % unit, width = exp as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_currency_in_any_case() {
        assert_eq!(Currency::parse("usd"), Ok(Currency::Usd));
        assert_eq!(Currency::parse("EUR"), Ok(Currency::Eur));
        assert!(Currency::parse("XXX").is_err());
    }

    #[test]
    fn refuses_mixed_currencies() {
        let r = Money::new(1, Currency::Usd).checked_add(Money::new(1, Currency::Eur));
        assert_eq!(r, Err(MoneyError::CurrencyMismatch(Currency::Usd, Currency::Eur)));
    }

    #[test]
    fn displays_minor_units() {
        assert_eq!(Money::new(1234, Currency::Usd).display(), "USD 12.34");
        assert_eq!(Money::new(5, Currency::Gbp).display(), "GBP 0.05");
        assert_eq!(Money::new(-250, Currency::Eur).display(), "EUR -2.50");
        assert_eq!(Money::new(500, Currency::Jpy).display(), "JPY 500");
        assert_eq!(Money::new(i64::MIN, Currency::Usd).display(), "USD -92233720368547758.08");
    }

    #[test]
    fn serializes_as_amount_and_code() {
        let json = serde_json::to_string(&Money::new(999, Currency::Usd)).unwrap();
        assert_eq!(json, r#"{"amount":999,"currency":"USD"}"#);
    }

    proptest! {
        #[test]
        fn addition_never_overflows_silently(a in any::<i64>(), b in any::<i64>()) {
            let r = Money::new(a, Currency::Usd).checked_add(Money::new(b, Currency::Usd));
            match a.checked_add(b) {
                Some(sum) => prop_assert_eq!(r, Ok(Money::new(sum, Currency::Usd))),
                None => prop_assert_eq!(r, Err(MoneyError::Overflow)),
            }
        }

        #[test]
        fn subtraction_never_overflows_silently(a in any::<i64>(), b in any::<i64>()) {
            let r = Money::new(a, Currency::Usd).checked_sub(Money::new(b, Currency::Usd));
            match a.checked_sub(b) {
                Some(d) => prop_assert_eq!(r, Ok(Money::new(d, Currency::Usd))),
                None => prop_assert_eq!(r, Err(MoneyError::Overflow)),
            }
        }

        #[test]
        fn sum_matches_wide_integer_sum(xs in proptest::collection::vec(any::<i64>(), 0..20)) {
            let wide: i128 = xs.iter().map(|x| i128::from(*x)).sum();
            let r = Money::checked_sum(Currency::Eur, xs.iter().map(|x| Money::new(*x, Currency::Eur)));
            if let Ok(m) = r {
                prop_assert_eq!(i128::from(m.amount), wide);
            } else {
                // Overflow is reported when some prefix sum leaves i64, which a wide sum can hide.
                let mut acc: i128 = 0;
                let overflowed = xs.iter().any(|x| { acc += i128::from(*x); acc > i128::from(i64::MAX) || acc < i128::from(i64::MIN) });
                prop_assert!(overflowed);
            }
        }
    }
}
