//! Enterprise licenses: terms, status and standing in time, white-label settings, renewal notices.
//!
//! Who is an organisation's *enterprise admin*: a caller whose JWT has the role `enterprise` and
//! an `org` claim equal to the license's `orgId`. Azora operators (role `admin`) may act on any
//! license. Everyone else is at most a member who holds (or activates) a seat.

use crate::error::ValidationError;
use crate::ids::OrgId;
use crate::license_key::KeyPayload;
use crate::notification::EmailAddress;
use crate::tiers::{Feature, Tier};
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

pub const DEFAULT_GRACE_DAYS: u32 = 14;
pub const MAX_GRACE_DAYS: u32 = 90;
pub const MAX_SEATS: u32 = 100_000;
pub const MAX_TERM_MONTHS: u32 = 60;
/// Renewal notices go out this many days before expiry, each once.
pub const RENEWAL_NOTICE_DAYS: [u32; 3] = [30, 7, 1];

const DAY: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseStatus {
    Active,
    Suspended,
    Expired,
    Revoked,
}

impl LicenseStatus {
    pub const ALL: [LicenseStatus; 4] = [Self::Active, Self::Suspended, Self::Expired, Self::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// How an organisation's deployment is branded. Every field is validated on parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhiteLabel {
    pub brand_name: String,
    pub logo_url: String,
    /// `#rrggbb`, lower-case.
    pub primary_color: String,
    /// A hostname, lower-case, e.g. `learn.acme.com`. One license per domain.
    pub custom_domain: String,
}

impl WhiteLabel {
    pub fn parse(
        brand_name: &str,
        logo_url: &str,
        primary_color: &str,
        custom_domain: &str,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            brand_name: parse_text("brandName", brand_name, 80)?,
            logo_url: parse_https_url("logoUrl", logo_url)?,
            primary_color: parse_color("primaryColor", primary_color)?,
            custom_domain: parse_hostname("customDomain", custom_domain)?,
        })
    }
}

/// Trimmed, 1..=max characters, no control characters.
pub fn parse_text(field: &str, raw: &str, max: usize) -> Result<String, ValidationError> {
    let v = raw.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(ValidationError::new(field, format!("must be 1 to {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(v.to_string())
}

/// `#rrggbb` (hex digits, either case); returned lower-case.
pub fn parse_color(field: &str, raw: &str) -> Result<String, ValidationError> {
    let ok = raw.len() == 7 && raw.starts_with('#') && raw[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok { Ok(raw.to_ascii_lowercase()) } else { Err(ValidationError::new(field, "must be a colour like #1a2b3c")) }
}

/// A DNS hostname with at least two labels (letters, digits, hyphens; no leading or trailing
/// hyphen; labels ≤ 63, total ≤ 253; not all-numeric TLD, so no IP addresses). Lower-cased.
pub fn parse_hostname(field: &str, raw: &str) -> Result<String, ValidationError> {
    let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let invalid = || ValidationError::new(field, "must be a hostname like learn.example.com");
    if host.is_empty() || host.len() > 253 {
        return Err(invalid());
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid());
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(invalid());
        }
    }
    if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err(invalid());
    }
    Ok(host)
}

/// An absolute `https://host[:port]/...` URL without spaces, credentials or fragments of
/// HTML; at most 2048 characters.
pub fn parse_https_url(field: &str, raw: &str) -> Result<String, ValidationError> {
    let url = raw.trim();
    let invalid = || ValidationError::new(field, "must be an https:// URL like https://cdn.example.com/logo.png");
    if url.len() > 2048
        || url.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\'))
    {
        return Err(invalid());
    }
    let rest = url.strip_prefix("https://").ok_or_else(invalid)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(invalid());
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok_and(|p| p > 0) => {
            host
        }
        Some(_) => return Err(invalid()),
        None => authority,
    };
    parse_hostname(field, host).map_err(|_| invalid())?;
    Ok(url.to_string())
}

/// The features a license grants: the listed ones (deduplicated, in canonical order), or all of
/// the Enterprise tier's when none are listed.
pub fn parse_features(raw: Option<&[String]>) -> Result<Vec<Feature>, ValidationError> {
    let Some(raw) = raw else { return Ok(Tier::Enterprise.features().to_vec()) };
    let mut wanted = Vec::new();
    for name in raw {
        let f = Feature::parse(name).ok_or_else(|| {
            let names: Vec<&str> = Feature::ALL.iter().map(|f| f.as_str()).collect();
            ValidationError::new("features", format!("unknown feature {name:?}; known: {}", names.join(", ")))
        })?;
        wanted.push(f);
    }
    Ok(Feature::ALL.into_iter().filter(|f| wanted.contains(f)).collect())
}

pub fn parse_seats(seats: i64) -> Result<u32, ValidationError> {
    u32::try_from(seats)
        .ok()
        .filter(|s| (1..=MAX_SEATS).contains(s))
        .ok_or_else(|| ValidationError::new("seats", format!("must be a whole number from 1 to {MAX_SEATS}")))
}

pub fn parse_grace_days(days: Option<i64>) -> Result<u32, ValidationError> {
    match days {
        None => Ok(DEFAULT_GRACE_DAYS),
        Some(d) => u32::try_from(d).ok().filter(|d| *d <= MAX_GRACE_DAYS).ok_or_else(|| {
            ValidationError::new("graceDays", format!("must be a whole number from 0 to {MAX_GRACE_DAYS}"))
        }),
    }
}

/// Whether `raw` is a well-formed time outside the window an explicit expiry must lie in (after
/// `start`, at most [`MAX_TERM_MONTHS`] months ahead): a rule of the current time, which a
/// request's shape cannot break (the API answers it 422, not 400).
pub fn expiry_outside_window(start: Timestamp, raw: &str) -> bool {
    let (Ok(at), Ok(latest)) = (raw.parse::<Timestamp>(), add_months(start, MAX_TERM_MONTHS)) else { return false };
    at <= start || at > latest
}

/// The license term: either a number of calendar months from `start`, or an explicit expiry that
/// lies after `start` and at most [`MAX_TERM_MONTHS`] months ahead. Expiries are whole seconds.
pub fn parse_expiry(
    start: Timestamp,
    term_months: Option<i64>,
    expires_at: Option<&str>,
) -> Result<Timestamp, ValidationError> {
    let latest = add_months(start, MAX_TERM_MONTHS)?;
    let expiry = match (term_months, expires_at) {
        (Some(months), None) => {
            let months = u32::try_from(months).ok().filter(|m| (1..=MAX_TERM_MONTHS).contains(m)).ok_or_else(|| {
                ValidationError::new("termMonths", format!("must be a whole number from 1 to {MAX_TERM_MONTHS}"))
            })?;
            add_months(start, months)?
        }
        (None, Some(raw)) => {
            let at: Timestamp = raw
                .parse()
                .map_err(|_| ValidationError::new("expiresAt", "must be an RFC 3339 time like 2027-01-31T00:00:00Z"))?;
            if at <= start || at > latest {
                return Err(ValidationError::new(
                    "expiresAt",
                    format!("must be in the future and at most {MAX_TERM_MONTHS} months ahead"),
                ));
            }
            at
        }
        _ => return Err(ValidationError::new("termMonths", "give exactly one of termMonths or expiresAt")),
    };
    Timestamp::from_second(expiry.as_second()).map_err(|_| ValidationError::new("expiresAt", "out of range"))
}

fn add_months(start: Timestamp, months: u32) -> Result<Timestamp, ValidationError> {
    start
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(i64::from(months).months())
        .map(|z| z.timestamp())
        .map_err(|_| ValidationError::new("termMonths", "the term is out of range"))
}

/// Where a license stands at a moment, combining its status and its dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Active,
    /// Past its expiry but within the grace days: still grants access, with a warning.
    InGrace {
        until: Timestamp,
    },
    /// Past expiry and grace; the billing cycle will mark it `expired`.
    Lapsed,
    Suspended,
    Expired,
    Revoked,
}

impl Standing {
    pub fn grants_access(self) -> bool {
        matches!(self, Standing::Active | Standing::InGrace { .. })
    }

    /// The status to report: a lapsed license is reported `expired` before the job marks it so.
    pub fn status(self) -> LicenseStatus {
        match self {
            Standing::Active | Standing::InGrace { .. } => LicenseStatus::Active,
            Standing::Lapsed | Standing::Expired => LicenseStatus::Expired,
            Standing::Suspended => LicenseStatus::Suspended,
            Standing::Revoked => LicenseStatus::Revoked,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub id: String,
    pub org_id: OrgId,
    pub org_name: String,
    pub contact_email: EmailAddress,
    pub seats: u32,
    pub seats_used: u32,
    pub features: Vec<Feature>,
    pub status: LicenseStatus,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub grace_days: u32,
    /// Whether a member holding the key may take a seat themselves (else only the org's
    /// enterprise admin assigns seats).
    pub self_activation: bool,
    pub key_version: u32,
    /// The current key (the newest `key_version`).
    pub key: String,
    pub white_label: Option<WhiteLabel>,
    pub updated_at: Timestamp,
}

impl License {
    pub fn grace_until(&self) -> Timestamp {
        grace_until(self.expires_at, self.grace_days)
    }

    pub fn standing(&self, now: Timestamp) -> Standing {
        match self.status {
            LicenseStatus::Revoked => Standing::Revoked,
            LicenseStatus::Expired => Standing::Expired,
            LicenseStatus::Suspended => Standing::Suspended,
            LicenseStatus::Active if now < self.expires_at => Standing::Active,
            LicenseStatus::Active if now < self.grace_until() => Standing::InGrace { until: self.grace_until() },
            LicenseStatus::Active => Standing::Lapsed,
        }
    }

    pub fn grants_access(&self, now: Timestamp) -> bool {
        self.standing(now).grants_access()
    }

    pub fn has_feature(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    /// What the current key of this license asserts.
    pub fn key_payload(&self) -> KeyPayload {
        KeyPayload {
            license_id: self.id.clone(),
            org_id: self.org_id.to_string(),
            seats: self.seats,
            features: self.features.clone(),
            issued_at: self.issued_at.as_second(),
            expires_at: self.expires_at.as_second(),
            grace_days: self.grace_days,
            key_version: self.key_version,
        }
    }
}

pub fn grace_until(expires_at: Timestamp, grace_days: u32) -> Timestamp {
    expires_at.checked_add(DAY * i32::try_from(grace_days).unwrap_or(i32::MAX)).unwrap_or(Timestamp::MAX)
}

/// Whole days left until `expires_at`, rounded up (23 h left is 1 day); `None` once expired.
pub fn days_left(expires_at: Timestamp, now: Timestamp) -> Option<u32> {
    let secs = expires_at.as_second() - now.as_second();
    if secs <= 0 {
        return None;
    }
    u32::try_from((secs + 86_399) / 86_400).ok()
}

/// The renewal notice due now: the smallest threshold of [`RENEWAL_NOTICE_DAYS`] that the days
/// left have reached. A license first seen with 5 days left gets the 7-day notice, not also the
/// 30-day one; each (expiry, threshold) is sent once by the caller.
pub fn renewal_notice_due(expires_at: Timestamp, now: Timestamp) -> Option<u32> {
    let left = days_left(expires_at, now)?;
    RENEWAL_NOTICE_DAYS.into_iter().filter(|t| left <= *t).min()
}

/// Why a renewal cannot take the seats down: fewer than are in use.
pub fn check_seat_change(new_seats: u32, seats_used: u32) -> Result<(), ValidationError> {
    if new_seats < seats_used {
        Err(ValidationError::new("seats", format!("cannot be below the {seats_used} seats in use")))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn license(status: LicenseStatus, expires: &str) -> License {
        License {
            id: "lic_1".into(),
            org_id: OrgId::parse("org-1").unwrap(),
            org_name: "Acme".into(),
            contact_email: EmailAddress::parse("it@acme.example").unwrap(),
            seats: 10,
            seats_used: 0,
            features: Tier::Enterprise.features().to_vec(),
            status,
            issued_at: at("2026-01-01T00:00:00Z"),
            expires_at: at(expires),
            grace_days: 14,
            self_activation: false,
            key_version: 1,
            key: String::new(),
            white_label: None,
            updated_at: at("2026-01-01T00:00:00Z"),
        }
    }

    #[test]
    fn standing_follows_status_then_dates() {
        let l = license(LicenseStatus::Active, "2027-01-01T00:00:00Z");
        assert_eq!(l.standing(at("2026-12-31T23:59:59Z")), Standing::Active);
        assert_eq!(l.standing(at("2027-01-01T00:00:00Z")), Standing::InGrace { until: at("2027-01-15T00:00:00Z") });
        assert!(l.grants_access(at("2027-01-14T23:59:59Z")));
        assert_eq!(l.standing(at("2027-01-15T00:00:00Z")), Standing::Lapsed);
        assert_eq!(Standing::Lapsed.status(), LicenseStatus::Expired);
        assert!(!l.grants_access(at("2027-01-15T00:00:00Z")));
        for (status, standing) in [
            (LicenseStatus::Suspended, Standing::Suspended),
            (LicenseStatus::Revoked, Standing::Revoked),
            (LicenseStatus::Expired, Standing::Expired),
        ] {
            let l = license(status, "2027-01-01T00:00:00Z");
            assert_eq!(l.standing(at("2026-06-01T00:00:00Z")), standing);
            assert!(!standing.grants_access());
        }
    }

    #[test]
    fn renewal_notices_pick_the_most_urgent_threshold_reached() {
        let exp = at("2027-01-31T00:00:00Z");
        let before = |days: i64, hours: i64| exp - SignedDuration::from_hours(days * 24 + hours);
        assert_eq!(renewal_notice_due(exp, before(31, 0)), None);
        assert_eq!(renewal_notice_due(exp, before(30, 0)), Some(30));
        assert_eq!(renewal_notice_due(exp, before(8, 0)), Some(30));
        assert_eq!(renewal_notice_due(exp, before(7, 0)), Some(7));
        assert_eq!(renewal_notice_due(exp, before(5, 0)), Some(7));
        assert_eq!(renewal_notice_due(exp, before(1, 0)), Some(1));
        assert_eq!(renewal_notice_due(exp, before(0, 3)), Some(1));
        assert_eq!(renewal_notice_due(exp, exp), None);
        assert_eq!(days_left(exp, before(0, 23)), Some(1));
        assert_eq!(days_left(exp, before(6, 1)), Some(7));
    }

    #[test]
    fn terms_are_months_or_an_explicit_future_expiry() {
        let start = at("2026-01-31T10:00:00Z");
        assert_eq!(parse_expiry(start, Some(1), None).unwrap(), at("2026-02-28T10:00:00Z"));
        assert_eq!(parse_expiry(start, Some(12), None).unwrap(), at("2027-01-31T10:00:00Z"));
        assert_eq!(parse_expiry(start, None, Some("2026-06-01T00:00:00.75Z")).unwrap(), at("2026-06-01T00:00:00Z"));
        for (months, expires) in [
            (Some(0), None),
            (Some(61), None),
            (None, Some("2025-01-01T00:00:00Z")),
            (None, Some("2040-01-01T00:00:00Z")),
            (None, Some("tomorrow")),
            (None, None),
            (Some(1), Some("2026-06-01T00:00:00Z")),
        ] {
            assert!(parse_expiry(start, months, expires).is_err(), "{months:?} {expires:?}");
        }
    }

    #[test]
    fn features_default_to_enterprise_and_are_canonical() {
        assert_eq!(parse_features(None).unwrap(), Tier::Enterprise.features());
        let some = parse_features(Some(&["white_label".into(), "ai_tutor".into(), "white_label".into()])).unwrap();
        assert_eq!(some, vec![Feature::AiTutor, Feature::WhiteLabel]);
        assert_eq!(parse_features(Some(&["teleport".into()])).unwrap_err().field, "features");
        assert!(parse_features(Some(&[])).unwrap().is_empty());
    }

    #[test]
    fn white_label_fields_are_validated() {
        let ok =
            WhiteLabel::parse(" Acme Academy ", "https://cdn.acme.com/logo.png", "#1A2b3C", "Learn.Acme.com.").unwrap();
        assert_eq!(ok.brand_name, "Acme Academy");
        assert_eq!(ok.primary_color, "#1a2b3c");
        assert_eq!(ok.custom_domain, "learn.acme.com");
        assert!(WhiteLabel::parse("A", "https://cdn.acme.com:8443/l.svg?v=2", "#000000", "a.io").is_ok());

        let field = |b: &str, l: &str, c: &str, d: &str| WhiteLabel::parse(b, l, c, d).unwrap_err().field;
        let good = ("Acme", "https://cdn.acme.com/logo.png", "#112233", "learn.acme.com");
        assert_eq!(field("", good.1, good.2, good.3), "brandName");
        assert_eq!(field(&"x".repeat(81), good.1, good.2, good.3), "brandName");
        for bad in [
            "http://cdn.acme.com/logo.png",
            "https://",
            "https://user:pw@cdn.acme.com/x.png",
            "https://cdn acme.com/x.png",
            "https://cdn.acme.com:99999/x.png",
            "https://localhost/x.png",
            "https://10.0.0.1/x.png",
            "javascript:alert(1)",
            "https://cdn.acme.com/\"><script>",
        ] {
            assert_eq!(field(good.0, bad, good.2, good.3), "logoUrl", "{bad}");
        }
        for bad in ["112233", "#12345", "#1234567", "#ggg000", "red"] {
            assert_eq!(field(good.0, good.1, bad, good.3), "primaryColor", "{bad}");
        }
        for bad in [
            "localhost",
            "-a.com",
            "a-.com",
            "a..com",
            "a_b.com",
            "127.0.0.1",
            "https://a.com",
            &format!("{}.com", "a".repeat(64)),
        ] {
            assert_eq!(field(good.0, good.1, good.2, bad), "customDomain", "{bad}");
        }
    }

    #[test]
    fn seats_never_drop_below_use() {
        assert!(check_seat_change(5, 5).is_ok());
        assert_eq!(check_seat_change(4, 5).unwrap_err().field, "seats");
        assert!(parse_seats(0).is_err());
        assert!(parse_seats(i64::from(MAX_SEATS) + 1).is_err());
        assert_eq!(parse_grace_days(None).unwrap(), DEFAULT_GRACE_DAYS);
        assert!(parse_grace_days(Some(91)).is_err());
    }
}
