//! Enterprise license endpoints under `/api/enterprise`: create and administer licenses, activate
//! and release seats, validate keys (public, rate-limited), white-label themes and usage reports.

use crate::audit;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, ok, path_param, query};
use crate::idempotency::{self, derived_id};
use crate::licensing::{inactive, license_json, managed_license, may_manage};
use crate::state::{AppState, Clock};
use ::http::StatusCode;
use azora_domain::audit::{month_of, parse_month};
use azora_domain::license::{
    License, LicenseStatus, Standing, WhiteLabel, check_seat_change, grace_until, parse_expiry, parse_features,
    parse_grace_days, parse_hostname, parse_seats, parse_text,
};
use azora_domain::license_key::{KeyError, KeyPayload, KeyRotation};
use azora_domain::notification::EmailAddress;
use azora_domain::tiers::Feature;
use azora_domain::usage::{monthly_series, months, totals};
use azora_domain::{OrgId, Role, UserId};
use azora_store::StoreError;
use azora_store::licenses::{Activation, Renewal, RenewalOutcome, WhiteLabelOutcome};
use azora_store::rate_limit::RateDecision;
use jiff::Timestamp;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// Longest span `GET /usage` reports at once.
const MAX_USAGE_MONTHS: usize = 36;
const VALIDATE_WINDOW_SECONDS: i64 = 60;

/// The app's time in whole seconds, as stored and as keys carry them.
fn now_secs(clock: &Clock) -> Timestamp {
    let now = clock.now();
    Timestamp::from_second(now.as_second()).unwrap_or(now)
}

fn key_error(e: KeyError) -> ApiError {
    ApiError::bad_request("invalid_license_key", e.to_string()).with_details(json!({ "field": "key" }))
}

/// Checks a key's format and signature; no database access.
fn verify_key(state: &AppState, key: &str) -> Result<KeyPayload, ApiError> {
    state.config.license_verifier.get()?.verify(key).map_err(key_error)
}

// ------------------------------------------------------------------ create

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateRequest {
    org_id: Option<String>,
    org_name: String,
    contact_email: String,
    seats: i64,
    term_months: Option<i64>,
    expires_at: Option<String>,
    features: Option<Vec<String>>,
    grace_days: Option<i64>,
    #[serde(default)]
    allow_self_activation: bool,
}

/// `POST /api/enterprise/licenses/create` (admin; idempotent; audited): issues a license and its key.
pub async fn create(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Admin])?;
    let body: CreateRequest = json_body(&req)?;
    let key = idempotency::key(&req)?;
    let now = now_secs(&state.clock);
    let org_name = parse_text("orgName", &body.org_name, 200)?;
    let contact_email = EmailAddress::parse(&body.contact_email)
        .map_err(|e| azora_domain::ValidationError::new("contactEmail", e.message))?;
    let seats = parse_seats(body.seats)?;
    let expires_at = parse_expiry(now, body.term_months, body.expires_at.as_deref())?;
    let features = parse_features(body.features.as_deref())?;
    let grace_days = parse_grace_days(body.grace_days)?;
    let license_id = derived_id("lic", &principal, &key);
    let org_id = match &body.org_id {
        Some(raw) => OrgId::parse(raw.as_str())?,
        // No org yet at the identity provider: one is minted; put it in the members' `org` claim.
        None => OrgId::parse(format!("org_{}", &license_id[4..]))?,
    };
    idempotency::once(&state, &req, &principal, || async {
        let mut license = License {
            id: license_id.clone(),
            org_id: org_id.clone(),
            org_name: org_name.clone(),
            contact_email: contact_email.clone(),
            seats,
            seats_used: 0,
            features: features.clone(),
            status: LicenseStatus::Active,
            issued_at: now,
            expires_at,
            grace_days,
            self_activation: body.allow_self_activation,
            key_version: 1,
            key: String::new(),
            white_label: None,
            updated_at: now,
        };
        license.key = state.config.license_signer.get()?.issue(&license.key_payload());
        let license = match state.store.create_license(&license).await {
            Ok(()) => license,
            // A retry after a crash: the license was written by the first attempt.
            Err(StoreError::ConditionFailed) => {
                state.store.get_license(&license_id).await?.ok_or_else(|| ApiError::internal("license vanished"))?
            }
            Err(e) => return Err(e.into()),
        };
        audit::record(
            &state,
            &principal,
            &http::request_id(&req),
            "license.create",
            &format!("license:{}", license.id),
            json!({ "orgId": license.org_id, "seats": license.seats, "expiresAt": license.expires_at.to_string(),
                    "features": license.features }),
        )
        .await?;
        http::json(StatusCode::CREATED, &license_json(&license, now))
    })
    .await
}

// ------------------------------------------------------------------ public key, get

/// `GET /api/enterprise/licenses/public-key` (public): what a client needs to verify keys offline.
pub async fn public_key(_req: Request, state: Arc<AppState>) -> HttpResult {
    let verifier = state.config.license_verifier.get()?;
    let body = json!({
        "algorithm": "Ed25519",
        "keyFormat": "AZL1.<base64url(payload JSON)>.<base64url(signature over 'AZL1.<payload>')>",
        "publicKey": verifier.public_key_base64url(),
        "publicKeyPem": verifier.public_key_pem(),
    });
    let mut response = ok(&body)?;
    response.headers_mut().insert("cache-control", ::http::HeaderValue::from_static("public, max-age=3600"));
    Ok(response)
}

/// `GET /api/enterprise/licenses/{licenseId}`: the org's enterprise admin or an admin.
pub async fn get(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let license = managed_license(&state, &principal, &path_param(&req, "licenseId")?).await?;
    ok(&license_json(&license, state.clock.now()))
}

// ------------------------------------------------------------------ seats

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ActivateRequest {
    key: String,
    user_id: Option<String>,
}

/// Who may seat `target` on `license`: admins and the org's enterprise admin seat anyone; another
/// org's enterprise admin gets 404; anyone else may only seat themselves, and only when the
/// license allows self-activation.
fn authorize_activation(principal: &Principal, license: &License, target: &UserId) -> Result<(), ApiError> {
    if may_manage(principal, license) {
        return Ok(());
    }
    if principal.roles.has(Role::Enterprise) && principal.org.is_some() {
        return Err(ApiError::not_found("license"));
    }
    if *target != principal.user_id {
        return Err(ApiError::forbidden(
            "forbidden",
            "Only the organisation's enterprise admin may assign seats to other users.",
        ));
    }
    if !license.self_activation {
        return Err(ApiError::forbidden(
            "self_activation_disabled",
            "This license does not allow members to activate themselves; ask your organisation's admin.",
        ));
    }
    // Holding the key is not membership: the caller's identity provider must say they belong to
    // the license's organisation.
    if principal.org.as_ref() != Some(&license.org_id) {
        return Err(ApiError::forbidden(
            "org_mismatch",
            "Only members of the license's organisation may take a seat with its key; sign in with your organisation's account.",
        ));
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
) -> Result<KeyRotation, ApiError> {
    let current =
        state.config.license_verifier.get()?.verify(&license.key).map_err(|e| {
            ApiError::internal(format!("the stored key of license {} does not verify: {e}", license.id))
        })?;
    Ok(presented.rotation(&current, now))
}

fn superseded_key() -> ApiError {
    ApiError::forbidden(
        "key_superseded",
        "A newer key replaced this one; ask your organisation's admin for the license's current key.",
    )
}

/// `POST /api/enterprise/licenses/activate` (idempotent; audited): gives a member a seat.
pub async fn activate(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: ActivateRequest = json_body(&req)?;
    let payload = verify_key(&state, &body.key)?;
    let target = match &body.user_id {
        Some(raw) => UserId::parse(raw.as_str())?,
        None => principal.user_id.clone(),
    };
    idempotency::once(&state, &req, &principal, || async {
        let now = state.clock.now();
        let license =
            state.store.get_license(&payload.license_id).await?.ok_or_else(|| ApiError::not_found("license"))?;
        authorize_activation(&principal, &license, &target)?;
        if key_rotation(&state, &payload, &license, now)? == KeyRotation::Superseded {
            return Err(superseded_key());
        }
        if !license.grants_access(now) {
            return Err(inactive(&license, now));
        }
        let (status, seats_used, already) =
            match state.store.activate_seat(&license, &target, principal.user_id.as_str(), now).await? {
                Activation::Activated { seats_used } => (StatusCode::CREATED, seats_used, false),
                Activation::AlreadyActive => (StatusCode::OK, license.seats_used, true),
                Activation::NoSeatsLeft => {
                    return Err(ApiError::conflict(
                        "no_seats_left",
                        format!("All {} seats of this license are in use; free one or renew with more.", license.seats),
                    )
                    .with_details(json!({ "seats": license.seats })));
                }
                Activation::Inactive(current) => return Err(inactive(&current, now)),
                Activation::NotFound => return Err(ApiError::not_found("license")),
            };
        if !already {
            audit::record(
                &state,
                &principal,
                &http::request_id(&req),
                "license.seat.activate",
                &format!("license:{}", license.id),
                json!({ "userId": target }),
            )
            .await?;
        }
        http::json(
            status,
            &json!({
                "licenseId": license.id,
                "orgId": license.org_id,
                "userId": target,
                "alreadyActive": already,
                "seats": license.seats,
                "seatsUsed": seats_used,
                "features": license.features,
            }),
        )
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeactivateRequest {
    license_id: String,
    user_id: Option<String>,
}

/// `POST /api/enterprise/licenses/deactivate` (idempotent; audited): frees a seat. The org's
/// enterprise admin (or an admin) frees anyone's; a member frees their own.
pub async fn deactivate(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: DeactivateRequest = json_body(&req)?;
    let target = match &body.user_id {
        Some(raw) => UserId::parse(raw.as_str())?,
        None => principal.user_id.clone(),
    };
    idempotency::once(&state, &req, &principal, || async {
        let license = state.store.get_license(&body.license_id).await?.ok_or_else(|| ApiError::not_found("license"))?;
        let own_seat = target == principal.user_id && state.store.get_seat(&license.id, &target).await?.is_some();
        if !may_manage(&principal, &license) && !own_seat {
            return Err(ApiError::not_found("license"));
        }
        let now = state.clock.now();
        if !state.store.deactivate_seat(&license, &target, now).await? {
            return Err(ApiError::not_found("seat"));
        }
        audit::record(
            &state,
            &principal,
            &http::request_id(&req),
            "license.seat.deactivate",
            &format!("license:{}", license.id),
            json!({ "userId": target }),
        )
        .await?;
        let seats_used = state.store.get_license(&license.id).await?.map(|l| l.seats_used).unwrap_or(0);
        ok(&json!({ "licenseId": license.id, "userId": target, "released": true, "seats": license.seats,
                    "seatsUsed": seats_used }))
    })
    .await
}

// ------------------------------------------------------------------ validate

/// `GET /api/enterprise/licenses/validate?key=` (public, no JWT). The signature is checked first,
/// without touching the database: a forged or damaged key is refused with 400. An authentic key
/// then counts against the caller's budget (LICENSE_VALIDATE_RATE_LIMIT per source IP and minute;
/// over it: 429 with Retry-After) before the license is read.
pub async fn validate(req: Request, state: Arc<AppState>) -> HttpResult {
    let raw = query(&req, "key").ok_or_else(|| {
        ApiError::bad_request("validation_failed", "The key query parameter is required.")
            .with_details(json!({ "field": "key" }))
    })?;
    let payload = verify_key(&state, &raw)?;
    let limit = *state.config.license_validate_rate_limit.get()?;
    let now = state.clock.now();
    let remaining = match state
        .store
        .hit_rate_limit("license-validate", &http::source_ip(&req), limit, VALIDATE_WINDOW_SECONDS, now.as_second())
        .await?
    {
        RateDecision::Allowed { remaining } => remaining,
        RateDecision::Limited { retry_after_seconds } => {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("At most {limit} validations per minute per caller; retry after {retry_after_seconds} s."),
            );
            e.retry_after_seconds = Some(retry_after_seconds);
            return Err(e);
        }
    };
    let license = state.store.get_license(&payload.license_id).await?.ok_or_else(|| ApiError::not_found("license"))?;
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
    let rotation = key_rotation(&state, &payload, &license, now)?;
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
    let mut response = ok(&body)?;
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", limit.into());
    headers.insert("x-ratelimit-remaining", remaining.into());
    headers.insert("cache-control", ::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

// ------------------------------------------------------------------ admin: suspend, reinstate, revoke, renew

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StatusChangeRequest {
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RenewRequest {
    term_months: Option<i64>,
    expires_at: Option<String>,
    seats: Option<i64>,
}

/// `POST /api/enterprise/licenses/{licenseId}/{suspend|reinstate|revoke|renew}` (admin;
/// idempotent; audited).
pub async fn admin_action(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Admin])?;
    let license_id = path_param(&req, "licenseId")?;
    let action = req.uri().path().rsplit('/').next().unwrap_or_default().to_string();
    match action.as_str() {
        "renew" => renew(&req, &state, &principal, &license_id).await,
        "suspend" | "reinstate" | "revoke" => change_status(&req, &state, &principal, &license_id, &action).await,
        _ => Err(ApiError::not_found("license action")),
    }
}

async fn change_status(
    req: &Request,
    state: &AppState,
    principal: &Principal,
    license_id: &str,
    action: &str,
) -> HttpResult {
    let body: StatusChangeRequest = json_body(req)?;
    let reason = body.reason.as_deref().map(|r| parse_text("reason", r, 500)).transpose()?;
    if action != "reinstate" && reason.is_none() {
        return Err(ApiError::bad_request("validation_failed", "reason is required.")
            .with_details(json!({ "field": "reason" })));
    }
    let (from, to): (&[LicenseStatus], LicenseStatus) = match action {
        "suspend" => (&[LicenseStatus::Active], LicenseStatus::Suspended),
        "reinstate" => (&[LicenseStatus::Suspended], LicenseStatus::Active),
        _ => (&[LicenseStatus::Active, LicenseStatus::Suspended, LicenseStatus::Expired], LicenseStatus::Revoked),
    };
    idempotency::once(state, req, principal, || async {
        let license = state.store.get_license(license_id).await?.ok_or_else(|| ApiError::not_found("license"))?;
        let now = state.clock.now();
        let moved = if to == LicenseStatus::Revoked {
            state.store.revoke_license(&license, from, now).await?
        } else {
            state.store.set_license_status(&license.id, from, to, now).await?
        };
        if !moved {
            let current = state.store.get_license(license_id).await?.map(|l| l.status).unwrap_or(license.status);
            let done = match action {
                "suspend" => "suspended",
                "reinstate" => "reinstated",
                _ => "revoked",
            };
            return Err(ApiError::conflict(
                "invalid_status_transition",
                format!("A license that is {} cannot be {done}.", current.as_str()),
            )
            .with_details(json!({ "status": current.as_str() })));
        }
        audit::record(
            state,
            principal,
            &http::request_id(req),
            &format!("license.{action}"),
            &format!("license:{}", license.id),
            json!({ "from": license.status.as_str(), "to": to.as_str(), "reason": reason }),
        )
        .await?;
        let license = state.store.get_license(license_id).await?.ok_or_else(|| ApiError::not_found("license"))?;
        ok(&license_json(&license, now))
    })
    .await
}

/// Extends the term and/or changes the seats (never below the seats in use), re-keys the license
/// and brings an expired license back to active. A revoked license cannot be renewed.
async fn renew(req: &Request, state: &AppState, principal: &Principal, license_id: &str) -> HttpResult {
    let body: RenewRequest = json_body(req)?;
    let seats = body.seats.map(parse_seats).transpose()?;
    idempotency::once(state, req, principal, || async {
        let now = now_secs(&state.clock);
        let license = state.store.get_license(license_id).await?.ok_or_else(|| ApiError::not_found("license"))?;
        if license.status == LicenseStatus::Revoked {
            return Err(ApiError::conflict("license_revoked", "A revoked license cannot be renewed."));
        }
        // termMonths extends from the current expiry (or from now, when that is past).
        let start = license.expires_at.max(now);
        let expires_at = match (body.term_months, body.expires_at.as_deref()) {
            (None, None) if license.status == LicenseStatus::Expired => {
                return Err(ApiError::bad_request("validation_failed", "An expired license needs a new term: termMonths or expiresAt.")
                    .with_details(json!({ "field": "termMonths" })));
            }
            (None, None) => license.expires_at,
            (months, explicit) => parse_expiry(if explicit.is_some() { now } else { start }, months, explicit)?,
        };
        let seats = seats.unwrap_or(license.seats);
        check_seat_change(seats, license.seats_used).map_err(|e| {
            ApiError::unprocessable("seats_below_use", e.message).with_details(json!({ "seatsUsed": license.seats_used }))
        })?;
        let new_status =
            if license.status == LicenseStatus::Expired { LicenseStatus::Active } else { license.status };
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
        let outcome = state
            .store
            .renew_license(
                license_id,
                &Renewal {
                    expected_key_version: license.key_version,
                    expected_status: license.status,
                    new_status,
                    expires_at,
                    grace_ends: grace_until(expires_at, license.grace_days),
                    seats,
                    key_version: renewed.key_version,
                    key: &renewed.key,
                    now,
                },
            )
            .await?;
        match outcome {
            RenewalOutcome::Renewed => {}
            RenewalOutcome::SeatsBelowUse { seats_used } => {
                return Err(ApiError::unprocessable(
                    "seats_below_use",
                    format!("seats cannot be below the {seats_used} seats in use"),
                )
                .with_details(json!({ "seatsUsed": seats_used })));
            }
            RenewalOutcome::Conflict => {
                return Err(ApiError::conflict("conflict", "The license changed meanwhile; reload and retry."));
            }
        }
        audit::record(
            state,
            principal,
            &http::request_id(req),
            "license.renew",
            &format!("license:{}", license.id),
            json!({
                "from": { "expiresAt": license.expires_at.to_string(), "seats": license.seats, "status": license.status.as_str() },
                "to": { "expiresAt": expires_at.to_string(), "seats": seats, "status": new_status.as_str() },
                "keyVersion": renewed.key_version,
            }),
        )
        .await?;
        let license = state.store.get_license(license_id).await?.ok_or_else(|| ApiError::not_found("license"))?;
        ok(&license_json(&license, now))
    })
    .await
}

// ------------------------------------------------------------------ white-label

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WhiteLabelRequest {
    brand_name: String,
    logo_url: String,
    primary_color: String,
    custom_domain: String,
}

/// `PUT /api/enterprise/licenses/{licenseId}/white-label` (the org's enterprise admin or an admin;
/// needs the license feature `white_label`; audited).
pub async fn white_label_put(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: WhiteLabelRequest = json_body(&req)?;
    let license = managed_license(&state, &principal, &path_param(&req, "licenseId")?).await?;
    if !license.has_feature(Feature::WhiteLabel) {
        return Err(ApiError::forbidden("feature_not_licensed", "This license does not include white_label.")
            .with_details(json!({ "feature": Feature::WhiteLabel })));
    }
    let now = state.clock.now();
    if !license.grants_access(now) {
        return Err(inactive(&license, now));
    }
    let settings = WhiteLabel::parse(&body.brand_name, &body.logo_url, &body.primary_color, &body.custom_domain)?;
    match state.store.set_white_label(&license, &settings, now).await? {
        WhiteLabelOutcome::Saved => {}
        WhiteLabelOutcome::DomainTaken => {
            return Err(ApiError::conflict(
                "domain_taken",
                format!("The domain {} is used by another license.", settings.custom_domain),
            )
            .with_details(json!({ "field": "customDomain" })));
        }
    }
    audit::record(
        &state,
        &principal,
        &http::request_id(&req),
        "license.white_label",
        &format!("license:{}", license.id),
        json!({ "whiteLabel": settings }),
    )
    .await?;
    ok(&json!({ "licenseId": license.id, "whiteLabel": settings }))
}

/// `GET /api/enterprise/white-label?domain=` (public): the theme served on a custom domain, while
/// its license grants access.
pub async fn white_label_get(req: Request, state: Arc<AppState>) -> HttpResult {
    let domain = parse_hostname("domain", &query(&req, "domain").unwrap_or_default())?;
    let license_id =
        state.store.license_for_domain(&domain).await?.ok_or_else(|| ApiError::not_found("white-label theme"))?;
    let license = state.store.get_license(&license_id).await?;
    let theme = license
        .as_ref()
        .filter(|l| l.grants_access(state.clock.now()) && l.has_feature(Feature::WhiteLabel))
        .and_then(|l| l.white_label.clone())
        .filter(|wl| wl.custom_domain == domain)
        .ok_or_else(|| ApiError::not_found("white-label theme"))?;
    let mut response = ok(&theme)?;
    response.headers_mut().insert("cache-control", ::http::HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}

// ------------------------------------------------------------------ usage

/// `GET /api/enterprise/usage?licenseId=&from=YYYY-MM&to=YYYY-MM` (the org's enterprise admin or an
/// admin): the organisation's usage by month. Defaults: from the license's issue month to now.
pub async fn usage(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let license_id = query(&req, "licenseId").ok_or_else(|| {
        ApiError::bad_request("validation_failed", "The licenseId query parameter is required.")
            .with_details(json!({ "field": "licenseId" }))
    })?;
    let month_param = |name: &str, default: String| -> Result<String, ApiError> {
        match query(&req, name) {
            None => Ok(default),
            Some(raw) => parse_month(&raw).ok_or_else(|| {
                ApiError::bad_request("invalid_month", format!("{name} must look like 2026-11."))
                    .with_details(json!({ "field": name }))
            }),
        }
    };
    let license = managed_license(&state, &principal, &license_id).await?;
    let now = state.clock.now();
    let from = month_param("from", month_of(license.issued_at))?;
    let to = month_param("to", month_of(now))?;
    let span = months(&from, &to).len();
    if span == 0 || span > MAX_USAGE_MONTHS {
        return Err(ApiError::bad_request(
            "invalid_month",
            format!("from must not be after to, and the span at most {MAX_USAGE_MONTHS} months."),
        ));
    }
    let recorded = state.store.usage_months(license.org_id.as_str(), &to).await?;
    let series = monthly_series(&recorded, &from, &to);
    ok(&json!({
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
            assert_eq!(authorize_activation(stranger, &license(true), &member).unwrap_err().code, "org_mismatch");
        }
        assert!(authorize_activation(&operator, &license(false), &member).is_ok());
        assert_eq!(authorize_activation(&admin_b, &license(true), &member).unwrap_err().status, 404);
        assert_eq!(
            authorize_activation(&student, &license(false), &member).unwrap_err().code,
            "self_activation_disabled"
        );
        assert!(authorize_activation(&student, &license(true), &member).is_ok());
        let someone = UserId::parse("someone").unwrap();
        assert_eq!(authorize_activation(&student, &license(true), &someone).unwrap_err().code, "forbidden");
        assert!(is_org_admin(&admin_a, &license(false)) && !is_org_admin(&admin_b, &license(false)));
    }
}
