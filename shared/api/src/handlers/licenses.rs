//! Enterprise license endpoints under `/api/enterprise`: create and administer licenses, activate
//! and release seats, validate keys (public, rate-limited), white-label themes and usage reports.
//! Each parses the request, authorizes, calls the licensing service (`crate::licensing`) and maps
//! its result.

use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, ok, path_param, query};
use crate::idempotency::{self, derived_id};
use crate::licensing::dns::DohResolver;
use crate::licensing::licenses::{self as service, Actor, NewLicense, RenewTerms, StatusChange, now_secs, verify_key};
use crate::licensing::white_label::{Claim, Verified};
use crate::licensing::{LicenseError, license_json, managed_license, purchase, white_label};
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::audit::parse_month;
use azora_domain::license::{
    MAX_TERM_MONTHS, WhiteLabel, expiry_outside_window, parse_expiry, parse_features, parse_grace_days, parse_hostname,
    parse_seats, parse_text,
};
use azora_domain::notification::EmailAddress;
use azora_domain::{OrgId, Role, UserId};
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

// ------------------------------------------------------------------ create

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateRequest {
    org_id: Option<String>,
    org_name: String,
    contact_email: String,
    #[serde(deserialize_with = "azora_domain::json_integer::exact")]
    seats: i64,
    #[serde(default, deserialize_with = "azora_domain::json_integer::optional")]
    term_months: Option<i64>,
    expires_at: Option<String>,
    features: Option<Vec<String>>,
    #[serde(default, deserialize_with = "azora_domain::json_integer::optional")]
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
    if body.term_months.is_none() {
        check_expiry_window(now, body.expires_at.as_deref())?;
    }
    let expires_at = parse_expiry(now, body.term_months, body.expires_at.as_deref())?;
    let features = parse_features(body.features.as_deref())?;
    let grace_days = parse_grace_days(body.grace_days)?;
    let license_id = derived_id("lic", &principal, &key);
    let org_id = match &body.org_id {
        Some(raw) => OrgId::parse(raw.as_str())?,
        // No org yet at the identity provider: one is minted; put it in the members' `org` claim.
        None => OrgId::parse(format!("org_{}", &license_id[4..]))?,
    };
    let request_id = http::request_id(&req);
    idempotency::once(&state, &req, &principal, || async {
        let actor = Actor { principal: &principal, request_id: &request_id };
        let new = NewLicense {
            id: license_id.clone(),
            org_id: org_id.clone(),
            org_name: org_name.clone(),
            contact_email: contact_email.clone(),
            seats,
            expires_at,
            features: features.clone(),
            grace_days,
            self_activation: body.allow_self_activation,
        };
        let license = service::create(&state, &actor, new, now).await?;
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

/// `POST /api/enterprise/licenses/activate` (idempotent; audited): gives a member a seat.
pub async fn activate(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: ActivateRequest = json_body(&req)?;
    let payload = verify_key(&state, &body.key)?;
    let target = match &body.user_id {
        Some(raw) => UserId::parse(raw.as_str())?,
        None => principal.user_id.clone(),
    };
    let request_id = http::request_id(&req);
    idempotency::once(&state, &req, &principal, || async {
        let actor = Actor { principal: &principal, request_id: &request_id };
        let seated = service::activate(&state, &actor, &payload, &target).await?;
        let license = &seated.license;
        http::json(
            if seated.already { StatusCode::OK } else { StatusCode::CREATED },
            &json!({
                "licenseId": license.id,
                "orgId": license.org_id,
                "userId": target,
                "alreadyActive": seated.already,
                "seats": license.seats,
                "seatsUsed": seated.seats_used,
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
    let request_id = http::request_id(&req);
    idempotency::once(&state, &req, &principal, || async {
        let actor = Actor { principal: &principal, request_id: &request_id };
        let (license, seats_used) = service::deactivate(&state, &actor, &body.license_id, &target).await?;
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
    let raw = query(&req, "key")
        .ok_or(LicenseError::Missing { field: "key", message: "The key query parameter is required." })?;
    let payload = verify_key(&state, &raw)?;
    let validation = service::validate(&state, &payload, &http::source_ip(&req)).await?;
    let mut response = ok(&validation.body)?;
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", validation.limit.into());
    headers.insert("x-ratelimit-remaining", validation.remaining.into());
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
    #[serde(default, deserialize_with = "azora_domain::json_integer::optional")]
    term_months: Option<i64>,
    expires_at: Option<String>,
    #[serde(default, deserialize_with = "azora_domain::json_integer::optional")]
    seats: Option<i64>,
}

/// An explicit expiry outside the allowed window (past, or beyond the longest term): 422.
fn check_expiry_window(now: jiff::Timestamp, expires_at: Option<&str>) -> Result<(), ApiError> {
    if expires_at.is_some_and(|raw| expiry_outside_window(now, raw)) {
        return Err(ApiError::unprocessable(
            "expiry_out_of_range",
            format!("expiresAt must be in the future and at most {MAX_TERM_MONTHS} months ahead."),
        )
        .with_details(json!({ "field": "expiresAt" })));
    }
    Ok(())
}

/// `POST /api/enterprise/licenses/{licenseId}/{suspend|reinstate|revoke|renew}` (admin;
/// idempotent; audited).
pub async fn admin_action(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Admin])?;
    let license_id = path_param(&req, "licenseId")?;
    let action = req.uri().path().rsplit('/').next().unwrap_or_default().to_string();
    let request_id = http::request_id(&req);
    let actor = Actor { principal: &principal, request_id: &request_id };
    if action == "renew" {
        let body: RenewRequest = json_body(&req)?;
        let seats = body.seats.map(parse_seats).transpose()?;
        if body.term_months.is_none() {
            check_expiry_window(now_secs(&state.clock), body.expires_at.as_deref())?;
        }
        let terms = RenewTerms { term_months: body.term_months, expires_at: body.expires_at.as_deref(), seats };
        return idempotency::once(&state, &req, &principal, || async {
            ok(&service::renew(&state, &actor, &license_id, &terms).await?)
        })
        .await;
    }
    let change = StatusChange::parse(&action).ok_or_else(|| ApiError::not_found("license action"))?;
    let body: StatusChangeRequest = json_body(&req)?;
    let reason = body.reason.as_deref().map(|r| parse_text("reason", r, 500)).transpose()?;
    if change.needs_reason() && reason.is_none() {
        return Err(LicenseError::Missing { field: "reason", message: "reason is required." }.into());
    }
    idempotency::once(&state, &req, &principal, || async {
        ok(&service::change_status(&state, &actor, &license_id, change, reason.clone()).await?)
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
/// needs the license feature `white_label`; audited): the theme of the domain already verified for
/// this license applies at once (`status: active`); a new domain is claimed pending its DNS proof
/// (`status: pending_verification` and the TXT `verification` record to create).
pub async fn white_label_put(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: WhiteLabelRequest = json_body(&req)?;
    let license = managed_license(&state, &principal, &path_param(&req, "licenseId")?).await?;
    let settings = WhiteLabel::parse(&body.brand_name, &body.logo_url, &body.primary_color, &body.custom_domain)?;
    let request_id = http::request_id(&req);
    let actor = Actor { principal: &principal, request_id: &request_id };
    match white_label::claim(&state, &actor, &license, &settings).await? {
        Claim::Active => ok(&json!({ "licenseId": license.id, "whiteLabel": settings, "status": "active" })),
        Claim::Pending { record } => http::json(
            StatusCode::ACCEPTED,
            &json!({ "licenseId": license.id, "whiteLabel": settings, "status": "pending_verification",
                     "verification": record }),
        ),
    }
}

/// `POST /api/enterprise/licenses/{licenseId}/white-label/verify` (the org's enterprise admin or an
/// admin; audited): checks the pending domain's TXT record through the DNS resolver and, when it
/// shows the token, makes the theme live on the domain.
pub async fn white_label_verify(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let license = managed_license(&state, &principal, &path_param(&req, "licenseId")?).await?;
    let resolver = DohResolver::new(state.config.dns_resolver_url.get()?);
    let request_id = http::request_id(&req);
    let actor = Actor { principal: &principal, request_id: &request_id };
    let Verified::Active(settings) = white_label::verify(&state, &actor, &license, &resolver).await?;
    ok(&json!({ "licenseId": license.id, "whiteLabel": settings, "status": "active" }))
}

/// `GET /api/enterprise/licenses/{licenseId}/white-label` (the org's enterprise admin or an
/// admin; others 404): the theme live on the verified domain and the claim waiting for its DNS
/// proof, with the record to create.
pub async fn white_label_settings(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let license = managed_license(&state, &principal, &path_param(&req, "licenseId")?).await?;
    let found = white_label::settings(&state, &license).await?;
    let pending = found.pending.map(|p| {
        json!({ "licenseId": license.id, "whiteLabel": p.settings, "status": "pending_verification",
                "verification": p.record, "claimedAt": p.claimed_at.to_string() })
    });
    ok(&json!({ "licenseId": license.id, "live": found.live, "pending": pending }))
}

/// `GET /api/enterprise/white-label?domain=` (public): the theme served on a custom domain, while
/// its license grants access.
pub async fn white_label_get(req: Request, state: Arc<AppState>) -> HttpResult {
    let domain = parse_hostname("domain", &query(&req, "domain").unwrap_or_default())?;
    let theme = white_label::theme(&state, &domain).await?;
    let mut response = ok(&theme)?;
    response.headers_mut().insert("cache-control", ::http::HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}

// ------------------------------------------------------------------ usage

/// `GET /api/enterprise/usage?licenseId=&from=YYYY-MM&to=YYYY-MM` (the org's enterprise admin or an
/// admin): the organisation's usage by month. Defaults: from the license's issue month to now.
pub async fn usage(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let license_id = query(&req, "licenseId")
        .ok_or(LicenseError::Missing { field: "licenseId", message: "The licenseId query parameter is required." })?;
    let month_param = |name: &'static str| -> Result<Option<String>, LicenseError> {
        query(&req, name)
            .map(|raw| {
                parse_month(&raw).ok_or_else(|| LicenseError::InvalidMonth {
                    field: Some(name),
                    message: format!("{name} must look like 2026-11."),
                })
            })
            .transpose()
    };
    let license = managed_license(&state, &principal, &license_id).await?;
    let (from, to) = (month_param("from")?, month_param("to")?);
    ok(&service::usage(&state, &license, from, to).await?)
}

// ------------------------------------------------------------------ self-serve purchase: quotes

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct QuoteBody {
    #[serde(deserialize_with = "azora_domain::json_integer::exact")]
    seats: i64,
    #[serde(deserialize_with = "azora_domain::json_integer::exact")]
    term_months: i64,
    org_name: String,
    contact_email: String,
}

/// `POST /api/enterprise/quotes` (anyone signed in): prices N seats for a term, exactly.
pub async fn quote_create(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: QuoteBody = json_body(&req)?;
    let seats = parse_seats(body.seats)?;
    let term_months = azora_domain::license_purchase::parse_term(body.term_months)?;
    let org_name = parse_text("orgName", &body.org_name, 200)?;
    let contact_email = EmailAddress::parse(&body.contact_email)
        .map_err(|e| azora_domain::ValidationError::new("contactEmail", e.message))?;
    let request = purchase::QuoteRequest { seats, term_months, org_name, contact_email };
    let quote = purchase::request_quote(&state, &principal, request).await?;
    http::json(StatusCode::CREATED, &purchase::quote_json(&quote, state.clock.now()))
}

/// `GET /api/enterprise/quotes/{quoteId}`: the quote's owner (its organisation's enterprise admins,
/// or the user who asked) or an admin; anyone else 404.
pub async fn quote_get(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let quote = purchase::quote_for(&state, &principal, &path_param(&req, "quoteId")?).await?;
    ok(&purchase::quote_json(&quote, state.clock.now()))
}

/// `POST /api/enterprise/quotes/{quoteId}/accept`: the quote's owner (or an admin) accepts it; a
/// Stripe invoice for its total is sent to the quote's contact email; the answer is the quote with
/// its invoice's payment page. Accepting again answers the same invoice.
pub async fn quote_accept(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let quote = purchase::accept_quote(&state, &principal, &path_param(&req, "quoteId")?).await?;
    ok(&purchase::quote_json(&quote, state.clock.now()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeatsBody {
    #[serde(deserialize_with = "azora_domain::json_integer::exact")]
    add: i64,
}

/// `POST /api/enterprise/licenses/{licenseId}/seats` (Idempotency-Key required): the org's
/// enterprise admin (or an admin) buys `add` more seats on a license bought self-serve; a Stripe
/// invoice for the prorated price is sent, and the seats are added (with a new key) when it is
/// paid. The answer is the order, as a quote of kind `add_seats`.
pub async fn seats_add(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let key = idempotency::key(&req)?;
    idempotency::once(&state, &req, &principal, || async {
        let body: SeatsBody = json_body(&req)?;
        let added = parse_seats(body.add).map_err(|e| azora_domain::ValidationError::new("add", e.message))?;
        let order_id = derived_id("quo", &principal, &key);
        let license_id = path_param(&req, "licenseId")?;
        let order = purchase::request_seats(&state, &principal, &license_id, added, &order_id).await?;
        http::json(StatusCode::CREATED, &purchase::quote_json(&order, state.clock.now()))
    })
    .await
}

/// `GET /api/enterprise/quotes?cursor=`: the caller's organisation's quotes (or their own), newest first.
pub async fn quote_list(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let page = purchase::quotes(&state, &principal, query(&req, "cursor").as_deref()).await?;
    let now = state.clock.now();
    let items: Vec<_> = page.items.iter().map(|q| purchase::quote_json(q, now)).collect();
    ok(&json!({ "data": items, "nextCursor": page.next_cursor }))
}
