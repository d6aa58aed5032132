//! Enterprise licensing glue shared by the handlers, the billing cycle, subscriptions and payments:
//! who may manage a license and how a license is shown (what a seat grants is decided by
//! `crate::entitlements`).
//!
//! An organisation's *enterprise admin* is a caller with the role `enterprise` whose JWT `org`
//! claim equals the license's `orgId`. Operators (role `admin`) may manage every license. Anyone
//! else asking for a license gets the same 404 as for a license that does not exist.

pub mod cycle;
pub mod usage;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use azora_domain::Role;
use azora_domain::license::{License, Standing};
use jiff::Timestamp;
use serde_json::{Value, json};

/// The caller is the enterprise admin of the license's organisation.
pub fn is_org_admin(principal: &Principal, license: &License) -> bool {
    principal.roles.has(Role::Enterprise) && principal.org.as_ref() == Some(&license.org_id)
}

pub fn may_manage(principal: &Principal, license: &License) -> bool {
    principal.is_admin() || is_org_admin(principal, license)
}

/// Loads a license the caller may manage; anyone else gets the same 404 as for a missing one.
pub async fn managed_license(state: &AppState, principal: &Principal, license_id: &str) -> Result<License, ApiError> {
    let license = state.store.get_license(license_id).await?.ok_or_else(|| ApiError::not_found("license"))?;
    if !may_manage(principal, &license) {
        return Err(ApiError::not_found("license"));
    }
    Ok(license)
}

/// 422 `license_inactive` naming the status, for operations that need a license granting access.
pub fn inactive(license: &License, now: Timestamp) -> ApiError {
    let status = license.standing(now).status();
    ApiError::unprocessable(
        "license_inactive",
        format!("The license is {} and does not grant seats now.", status.as_str()),
    )
    .with_details(json!({ "status": status.as_str() }))
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
