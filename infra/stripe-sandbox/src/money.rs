//! Currencies and amounts as Stripe checks them.

use crate::error::{ApiError, ApiResult};

/// Currencies without minor units (amounts are whole units).
const ZERO_DECIMAL: &[&str] =
    &["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];

/// Stripe's largest amount (eight digits).
pub const MAX_AMOUNT: i64 = 99_999_999;

/// A lower-case ISO code; Stripe accepts any case and answers in lower case.
pub fn currency(raw: &str, param: &str) -> ApiResult<String> {
    let c = raw.to_ascii_lowercase();
    if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_lowercase()) {
        Ok(c)
    } else {
        Err(ApiError::invalid_nocode(format!(
            "Invalid currency: {raw}. Stripe currently supports three-letter ISO currency codes in lowercase."
        ))
        .param(param))
    }
}

/// The smallest charge Stripe accepts in `currency` (in minor units), roughly $0.50.
pub fn minimum_charge(currency: &str) -> i64 {
    match currency {
        "usd" | "eur" | "cad" | "aud" | "nzd" | "chf" | "sgd" => 50,
        "gbp" => 30,
        "jpy" => 50,
        "dkk" => 250,
        "nok" | "sek" => 300,
        "mxn" => 1000,
        "hkd" => 400,
        "brl" => 50,
        "inr" => 50,
        "pln" => 200,
        _ => 1,
    }
}

/// `$12.00`, `€3.50`, `¥500`, `12.00 CHF`.
pub fn format(amount: i64, currency: &str) -> String {
    let major = if ZERO_DECIMAL.contains(&currency) {
        amount.to_string()
    } else {
        format!("{}.{:02}", amount / 100, (amount % 100).abs())
    };
    match currency {
        "usd" => format!("${major}"),
        "eur" => format!("€{major}"),
        "gbp" => format!("£{major}"),
        "jpy" => format!("¥{major}"),
        other => format!("{major} {}", other.to_ascii_uppercase()),
    }
}

/// Validates a charge amount for a PaymentIntent.
pub fn charge_amount(amount: i64, currency: &str) -> ApiResult<()> {
    let min = minimum_charge(currency);
    if amount < min {
        return Err(ApiError::invalid(
            "amount_too_small",
            format!("Amount must be at least {} {currency}", format(min, currency)),
        )
        .param("amount"));
    }
    if amount > MAX_AMOUNT {
        return Err(ApiError::invalid(
            "amount_too_large",
            format!("Amount must be no more than {} {currency}", format(MAX_AMOUNT, currency)),
        )
        .param("amount"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_validates() {
        assert_eq!(format(1234, "usd"), "$12.34");
        assert_eq!(format(500, "jpy"), "¥500");
        assert_eq!(format(5, "chf"), "0.05 CHF");
        assert!(charge_amount(49, "usd").is_err());
        assert!(charge_amount(50, "usd").is_ok());
        assert!(charge_amount(100_000_000, "usd").is_err());
        assert_eq!(currency("USD", "currency").ok().as_deref(), Some("usd"));
        assert!(currency("us", "currency").is_err());
    }
}
