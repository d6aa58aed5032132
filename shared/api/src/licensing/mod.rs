//! Enterprise licensing: the service behind `/api/enterprise` (create and administer licenses,
//! seats, validation, white-label themes, usage reports) and the glue shared with the billing
//! cycle, subscriptions and payments: who may manage a license and how a license is shown (what a
//! seat grants is decided by `crate::entitlements`). No HTTP here: the operations return
//! [`LicenseError`], which `catalogue.rs` maps to the API's errors.
//!
//! An organisation's *enterprise admin* is a caller with the role `enterprise` whose JWT `org`
//! claim equals the license's `orgId`. Operators (role `admin`) may manage every license. Anyone
//! else asking for a license gets the same 404 as for a license that does not exist.

pub mod cycle;
pub mod dns;
pub mod licenses;
pub mod purchase;
pub mod usage;
pub mod white_label;

use crate::auth::Principal;
use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::license::{License, LicenseStatus, Standing};
use azora_domain::license_key::KeyError;
use azora_domain::tiers::Feature;
use azora_domain::{Role, ValidationError};
use azora_store::StoreError;
use jiff::Timestamp;
use serde_json::{Value, json};

/// Why a licensing operation refused or failed. Mapped to status, code and message in
/// `catalogue.rs`.
#[derive(Debug, thiserror::Error)]
pub enum LicenseError {
    /// The object does not exist or belongs to someone else (404, alike).
    #[error("{0} was not found")]
    NotFound(&'static str),
    /// A parameter is not valid (400 `validation_failed` naming the field).
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// 400 `validation_failed` with this exact message and field.
    #[error("{message}")]
    Missing { field: &'static str, message: &'static str },
    /// The key is malformed or its signature does not verify (400 `invalid_license_key`).
    #[error("{0}")]
    InvalidKey(KeyError),
    /// Only the organisation's enterprise admin assigns seats to other users (403 `forbidden`).
    #[error("Only the organisation's enterprise admin may assign seats to other users.")]
    SeatForOthers,
    #[error("This license does not allow members to activate themselves; ask your organisation's admin.")]
    SelfActivationDisabled,
    #[error(
        "Only members of the license's organisation may take a seat with its key; sign in with your organisation's account."
    )]
    OrgMismatch,
    #[error("A newer key replaced this one; ask your organisation's admin for the license's current key.")]
    KeySuperseded,
    /// The license does not grant seats now (422 `license_inactive`).
    #[error("The license is {} and does not grant seats now.", .0.as_str())]
    Inactive(LicenseStatus),
    #[error("All {seats} seats of this license are in use; free one or renew with more.")]
    NoSeatsLeft { seats: u32 },
    /// A status change from a status that does not allow it (409 `invalid_status_transition`).
    #[error("A license that is {} cannot be {done}.", .current.as_str())]
    InvalidTransition { current: LicenseStatus, done: &'static str },
    #[error("A revoked license cannot be renewed.")]
    Revoked,
    #[error("seats cannot be below the {seats_used} seats in use")]
    SeatsBelowUse { seats_used: u32 },
    /// The license changed meanwhile (409 `conflict`).
    #[error("The license changed meanwhile; reload and retry.")]
    Changed,
    #[error("This license does not include {0}.")]
    FeatureNotLicensed(Feature),
    /// The domain is verified for another license (409 `domain_taken`).
    #[error("The domain {0} is used by another license.")]
    DomainTaken(String),
    /// Nothing is pending verification (409 `nothing_to_verify`).
    #[error("No custom domain is waiting for verification on this license; claim one with PUT first.")]
    NothingToVerify,
    /// The domain's TXT record is missing or shows another token (422 `domain_not_verified`).
    #[error("The TXT record {} does not show {} yet; create it (DNS changes can take a few minutes) and verify again.", .record.name, .record.value)]
    DomainNotVerified { record: white_label::DnsRecord, found: Vec<String> },
    /// The DNS resolver did not answer (503).
    #[error("DNS resolver: {0}")]
    DnsUnavailable(String),
    /// Over the validation budget (429 `rate_limited` with Retry-After).
    #[error("At most {limit} validations per minute per caller; retry after {retry_after_seconds} s.")]
    RateLimited { limit: u32, retry_after_seconds: u64 },
    /// A month parameter that is not `YYYY-MM`, or a span out of bounds (400 `invalid_month`).
    #[error("{message}")]
    InvalidMonth { field: Option<&'static str>, message: String },
    /// Seats and renewals are bought self-serve only for licenses bought that way (409
    /// `not_self_serve`); an admin changes the others.
    #[error("This license was not bought self-serve (or its term has ended); an admin changes its seats and term.")]
    NotSelfServe,
    /// The quote's price no longer holds (422 `quote_expired`, as for a plan change's quote).
    #[error("This quote expired; ask for a new one.")]
    QuoteExpired,
    /// The quote cannot be accepted in its status (409 `quote_not_open`).
    #[error("This quote is {} and cannot be accepted; ask for a new one.", .0.as_str())]
    QuoteNotOpen(azora_domain::license_purchase::QuoteStatus),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<StoreError> for LicenseError {
    fn from(e: StoreError) -> Self {
        LicenseError::Fault(e.into())
    }
}

impl From<crate::needs::UndeclaredPart> for LicenseError {
    fn from(e: crate::needs::UndeclaredPart) -> Self {
        LicenseError::Fault(e.into())
    }
}

/// The caller is the enterprise admin of the license's organisation.
pub fn is_org_admin(principal: &Principal, license: &License) -> bool {
    principal.roles.has(Role::Enterprise) && principal.org.as_ref() == Some(&license.org_id)
}

pub fn may_manage(principal: &Principal, license: &License) -> bool {
    principal.is_admin() || is_org_admin(principal, license)
}

/// A license that exists; `NotFound` otherwise.
pub async fn existing(state: &AppState, license_id: &str) -> Result<License, LicenseError> {
    state.store.get_license(license_id).await?.ok_or(LicenseError::NotFound("license"))
}

/// Loads a license the caller may manage; anyone else gets the same 404 as for a missing one.
pub async fn managed_license(
    state: &AppState,
    principal: &Principal,
    license_id: &str,
) -> Result<License, LicenseError> {
    let license = existing(state, license_id).await?;
    if !may_manage(principal, &license) {
        return Err(LicenseError::NotFound("license"));
    }
    Ok(license)
}

/// `license_inactive` naming the effective status, for operations that need a license granting
/// access.
pub fn inactive(license: &License, now: Timestamp) -> LicenseError {
    LicenseError::Inactive(license.standing(now).status())
}

/// A license as its managers see it. `status` is the effective status (a license past expiry and
/// grace reads `expired` even before the billing cycle marks it so).
pub fn license_json(license: &License, now: Timestamp) -> Value {
    let standing = license.standing(now);
    json!({
        "licenseId": license.id,
        "orgId": license.org_id,
        "orgName": license.org_name,
        "contactEmail": license.contact_email,
        "seats": license.seats,
        "seatsUsed": license.seats_used,
        "features": license.features,
        "status": standing.status().as_str(),
        "inGrace": matches!(standing, Standing::InGrace { .. }),
        "issuedAt": license.issued_at.to_string(),
        "expiresAt": license.expires_at.to_string(),
        "graceDays": license.grace_days,
        "graceUntil": license.grace_until().to_string(),
        "selfActivation": license.self_activation,
        "keyVersion": license.key_version,
        "key": license.key,
        "whiteLabel": license.white_label,
    })
}
