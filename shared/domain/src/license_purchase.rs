//! What an organisation pays for enterprise seats bought self-serve: a quote for N seats and a
//! term, and the prorated price of seats added mid-term. The one seat price is
//! [`crate::plans::enterprise_seat_price`]; nothing else states it.
//!
//! **Quote.** `total = seats × seat price per month × term months`, exact in minor units (checked
//! arithmetic; the bounds keep it far from overflow).
//!
//! **Proration rule (seats added mid-term).** The term is counted in whole days, `term_days`
//! (from the term's start to its end). The days left are the *started* days from now to the end
//! (`ceil`, so a day already begun is charged in full, as Stripe's per-day proration does), at
//! most `term_days`, at least 0. Then
//! `amount = round_half_up(added seats × seat price per term × days left / term_days)`, computed in
//! integers (`(2 × n + d) / (2 × d)`), so: adding at the term's start costs exactly the full term's
//! price, adding at (or after) its end costs nothing, the amount never exceeds the full price and
//! never decreases with more days left, and splitting an addition into two differs from adding at
//! once by at most one minor unit.

use crate::error::ValidationError;
use crate::license::{MAX_SEATS, MAX_TERM_MONTHS};
use crate::money::{Currency, Money};
use crate::plans::enterprise_seat_price;
use jiff::{SignedDuration, Timestamp};

const DAY_SECONDS: i64 = 86_400;

/// Terms sold self-serve, in months.
pub const TERMS: [u32; 4] = [1, 6, 12, 24];

/// A priced quote: seats for a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatPrice {
    pub seats: u32,
    pub term_months: u32,
    /// One seat for one month.
    pub unit_monthly: Money,
    /// One seat for the whole term.
    pub unit_per_term: Money,
    pub total: Money,
}

/// How long a quote's price holds.
pub const QUOTE_VALID_DAYS: i64 = 30;

/// Days a customer has to pay a quote's invoice (Stripe `days_until_due`); an invoice unpaid by
/// then is voided by the billing cycle, and the quote with it.
pub const INVOICE_DAYS_DUE: u32 = 30;

/// A self-serve license's renewal is invoiced this many days before it expires, due at expiry.
pub const RENEWAL_INVOICE_DAYS: i64 = 30;

/// What paying a quote buys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteKind {
    /// A new license (the quote's seats for its term, from the payment).
    NewLicense,
    /// `price.seats` more seats on a license until its current expiry (prorated).
    AddSeats { license_id: String },
    /// Another term of `price.term_months` for the license expiring at `expires_at`.
    Renewal { license_id: String, expires_at: Timestamp },
}

impl QuoteKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            QuoteKind::NewLicense => "new_license",
            QuoteKind::AddSeats { .. } => "add_seats",
            QuoteKind::Renewal { .. } => "renewal",
        }
    }

    /// The license an add-seats or renewal quote is for.
    pub fn license(&self) -> Option<&str> {
        match self {
            QuoteKind::NewLicense => None,
            QuoteKind::AddSeats { license_id } | QuoteKind::Renewal { license_id, .. } => Some(license_id),
        }
    }
}

/// The quote a license bought self-serve came from (`lic_X` ← `quo_X`); licenses made by an admin
/// have none.
pub fn original_quote_id(license_id: &str) -> Option<String> {
    license_id.strip_prefix("lic_").map(|suffix| format!("quo_{suffix}"))
}

/// The one renewal quote of a license's term ending at `expires_at`, so the billing cycle invoices
/// each term once however often it runs.
pub fn renewal_quote_id(license_id: &str, expires_at: Timestamp) -> String {
    format!("quo_{}_r{}", license_id.trim_start_matches("lic_"), expires_at.as_second())
}

/// The prorated price of `added` seats on a license bought by `original` (its term length and seat
/// price per term) that expires at `expires_at`, at `now`. The term is the `term_months` ending at
/// the expiry (renewals keep the term length), counted as the module's rule says.
pub fn seats_price(original: &SeatPrice, added: u32, expires_at: Timestamp, now: Timestamp) -> SeatPrice {
    let start = term_start(expires_at, original.term_months);
    let days = term_days(start, expires_at);
    let total = prorate(original.unit_per_term, added, days_left(now, expires_at, days), days);
    SeatPrice { seats: added, total, ..*original }
}

/// The start of the `months`-long term ending at `end`.
pub fn term_start(end: Timestamp, months: u32) -> Timestamp {
    let zoned = end.to_zoned(jiff::tz::TimeZone::UTC);
    zoned
        .checked_sub(jiff::Span::new().months(i64::from(months)))
        .map(|z| z.timestamp())
        .unwrap_or(end - SignedDuration::from_hours(24 * 30 * i64::from(months)))
}

/// Where a quote stands: `open` (priced, until `valid_until`) → `invoiced` (accepted: a Stripe
/// invoice was sent) → `paid` (the invoice was paid and the license issued) or `void` (the invoice
/// went unpaid past its due date). Nothing else moves a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteStatus {
    Open,
    Invoiced,
    Paid,
    Void,
}

impl QuoteStatus {
    pub const ALL: [QuoteStatus; 4] = [Self::Open, Self::Invoiced, Self::Paid, Self::Void];

    pub fn as_str(self) -> &'static str {
        match self {
            QuoteStatus::Open => "open",
            QuoteStatus::Invoiced => "invoiced",
            QuoteStatus::Paid => "paid",
            QuoteStatus::Void => "void",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// The Stripe invoice a quote was accepted into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteInvoice {
    pub invoice_id: String,
    pub customer_id: String,
    pub hosted_url: Option<String>,
    pub due_at: Timestamp,
}

/// What a paid-invoice event says, as read from Stripe's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidInvoice<'a> {
    pub invoice_id: &'a str,
    pub customer_id: &'a str,
    pub amount_paid: i64,
    /// As Stripe writes it (lowercase).
    pub currency: &'a str,
}

/// Why a paid-invoice event may not pay a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    NotInvoiced,
    Invoice,
    Customer,
    Amount,
    Currency,
}

impl Quote {
    /// Whether `paid` is the payment of this quote's invoice: the invoice and customer we
    /// created, the whole total in the quote's currency. Anything else changes nothing.
    pub fn check_payment(&self, paid: &PaidInvoice<'_>) -> Result<(), Mismatch> {
        let invoice = self.invoice.as_ref().ok_or(Mismatch::NotInvoiced)?;
        if invoice.invoice_id != paid.invoice_id {
            return Err(Mismatch::Invoice);
        }
        if invoice.customer_id != paid.customer_id {
            return Err(Mismatch::Customer);
        }
        if !paid.currency.eq_ignore_ascii_case(self.price.total.currency.code()) {
            return Err(Mismatch::Currency);
        }
        if paid.amount_paid != self.price.total.amount {
            return Err(Mismatch::Amount);
        }
        Ok(())
    }

    /// The license a paid quote issues: one per quote, so a retried or duplicated payment event
    /// finds the license the first one wrote.
    pub fn license_id(&self) -> String {
        format!("lic_{}", self.id.trim_start_matches("quo_"))
    }

    /// The organisation the license is for: the quote's, or one minted for a buyer without one
    /// (their identity provider then puts its admins in it).
    pub fn license_org(&self) -> Result<crate::OrgId, ValidationError> {
        match &self.org_id {
            Some(org) => Ok(org.clone()),
            None => crate::OrgId::parse(format!("org_{}", self.id.trim_start_matches("quo_")))
                .map_err(|_| ValidationError::new("quoteId", "cannot name an organisation after this quote")),
        }
    }
}

/// A priced offer of seats to an organisation (or to a user who has none yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub id: String,
    /// Whose it is: `org:<orgId>` (an organisation's enterprise admin asked) or `user:<userId>`
    /// (someone without an organisation yet).
    pub owner: String,
    pub org_id: Option<crate::OrgId>,
    pub requested_by: crate::UserId,
    pub org_name: String,
    pub contact_email: crate::notification::EmailAddress,
    pub kind: QuoteKind,
    pub price: SeatPrice,
    pub status: QuoteStatus,
    pub created_at: Timestamp,
    pub valid_until: Timestamp,
    /// Set when the quote is accepted.
    pub invoice: Option<QuoteInvoice>,
    /// Set when its invoice is paid.
    pub license_id: Option<String>,
}

/// The owner key of an organisation's quotes.
pub fn org_owner(org: &crate::OrgId) -> String {
    format!("org:{org}")
}

/// The owner key of a user's own quotes (no organisation yet).
pub fn user_owner(user: &crate::UserId) -> String {
    format!("user:{user}")
}

/// Checks a self-serve term (one of [`TERMS`]).
pub fn parse_term(term_months: i64) -> Result<u32, ValidationError> {
    u32::try_from(term_months)
        .ok()
        .filter(|m| TERMS.contains(m) && *m <= MAX_TERM_MONTHS)
        .ok_or_else(|| ValidationError::new("termMonths", format!("must be one of {TERMS:?} months")))
}

/// Seats for a term at the plan's seat price.
pub fn quote(seats: u32, term_months: u32) -> Result<SeatPrice, ValidationError> {
    let unit_monthly = enterprise_seat_price();
    let overflow = || ValidationError::new("seats", "the total is too large");
    if seats == 0 || seats > MAX_SEATS {
        return Err(ValidationError::new("seats", format!("must be a whole number from 1 to {MAX_SEATS}")));
    }
    let per_term = unit_monthly.amount.checked_mul(i64::from(term_months)).ok_or_else(overflow)?;
    let total = per_term.checked_mul(i64::from(seats)).ok_or_else(overflow)?;
    Ok(SeatPrice {
        seats,
        term_months,
        unit_monthly,
        unit_per_term: Money::new(per_term, unit_monthly.currency),
        total: Money::new(total, unit_monthly.currency),
    })
}

/// Whole days from `start` to `end` (at least 1).
pub fn term_days(start: Timestamp, end: Timestamp) -> i64 {
    ((end.as_second() - start.as_second()) / DAY_SECONDS).max(1)
}

/// Started days from `now` to `end`, within `0..=term_days`.
pub fn days_left(now: Timestamp, end: Timestamp, term_days: i64) -> i64 {
    let seconds = end.as_second() - now.as_second();
    if seconds <= 0 { 0 } else { ((seconds + DAY_SECONDS - 1) / DAY_SECONDS).min(term_days) }
}

/// `round_half_up(n / d)` for `n ≥ 0`, `d > 0`, in 128-bit integers.
fn div_round_half_up(n: i128, d: i128) -> i128 {
    (2 * n + d) / (2 * d)
}

/// The prorated price of `added` seats for the rest of a term (see the module's rule).
pub fn prorate(unit_per_term: Money, added: u32, days_left: i64, term_days: i64) -> Money {
    let term_days = term_days.max(1);
    let days_left = days_left.clamp(0, term_days);
    let n = i128::from(unit_per_term.amount) * i128::from(added) * i128::from(days_left);
    let amount = div_round_half_up(n, i128::from(term_days));
    Money::new(i64::try_from(amount).unwrap_or(i64::MAX), unit_per_term.currency)
}

/// A term of `months` starting at `start` (calendar months in UTC).
pub fn term_end(start: Timestamp, months: u32) -> Timestamp {
    let zoned = start.to_zoned(jiff::tz::TimeZone::UTC);
    zoned
        .checked_add(jiff::Span::new().months(i64::from(months)))
        .map(|z| z.timestamp())
        .unwrap_or(start + SignedDuration::from_hours(24 * 30 * i64::from(months)))
}

/// The currency seats are sold in.
pub fn currency() -> Currency {
    enterprise_seat_price().currency
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::Usd)
    }

    #[test]
    fn a_quote_is_seats_times_the_seat_price_times_months() {
        let q = quote(25, 12).unwrap();
        let unit = enterprise_seat_price().amount;
        assert_eq!(q.unit_per_term.amount, unit * 12);
        assert_eq!(q.total.amount, unit * 12 * 25);
        assert!(quote(0, 12).is_err() && quote(MAX_SEATS + 1, 12).is_err());
        assert!(parse_term(12).is_ok() && parse_term(7).is_err() && parse_term(-1).is_err());
    }

    fn invoiced_quote() -> Quote {
        Quote {
            id: "quo_abc".into(),
            owner: "org:acme".into(),
            org_id: crate::OrgId::parse("acme").ok(),
            requested_by: crate::UserId::parse("u1").unwrap(),
            org_name: "Acme".into(),
            contact_email: crate::notification::EmailAddress::parse("a@acme.test").unwrap(),
            kind: QuoteKind::NewLicense,
            price: quote(3, 12).unwrap(),
            status: QuoteStatus::Invoiced,
            created_at: Timestamp::UNIX_EPOCH,
            valid_until: Timestamp::UNIX_EPOCH,
            invoice: Some(QuoteInvoice {
                invoice_id: "in_1".into(),
                customer_id: "cus_1".into(),
                hosted_url: None,
                due_at: Timestamp::UNIX_EPOCH,
            }),
            license_id: None,
        }
    }

    #[test]
    fn only_the_whole_payment_of_our_invoice_pays_a_quote() {
        let q = invoiced_quote();
        let total = q.price.total.amount;
        let paid = PaidInvoice { invoice_id: "in_1", customer_id: "cus_1", amount_paid: total, currency: "usd" };
        assert_eq!(q.check_payment(&paid), Ok(()));
        assert_eq!(q.check_payment(&PaidInvoice { invoice_id: "in_2", ..paid.clone() }), Err(Mismatch::Invoice));
        assert_eq!(q.check_payment(&PaidInvoice { customer_id: "cus_2", ..paid.clone() }), Err(Mismatch::Customer));
        assert_eq!(q.check_payment(&PaidInvoice { amount_paid: total - 1, ..paid.clone() }), Err(Mismatch::Amount));
        assert_eq!(q.check_payment(&PaidInvoice { currency: "eur", ..paid.clone() }), Err(Mismatch::Currency));
        let open = Quote { invoice: None, status: QuoteStatus::Open, ..q.clone() };
        assert_eq!(open.check_payment(&paid), Err(Mismatch::NotInvoiced));
        assert_eq!(q.license_id(), "lic_abc");
        assert_eq!(q.license_org().map(|o| o.to_string()), Ok("acme".to_string()));
        let own = Quote { org_id: None, ..q };
        assert_eq!(own.license_org().map(|o| o.to_string()), Ok("org_abc".to_string()));
        for s in QuoteStatus::ALL {
            assert_eq!(QuoteStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn seats_added_mid_term_pay_the_days_left_of_the_term() {
        let original = quote(10, 12).unwrap();
        let expires: Timestamp = "2028-01-01T00:00:00Z".parse().unwrap();
        // A year's term (365 days); 100 days left: 2 × 18000 × 100 / 365 = 9863.01… → 9863.
        let now = expires - SignedDuration::from_hours(24 * 100);
        let p = seats_price(&original, 2, expires, now);
        assert_eq!((p.seats, p.total.amount, p.unit_per_term), (2, 9_863, original.unit_per_term));
        assert_eq!(seats_price(&original, 2, expires, term_start(expires, 12)).total.amount, 36_000);
        assert_eq!(seats_price(&original, 2, expires, expires).total.amount, 0);
        assert_eq!(original_quote_id("lic_abc").as_deref(), Some("quo_abc"));
        assert_eq!(original_quote_id("lic-admin-made"), None);
        assert_eq!(renewal_quote_id("lic_abc", expires), format!("quo_abc_r{}", expires.as_second()));
    }

    #[test]
    fn proration_examples() {
        // 10 seats at 180.00 a term, 365-day term: half a day's rounding goes up.
        assert_eq!(prorate(usd(18_000), 10, 365, 365), usd(180_000));
        assert_eq!(prorate(usd(18_000), 10, 0, 365), usd(0));
        // 1 × 18000 × 100 / 365 = 4931.50… → 4932 (half up).
        assert_eq!(prorate(usd(18_000), 1, 100, 365), usd(4_932));
        // 1 × 100 × 1 / 8 = 12.5 → 13; 1 × 100 × 3 / 8 = 37.5 → 38.
        assert_eq!(prorate(usd(100), 1, 1, 8), usd(13));
        assert_eq!(prorate(usd(100), 1, 3, 8), usd(38));
        let start: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let end = term_end(start, 12);
        assert_eq!(end, "2028-01-01T00:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(term_days(start, end), 365);
        assert_eq!(days_left(start, end, 365), 365);
        assert_eq!(days_left(end - SignedDuration::from_secs(1), end, 365), 1);
        assert_eq!(days_left(end, end, 365), 0);
    }

    proptest! {
        #[test]
        fn proration_is_bounded_monotonic_and_splits_within_a_cent(
            unit in 1i64..10_000_000,
            a in 1u32..5_000,
            b in 1u32..5_000,
            term in 1i64..1_900,
            left in 0i64..1_900,
        ) {
            let left = left.min(term);
            let full = unit * i64::from(a);
            let p = prorate(usd(unit), a, left, term).amount;
            prop_assert!((0..=full).contains(&p));
            prop_assert_eq!(prorate(usd(unit), a, term, term).amount, full);
            prop_assert_eq!(prorate(usd(unit), a, 0, term).amount, 0);
            if left < term {
                prop_assert!(prorate(usd(unit), a, left + 1, term).amount >= p);
            }
            // Exact within half a cent of the true value.
            let exact = unit as f64 * f64::from(a) * left as f64 / term as f64;
            prop_assert!((p as f64 - exact).abs() <= 0.5 + 1e-6 * exact.max(1.0));
            let split = prorate(usd(unit), a, left, term).amount + prorate(usd(unit), b, left, term).amount;
            let once = prorate(usd(unit), a + b, left, term).amount;
            prop_assert!((split - once).abs() <= 1);
        }
    }
}
