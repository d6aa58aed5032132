//! The license operations: issue a license, seat and release members, validate a key, suspend,
//! reinstate, revoke and renew, and the organisation's usage by month. Every change that moves
//! access is a conditional write in the store; every one is audited.

use super::{LicenseError, existing, inactive, license_json, may_manage};
use crate::audit;
use crate::auth::Principal;
use crate::state::{AppState, Clock};
use azora_domain::audit::month_of;
use azora_domain::license::{License, LicenseStatus, Standing, check_seat_change, grace_until, parse_expiry};
use azora_domain::license_key::{KeyPayload, KeyRotation};
use azora_domain::notification::EmailAddress;
use azora_domain::tiers::Feature;
use azora_domain::usage::{monthly_series, months, totals};
use azora_domain::{OrgId, Role, UserId};
use azora_store::StoreError;
use azora_store::licenses::{Activation, Renewal, RenewalOutcome};
use azora_store::rate_limit::RateDecision;
use jiff::Timestamp;
use serde_json::{Value, json};

/// Longest span the usage report covers at once.
pub const MAX_USAGE_MONTHS: usize = 36;
const VALIDATE_WINDOW_SECONDS: i64 = 60;

/// The app's time in whole seconds, as stored and as keys carry them.
pub fn now_secs(clock: &Clock) -> Timestamp {
    let now = clock.now();
    Timestamp::from_second(now.as_second()).unwrap_or(now)
}

/// Checks a key's format and signature; no database access.
pub fn verify_key(state: &AppState, key: &str) -> Result<KeyPayload, LicenseError> {
    state.config.license_verifier.get()?.verify(key).map_err(LicenseError::InvalidKey)
}

/// Who asked, for the audit log.
pub struct Actor<'a> {
    pub principal: &'a Principal,
    pub request_id: &'a str,
}

impl Actor<'_> {
    async fn audit(
        &self,
        state: &AppState,
        action: &str,
        license_id: &str,
        details: Value,
    ) -> Result<(), LicenseError> {
        audit::record(state, self.principal, self.request_id, action, &format!("license:{license_id}"), details)
            .await?;
        Ok(())
    }
}

// ------------------------------------------------------------------ create

/// A license to issue, parsed and validated by the caller.
pub struct NewLicense {
    pub id: String,
    pub org_id: OrgId,
    pub org_name: String,
    pub contact_email: EmailAddress,
    pub seats: u32,
    pub expires_at: Timestamp,
    pub features: Vec<Feature>,
    pub grace_days: u32,
    pub self_activation: bool,
}

/// Issues a license and its signed key. Idempotent by id: a retry after a crash returns the
/// license the first attempt wrote.
pub async fn create(
    state: &AppState,
    actor: &Actor<'_>,
    new: NewLicense,
    now: Timestamp,
) -> Result<License, LicenseError> {
    let license = issue(state, new, now).await?;
    actor
        .audit(
            state,
            "license.create",
            &license.id,
            json!({ "orgId": license.org_id, "seats": license.seats, "expiresAt": license.expires_at.to_string(),
                    "features": license.features }),
        )
        .await?;
    Ok(license)
}

/// Writes a new license with its key (no audit entry: for callers that audit themselves).
pub async fn issue(state: &AppState, new: NewLicense, now: Timestamp) -> Result<License, LicenseError> {
    let mut license = License {
        id: new.id,
        org_id: new.org_id,
        org_name: new.org_name,
        contact_email: new.contact_email,
        seats: new.seats,
        seats_used: 0,
        features: new.features,
        status: LicenseStatus::Active,
        issued_at: now,
        expires_at: new.expires_at,
        grace_days: new.grace_days,
        self_activation: new.self_activation,
        key_version: 1,
        key: String::new(),
        white_label: None,
        updated_at: now,
    };
    license.key = state.config.license_signer.get()?.issue(&license.key_payload());
    match state.store.create_license(&license).await {
        Ok(()) => Ok(license),
        // A retry after a crash: the license was written by the first attempt.
        Err(StoreError::ConditionFailed) => state
            .store
            .get_license(&license.id)
            .await?
            .ok_or_else(|| LicenseError::Fault(crate::fault::Fault::broken("license vanished"))),
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------ seats

/// Who may seat `target` on `license`: admins and the org's enterprise admin seat anyone; another
/// org's enterprise admin gets 404; anyone else may only seat themselves, and only when the
/// license allows self-activation.
pub fn authorize_activation(principal: &Principal, license: &License, target: &UserId) -> Result<(), LicenseError> {
    if may_manage(principal, license) {
        return Ok(());
    }
    if principal.roles.has(Role::Enterprise) && principal.org.is_some() {
        return Err(LicenseError::NotFound("license"));
    }
    if *target != principal.user_id {
        return Err(LicenseError::SeatForOthers);
    }
    if !license.self_activation {
        return Err(LicenseError::SelfActivationDisabled);
    }
    // Holding the key is not membership: the caller's identity provider must say they belong to
    // the license's organisation.
    if principal.org.as_ref() != Some(&license.org_id) {
        return Err(LicenseError::OrgMismatch);
    }
    Ok(())
}

/// Where the presented key stands against the license's current key (a re-key supersedes the
/// earlier keys; the one it replaced keeps working for `REPLACED_KEY_OVERLAP`).
fn key_rotation(
    state: &AppState,
    presented: &KeyPayload,
    license: &License,
    now: Timestamp,
) -> Result<KeyRotation, LicenseError> {
    let current = state.config.license_verifier.get()?.verify(&license.key).map_err(|e| {
        LicenseError::Fault(crate::fault::Fault::broken(format!(
            "the stored key of license {} does not verify: {e}",
            license.id
        )))
    })?;
    Ok(presented.rotation(&current, now))
}

/// A seat given (or held already).
pub struct Seated {
    pub license: License,
    pub seats_used: u32,
    pub already: bool,
}

/// Gives `target` a seat on the license the key names.
pub async fn activate(
    state: &AppState,
    actor: &Actor<'_>,
    payload: &KeyPayload,
    target: &UserId,
) -> Result<Seated, LicenseError> {
    let now = state.clock.now();
    let license = existing(state, &payload.license_id).await?;
    authorize_activation(actor.principal, &license, target)?;
    if key_rotation(state, payload, &license, now)? == KeyRotation::Superseded {
        return Err(LicenseError::KeySuperseded);
    }
    if !license.grants_access(now) {
        return Err(inactive(&license, now));
    }
    let (seats_used, already) =
        match state.store.activate_seat(&license, target, actor.principal.user_id.as_str(), now).await? {
            Activation::Activated { seats_used } => (seats_used, false),
            Activation::AlreadyActive => (license.seats_used, true),
            Activation::NoSeatsLeft => return Err(LicenseError::NoSeatsLeft { seats: license.seats }),
            Activation::Inactive(current) => return Err(inactive(&current, now)),
            Activation::NotFound => return Err(LicenseError::NotFound("license")),
        };
    if !already {
        actor.audit(state, "license.seat.activate", &license.id, json!({ "userId": target })).await?;
    }
    Ok(Seated { license, seats_used, already })
}

/// Frees `target`'s seat. The org's enterprise admin (or an admin) frees anyone's; a member frees
/// their own. Returns the license and the seats used after.
pub async fn deactivate(
    state: &AppState,
    actor: &Actor<'_>,
    license_id: &str,
    target: &UserId,
) -> Result<(License, u32), LicenseError> {
    let principal = actor.principal;
    let license = existing(state, license_id).await?;
    let own_seat = *target == principal.user_id && state.store.get_seat(&license.id, target).await?.is_some();
    if !may_manage(principal, &license) && !own_seat {
        return Err(LicenseError::NotFound("license"));
    }
    let now = state.clock.now();
    if !state.store.deactivate_seat(&license, target, now).await? {
        return Err(LicenseError::NotFound("seat"));
    }
    actor.audit(state, "license.seat.deactivate", &license.id, json!({ "userId": target })).await?;
    let seats_used = state.store.get_license(&license.id).await?.map(|l| l.seats_used).unwrap_or(0);
    Ok((license, seats_used))
}

// ------------------------------------------------------------------ validate

/// A validation's answer and the caller's remaining budget.
pub struct Validation {
    pub body: Value,
    pub limit: u32,
    pub remaining: u32,
}

/// Validates an authentic key (the signature was checked by [`verify_key`]) after counting it
/// against the caller's budget (`LICENSE_VALIDATE_RATE_LIMIT` per source and minute).
pub async fn validate(state: &AppState, payload: &KeyPayload, source: &str) -> Result<Validation, LicenseError> {
    let limit = *state.config.license_validate_rate_limit.get()?;
    let now = state.clock.now();
    let remaining = match state
        .store
        .hit_rate_limit("license-validate", source, limit, VALIDATE_WINDOW_SECONDS, now.as_second())
        .await?
    {
        RateDecision::Allowed { remaining } => remaining,
        RateDecision::Limited { retry_after_seconds } => {
            return Err(LicenseError::RateLimited { limit, retry_after_seconds });
        }
    };
    let license = existing(state, &payload.license_id).await?;
    let standing = license.standing(now);
    let mut warnings = Vec::new();
    let reason = match standing {
        Standing::Active => None,
        Standing::InGrace { until } => {
            warnings.push(format!(
                "The license expired on {}; it stays valid during its grace period until {until}. Renew it.",
                license.expires_at
            ));
            None
        }
        Standing::Lapsed | Standing::Expired => Some("The license has expired and its grace period is over."),
        Standing::Suspended => Some("The license is suspended; contact Azora."),
        Standing::Revoked => Some("The license has been revoked."),
    };
    let rotation = key_rotation(state, payload, &license, now)?;
    let reason = match rotation {
        KeyRotation::Current => reason,
        KeyRotation::Replaced { until } => {
            warnings.push(format!(
                "A newer key was issued for this license; this one stops working at {until}. Replace it."
            ));
            reason
        }
        KeyRotation::Superseded => reason.or(Some("A newer key replaced this one; use the license's current key.")),
    };
    let mut body = json!({
        "valid": standing.grants_access() && rotation != KeyRotation::Superseded,
        "keyStatus": match rotation {
            KeyRotation::Current => "current",
            KeyRotation::Replaced { .. } => "replaced",
            KeyRotation::Superseded => "superseded",
        },
        "status": standing.status().as_str(),
        "licenseId": license.id,
        "orgId": license.org_id,
        "expiresAt": license.expires_at.to_string(),
        "seats": license.seats,
        "seatsUsed": license.seats_used,
        "features": license.features,
    });
    if let Some(obj) = body.as_object_mut() {
        if let Standing::InGrace { until } = standing {
            obj.insert("graceUntil".into(), json!(until.to_string()));
        }
        if let Some(reason) = reason {
            obj.insert("reason".into(), json!(reason));
        }
        if !warnings.is_empty() {
            obj.insert("warning".into(), json!(warnings.join(" ")));
        }
    }
    Ok(Validation { body, limit, remaining })
}

// ------------------------------------------------------------------ admin: suspend, reinstate, revoke, renew

/// The status changes an operator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Suspend,
    Reinstate,
    Revoke,
}

impl StatusChange {
    pub fn parse(action: &str) -> Option<Self> {
        match action {
            "suspend" => Some(Self::Suspend),
            "reinstate" => Some(Self::Reinstate),
            "revoke" => Some(Self::Revoke),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Reinstate => "reinstate",
            Self::Revoke => "revoke",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Self::Suspend => "suspended",
            Self::Reinstate => "reinstated",
            Self::Revoke => "revoked",
        }
    }

    /// Reinstating needs no reason; the others do.
    pub fn needs_reason(self) -> bool {
        self != Self::Reinstate
    }
}

/// Suspends, reinstates or revokes a license (a revoke releases its white-label domain in the
/// same transaction).
pub async fn change_status(
    state: &AppState,
    actor: &Actor<'_>,
    license_id: &str,
    change: StatusChange,
    reason: Option<String>,
) -> Result<Value, LicenseError> {
    let (from, to): (&[LicenseStatus], LicenseStatus) = match change {
        StatusChange::Suspend => (&[LicenseStatus::Active], LicenseStatus::Suspended),
        StatusChange::Reinstate => (&[LicenseStatus::Suspended], LicenseStatus::Active),
        StatusChange::Revoke => {
            (&[LicenseStatus::Active, LicenseStatus::Suspended, LicenseStatus::Expired], LicenseStatus::Revoked)
        }
    };
    let license = existing(state, license_id).await?;
    let now = state.clock.now();
    let moved = if to == LicenseStatus::Revoked {
        state.store.revoke_license(&license, from, now).await?
    } else {
        state.store.set_license_status(&license.id, from, to, now).await?
    };
    if !moved {
        let current = state.store.get_license(license_id).await?.map(|l| l.status).unwrap_or(license.status);
        return Err(LicenseError::InvalidTransition { current, done: change.done() });
    }
    actor
        .audit(
            state,
            &format!("license.{}", change.as_str()),
            &license.id,
            json!({ "from": license.status.as_str(), "to": to.as_str(), "reason": reason }),
        )
        .await?;
    let license = existing(state, license_id).await?;
    Ok(license_json(&license, now))
}

/// What a renewal asks for.
pub struct RenewTerms<'a> {
    pub term_months: Option<i64>,
    pub expires_at: Option<&'a str>,
    pub seats: Option<u32>,
}

/// Extends the term and/or changes the seats (never below the seats in use), re-keys the license
/// and brings an expired license back to active. A revoked license cannot be renewed.
pub async fn renew(
    state: &AppState,
    actor: &Actor<'_>,
    license_id: &str,
    terms: &RenewTerms<'_>,
) -> Result<Value, LicenseError> {
    let now = now_secs(&state.clock);
    let license = existing(state, license_id).await?;
    if license.status == LicenseStatus::Revoked {
        return Err(LicenseError::Revoked);
    }
    // termMonths extends from the current expiry (or from now, when that is past).
    let start = license.expires_at.max(now);
    let expires_at = match (terms.term_months, terms.expires_at) {
        (None, None) if license.status == LicenseStatus::Expired => {
            return Err(LicenseError::Missing {
                field: "termMonths",
                message: "An expired license needs a new term: termMonths or expiresAt.",
            });
        }
        (None, None) => license.expires_at,
        (months, explicit) => parse_expiry(if explicit.is_some() { now } else { start }, months, explicit)?,
    };
    let seats = terms.seats.unwrap_or(license.seats);
    check_seat_change(seats, license.seats_used)
        .map_err(|_| LicenseError::SeatsBelowUse { seats_used: license.seats_used })?;
    let renewed = rekey(state, &license, seats, expires_at, now).await?;
    actor
        .audit(
            state,
            "license.renew",
            &license.id,
            json!({
                "from": { "expiresAt": license.expires_at.to_string(), "seats": license.seats, "status": license.status.as_str() },
                "to": { "expiresAt": expires_at.to_string(), "seats": seats, "status": renewed.status.as_str() },
                "keyVersion": renewed.key_version,
            }),
        )
        .await?;
    let license = existing(state, license_id).await?;
    Ok(license_json(&license, now))
}

/// Stores new terms (seats, expiry) with a new key version, conditionally on the license being
/// as read; an expired license comes back to active. Returns the license as written.
pub async fn rekey(
    state: &AppState,
    license: &License,
    seats: u32,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<License, LicenseError> {
    let renewed = rekeyed(state, license, seats, expires_at, now)?;
    let outcome = state.store.renew_license(&license.id, &renewal(license, &renewed, now)).await?;
    match outcome {
        RenewalOutcome::Renewed => Ok(renewed),
        RenewalOutcome::SeatsBelowUse { seats_used } => Err(LicenseError::SeatsBelowUse { seats_used }),
        RenewalOutcome::Conflict => Err(LicenseError::Changed),
    }
}

/// What a re-key writes over `license` as read.
pub fn renewal<'a>(license: &License, renewed: &'a License, now: Timestamp) -> Renewal<'a> {
    Renewal {
        expected_key_version: license.key_version,
        expected_status: license.status,
        new_status: renewed.status,
        expires_at: renewed.expires_at,
        grace_ends: grace_until(renewed.expires_at, license.grace_days),
        seats: renewed.seats,
        key_version: renewed.key_version,
        key: &renewed.key,
        now,
    }
}

/// `license` with new terms and the next key version, signed (nothing stored).
pub fn rekeyed(
    state: &AppState,
    license: &License,
    seats: u32,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<License, LicenseError> {
    let new_status = if license.status == LicenseStatus::Expired { LicenseStatus::Active } else { license.status };
    let mut renewed = License {
        seats,
        expires_at,
        status: new_status,
        key_version: license.key_version + 1,
        updated_at: now,
        ..license.clone()
    };
    // The new key's issuedAt is the re-key: it starts the replaced key's overlap.
    let payload = KeyPayload { issued_at: now.as_second(), ..renewed.key_payload() };
    renewed.key = state.config.license_signer.get()?.issue(&payload);
    Ok(renewed)
}

// ------------------------------------------------------------------ usage

/// The organisation's usage by month, `from` to `to` (`YYYY-MM`; defaults: the license's issue
/// month to now).
pub async fn usage(
    state: &AppState,
    license: &License,
    from: Option<String>,
    to: Option<String>,
) -> Result<Value, LicenseError> {
    let now = state.clock.now();
    let from = from.unwrap_or_else(|| month_of(license.issued_at));
    let to = to.unwrap_or_else(|| month_of(now));
    let span = months(&from, &to).len();
    if span == 0 || span > MAX_USAGE_MONTHS {
        return Err(LicenseError::InvalidMonth {
            field: None,
            message: format!("from must not be after to, and the span at most {MAX_USAGE_MONTHS} months."),
        });
    }
    let recorded = state.store.usage_months(license.org_id.as_str(), &to).await?;
    let series = monthly_series(&recorded, &from, &to);
    Ok(json!({
        "licenseId": license.id,
        "orgId": license.org_id,
        "from": from,
        "to": to,
        "seats": license.seats,
        "seatsUsed": license.seats_used,
        "months": series,
        "totals": totals(&series),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licensing::is_org_admin;
    use azora_domain::{Roles, Tier};

    fn principal(roles: &[Role], org: Option<&str>, user: &str) -> Principal {
        Principal {
            user_id: UserId::parse(user).unwrap(),
            roles: Roles::new(roles.to_vec()),
            org: org.map(|o| OrgId::parse(o).unwrap()),
            email: None,
            name: None,
        }
    }

    fn license(self_activation: bool) -> License {
        let t: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        License {
            id: "lic_1".into(),
            org_id: OrgId::parse("org-a").unwrap(),
            org_name: "A".into(),
            contact_email: EmailAddress::parse("a@a.com").unwrap(),
            seats: 1,
            seats_used: 0,
            features: Tier::Enterprise.features().to_vec(),
            status: LicenseStatus::Active,
            issued_at: t,
            expires_at: t,
            grace_days: 0,
            self_activation,
            key_version: 1,
            key: String::new(),
            white_label: None,
            updated_at: t,
        }
    }

    #[test]
    fn activation_rules() {
        let member = UserId::parse("member").unwrap();
        let admin_a = principal(&[Role::Enterprise], Some("org-a"), "boss");
        let admin_b = principal(&[Role::Enterprise], Some("org-b"), "other-boss");
        let operator = principal(&[Role::Admin], None, "ops");
        let student = principal(&[Role::Student], Some("org-a"), "member");
        let outsider = principal(&[Role::Student], None, "member");
        let other_org = principal(&[Role::Student], Some("org-b"), "member");
        assert!(authorize_activation(&admin_a, &license(false), &member).is_ok());
        for stranger in [&outsider, &other_org] {
            assert!(matches!(authorize_activation(stranger, &license(true), &member), Err(LicenseError::OrgMismatch)));
        }
        assert!(authorize_activation(&operator, &license(false), &member).is_ok());
        assert!(matches!(
            authorize_activation(&admin_b, &license(true), &member),
            Err(LicenseError::NotFound("license"))
        ));
        assert!(matches!(
            authorize_activation(&student, &license(false), &member),
            Err(LicenseError::SelfActivationDisabled)
        ));
        assert!(authorize_activation(&student, &license(true), &member).is_ok());
        let someone = UserId::parse("someone").unwrap();
        assert!(matches!(authorize_activation(&student, &license(true), &someone), Err(LicenseError::SeatForOthers)));
        assert!(is_org_admin(&admin_a, &license(false)) && !is_org_admin(&admin_b, &license(false)));
    }
}
