//! Currencies and amounts as Stripe checks them.

use crate::error::{ApiError, ApiResult};

/// Currencies without minor units (amounts are whole units).
const ZERO_DECIMAL: &[&str] =
    &["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];

/// Stripe's largest amount (eight digits).
pub const MAX_AMOUNT: i64 = 99_999_999;

/// The ISO 4217 currencies Stripe accepts for payments (lower case), from Stripe's list of
/// supported presentment currencies.
pub const SUPPORTED: &[&str] = &[
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn", "bhd", "bif",
    "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf", "chf", "clp", "cny", "cop", "crc", "cve",
    "czk", "djf", "dkk", "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp", "gbp", "gel", "ghs", "gip", "gmd", "gnf",
    "gtq", "gyd", "hkd", "hnl", "htg", "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr",
    "kmf", "krw", "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk", "mnt",
    "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr", "nzd", "omr", "pab", "pen",
    "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp",
    "sle", "sos", "srd", "std", "szl", "thb", "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd",
    "uyu", "uzs", "vnd", "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw",
];

/// A lower-case ISO code Stripe supports; Stripe accepts any case and answers in lower case.
/// Anything else (not three letters, or not a currency Stripe supports, e.g. `xyz`) is Stripe's
/// 400 `invalid_request_error` on `param`.
pub fn currency(raw: &str, param: &str) -> ApiResult<String> {
    let c = raw.trim().to_ascii_lowercase();
    if SUPPORTED.binary_search(&c.as_str()).is_ok() {
        Ok(c)
    } else {
        Err(ApiError::invalid_nocode(format!(
            "Invalid currency: {}. Stripe currently supports these currencies: {}",
            raw.to_ascii_lowercase(),
            SUPPORTED.join(", ")
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
        assert!(currency("xyz", "currency").is_err());
        assert_eq!(currency("EUR", "currency").ok().as_deref(), Some("eur"));
        assert!(SUPPORTED.windows(2).all(|w| w[0] < w[1]), "sorted, for binary_search");
    }
}
