//! Subscription endpoints.

use crate::billing;
use crate::billing::PlanChangeDone;
use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, ok};
use crate::idempotency;
use crate::state::AppState;
use crate::subscriptions::{self, NewSubscription, status_from_stripe};
use ::http::StatusCode;
use azora_domain::entitlements::Source;
use azora_domain::subscription::Subscription;
use azora_domain::subscription::{BillingInterval, PlanChange, SubscriptionStatus};
use azora_domain::tiers::Feature;
use azora_domain::{Tier, UserId};
use azora_stripe::billing::SubscriptionOutcome;
use lambda_http::Request;
use serde::Deserialize;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    pub tier: &'static str,
    pub status: &'static str,
    pub interval: Option<&'static str>,
    pub current_period_end: Option<String>,
    pub cancel_at_period_end: bool,
    pub pending_change: Option<serde_json::Value>,
    pub features: Vec<&'static str>,
    pub token_multiplier_percent: u32,
}

impl From<&Subscription> for SubscriptionView {
    fn from(s: &Subscription) -> Self {
        let effective = s.effective_tier();
        Self {
            tier: s.tier.as_str(),
            status: s.status.as_str(),
            interval: s.interval.map(|i| i.as_str()),
            current_period_end: s.current_period_end.map(|t| t.to_string()),
            cancel_at_period_end: s.cancel_at_period_end,
            pending_change: None,
            features: effective.features().iter().map(|f: &Feature| f.as_str()).collect(),
            token_multiplier_percent: effective.token_multiplier_percent(),
        }
    }
}

/// `GET /api/subscriptions/current`: the caller's plan as `crate::entitlements` decides it (the
/// same answer the feature gates and the rewards worker use); no subscription means Free.
///
/// `tier`, `features` and `tokenMultiplierPercent` are the entitlements'. When a seat decides the
/// tier the plan is the license's (`source: "license"`, `licenseId`, `orgId`, `currentPeriodEnd` =
/// the license's expiry); otherwise the billing fields are the subscription's, and a Pro credit in
/// force adds `proCreditUntil` (`source: "pro_credit"` when it decides the tier).
pub async fn current(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let plan = crate::entitlements::plan_of(&state, &principal.user_id, state.clock.now()).await?;
    ok(&current_view(&plan)?)
}

fn current_view(plan: &crate::entitlements::Plan) -> Result<serde_json::Value, ApiError> {
    let e = &plan.entitlements;
    let features: Vec<&str> = e.features.iter().map(|f| f.as_str()).collect();
    if let Source::License { license_id, org_id, expires_at } = &e.source {
        let licensed = Subscription {
            tier: Tier::Enterprise,
            status: SubscriptionStatus::Active,
            interval: None,
            current_period_end: Some(*expires_at),
            cancel_at_period_end: false,
        };
        let mut view = serde_json::to_value(SubscriptionView::from(&licensed)).map_err(ApiError::internal)?;
        view["tier"] = json!(e.tier.as_str());
        view["features"] = json!(features);
        view["tokenMultiplierPercent"] = json!(e.token_multiplier_percent);
        view["source"] = json!("license");
        view["licenseId"] = json!(license_id);
        view["orgId"] = json!(org_id);
        if let Some(until) = e.pro_credit_until {
            view["proCreditUntil"] = json!(until.to_string());
        }
        return Ok(view);
    }
    let record = plan.subscription.as_ref();
    let subscription = record.map(|r| r.subscription.clone()).unwrap_or_else(Subscription::free);
    let mut view = serde_json::to_value(SubscriptionView::from(&subscription)).map_err(ApiError::internal)?;
    // A subscription that grants nothing (canceled, past its grace) still shows its own tier and
    // status, with no features; anything in force shows the entitled tier.
    if e.tier > Tier::Free {
        view["tier"] = json!(e.tier.as_str());
    }
    view["features"] = json!(features);
    view["tokenMultiplierPercent"] = json!(e.token_multiplier_percent);
    if let Source::ProCredit { .. } = e.source {
        view["source"] = json!("pro_credit");
    }
    if let Some(until) = e.pro_credit_until {
        view["proCreditUntil"] = json!(until.to_string());
    }
    if let Some(change) = record.and_then(|r| r.pending_change.as_ref()) {
        view["pendingChange"] = json!({
            "tier": change.tier.as_str(),
            "interval": change.interval.map(|i| i.as_str()),
            "effectiveAt": change.effective_at.to_string(),
        });
        // A scheduled downgrade is carried by Stripe's cancel-at-period-end; to the user it is a
        // change of plan, not a cancellation.
        if change.tier != Tier::Free {
            view["cancelAtPeriodEnd"] = json!(false);
        }
    }
    Ok(view)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateRequest {
    tier: String,
    interval: String,
    payment_method_id: Option<String>,
}

fn pro_only(tier: &str) -> Result<(), ApiError> {
    match Tier::parse(tier) {
        Some(Tier::Pro) => Ok(()),
        Some(Tier::Enterprise) => Err(ApiError::unprocessable(
            "enterprise_via_license",
            "Enterprise is sold per seat through licenses; contact sales.",
        )),
        Some(Tier::Free) => Err(ApiError::unprocessable("free_needs_no_subscription", "Free needs no subscription.")),
        None => {
            Err(ApiError::bad_request("validation_failed", "tier must be pro").with_details(json!({ "field": "tier" })))
        }
    }
}

fn parse_interval(raw: &str) -> Result<BillingInterval, ApiError> {
    BillingInterval::parse(raw).ok_or_else(|| {
        ApiError::bad_request("validation_failed", "interval must be month or year")
            .with_details(json!({ "field": "interval" }))
    })
}

/// `POST /api/subscriptions/create`: one live subscription per user (see
/// [`subscriptions::create`]); incomplete until its first invoice is paid (at once with
/// `paymentMethodId`, else by the client with `clientSecret`).
pub async fn create(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: CreateRequest = json_body(&req)?;
    pro_only(&body.tier)?;
    let interval = parse_interval(&body.interval)?;
    if let Some(pm) = &body.payment_method_id {
        super::payments::validate_payment_method(pm)?;
    }
    let key = idempotency::key(&req)?;
    idempotency::once(&state, &req, &principal, || async {
        let new =
            NewSubscription { interval, payment_method_id: body.payment_method_id.as_deref(), idempotency_key: &key };
        created_response(&subscriptions::create(&state, &principal, new).await?)
    })
    .await
}

fn created_response(created: &SubscriptionOutcome) -> HttpResult {
    let status = status_from_stripe(&created.status);
    http::json(
        StatusCode::CREATED,
        &json!({
            "subscriptionId": created.id,
            "status": status.as_str(),
            "clientSecret": if status == SubscriptionStatus::Incomplete { created.client_secret.clone() } else { None },
        }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateRequest {
    tier: Option<String>,
    interval: Option<String>,
    /// The proration date of a preview (`GET /api/subscriptions/preview`), so that an upgrade
    /// charges exactly what was quoted; at most an hour old.
    proration_date: Option<String>,
}

/// `PUT /api/subscriptions/update`: an upgrade (monthly → yearly) takes effect now with the
/// proration invoiced at once; a downgrade (yearly → monthly, Pro → Free) is scheduled for the
/// period end and shown as `pendingChange`; asking for the plan you will have resumes it.
pub async fn update(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: UpdateRequest = json_body(&req)?;
    let quoted_at = match body.proration_date.as_deref() {
        None => None,
        Some(raw) => Some(raw.parse::<jiff::Timestamp>().map_err(|_| {
            ApiError::bad_request("validation_failed", "prorationDate must be an RFC 3339 timestamp")
                .with_details(json!({ "field": "prorationDate" }))
        })?),
    };
    let done =
        billing::change_plan(&state, &principal.user_id, body.tier.as_deref(), body.interval.as_deref(), quoted_at)
            .await?;
    if let PlanChangeDone::Upgraded { proration_amount, record } = done {
        return ok(&json!({
            "change": "upgrade",
            "effective": "now",
            "prorationAmount": proration_amount,
            "currency": "USD",
            "subscription": record.map(|r| SubscriptionView::from(&r.subscription)),
        }));
    }
    let record = state.store.get_subscription_record(&principal.user_id).await?;
    let downgrade = done == PlanChangeDone::Downgraded;
    ok(&json!({
        "change": if downgrade { "downgrade" } else { "resume" },
        "effective": if downgrade { "period_end" } else { "now" },
        "pendingChange": record.as_ref().and_then(|r| r.pending_change.as_ref()).map(|c| json!({
            "tier": c.tier.as_str(), "interval": c.interval.map(|i| i.as_str()), "effectiveAt": c.effective_at.to_string()
        })),
    }))
}

/// `GET /api/subscriptions/preview?tier=&interval=`: what `PUT /api/subscriptions/update` with the
/// same plan would invoice now and when it takes effect, by the update's rules (Stripe's invoice
/// preview for an upgrade); `prorationDate` passed to the update charges exactly `amountDue`.
pub async fn preview(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let (tier, interval) = (http::query(&req, "tier"), http::query(&req, "interval"));
    let preview = billing::preview_change(&state, &principal.user_id, tier.as_deref(), interval.as_deref()).await?;
    let change = preview.change;
    ok(&json!({
        "change": match change.kind { PlanChange::Upgrade => "upgrade", PlanChange::Downgrade => "downgrade", PlanChange::Same => "resume" },
        "tier": change.tier.as_str(),
        "interval": change.interval.map(|i| i.as_str()),
        "effective": if change.kind == PlanChange::Downgrade { "period_end" } else { "now" },
        "effectiveAt": preview.effective_at.to_string(),
        "amountDue": preview.amount_due.amount,
        "total": preview.total.amount,
        "currency": preview.amount_due.currency.code(),
        "lines": preview.lines.iter().map(|(description, amount)| json!({
            "description": description, "amount": amount.amount, "currency": amount.currency.code(),
        })).collect::<Vec<_>>(),
        "prorationDate": preview.proration_date.map(|t| t.to_string()),
    }))
}

/// `GET /api/subscriptions/invoices?limit=&startingAfter=`: the caller's invoices from Stripe,
/// newest first (only their own Stripe customer's).
pub async fn invoices(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let limit = http::limit(&req, 20, 100)?;
    let after = http::query(&req, "startingAfter");
    let page = billing::invoices_of(&state, &principal.user_id, i64::from(limit), after.as_deref()).await?;
    ok(&json!({
        "invoices": page.invoices.iter().map(|i| json!({
            "id": i.id,
            "number": i.number,
            "date": i.created.to_string(),
            "amount": i.total.amount,
            "amountPaid": i.amount_paid.amount,
            "currency": i.total.currency.code(),
            "status": i.status,
            "billingReason": i.billing_reason,
            "hostedInvoiceUrl": i.hosted_invoice_url,
            "invoicePdf": i.invoice_pdf,
        })).collect::<Vec<_>>(),
        "nextCursor": page.next,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CancelRequest {
    #[serde(default = "yes")]
    at_period_end: bool,
    user_id: Option<String>,
}

fn yes() -> bool {
    true
}

/// `POST /api/subscriptions/cancel`: at period end by default (access until then); admins may
/// cancel at once (also for another user with `userId`). Audited when an admin acts.
pub async fn cancel(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: CancelRequest = if http::body_bytes(&req).is_empty() {
        CancelRequest { at_period_end: true, user_id: None }
    } else {
        json_body(&req)?
    };
    if !body.at_period_end && !principal.is_admin() {
        return Err(ApiError::forbidden(
            "forbidden",
            "Only admins can cancel immediately; cancel at period end instead.",
        ));
    }
    let user = match &body.user_id {
        Some(other) if other != principal.user_id.as_str() => {
            if !principal.is_admin() {
                return Err(ApiError::not_found("subscription"));
            }
            UserId::parse(other.clone())?
        }
        _ => principal.user_id.clone(),
    };
    let sub_id = subscriptions::cancel(&state, &user, body.at_period_end).await?;
    if principal.is_admin() {
        crate::audit::record(
            &state,
            &principal,
            &http::request_id(&req),
            "subscription.cancel",
            &format!("user:{user}"),
            json!({ "atPeriodEnd": body.at_period_end, "stripeSubscriptionId": sub_id }),
        )
        .await?;
    }
    let record = state.store.get_subscription_record(&user).await?;
    ok(&record.map(|r| SubscriptionView::from(&r.subscription)))
}

#[cfg(test)]
mod tests {
    use super::current_view;
    use crate::entitlements::{Plan, decide};
    use azora_domain::entitlements::Entitlements;
    use azora_domain::license::{License, LicenseStatus};
    use azora_domain::notification::EmailAddress;
    use azora_domain::subscription::{Subscription, SubscriptionStatus};
    use azora_domain::{Feature, OrgId, Tier, UserId};
    use azora_store::entitlements::EntitlementSources;
    use azora_store::subscriptions::SubscriptionRecord;
    use azora_store::tokens::ProCredit;
    use jiff::{SignedDuration, Timestamp};
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-12-02T10:00:00Z".parse().unwrap()
    }

    fn record(status: SubscriptionStatus) -> SubscriptionRecord {
        SubscriptionRecord {
            user_id: UserId::parse("u").unwrap(),
            subscription: Subscription { tier: Tier::Pro, status, ..Subscription::free() },
            stripe_subscription_id: Some("sub_1".into()),
            stripe_customer_id: None,
            pending_change: None,
            past_due_since: None,
            reminded_period_end: None,
        }
    }

    #[test]
    fn free_without_anything() {
        let view = current_view(&Plan { entitlements: Entitlements::free(), subscription: None }).unwrap();
        assert_eq!((view["tier"].clone(), view["features"].clone()), (json!("free"), json!([])));
        assert_eq!(view["tokenMultiplierPercent"], 100);
        assert!(view.get("source").is_none());
    }

    #[test]
    fn a_pro_credit_over_a_canceled_subscription_reports_pro() {
        let until = now() + SignedDuration::from_hours(24);
        let sources = EntitlementSources {
            subscription: Some(record(SubscriptionStatus::Canceled)),
            pro_credit: Some(ProCredit { until }),
            seat_licenses: vec![],
        };
        let view = current_view(&decide(sources, 7, now())).unwrap();
        assert_eq!((view["tier"].clone(), view["status"].clone()), (json!("pro"), json!("canceled")));
        assert_eq!(
            (view["source"].clone(), view["proCreditUntil"].clone()),
            (json!("pro_credit"), json!(until.to_string()))
        );
        assert_eq!(view["tokenMultiplierPercent"], 150);
    }

    #[test]
    fn a_seat_reports_the_license_with_the_union_of_features() {
        let license = License {
            id: "lic_1".into(),
            org_id: OrgId::parse("acme").unwrap(),
            org_name: "Acme".into(),
            contact_email: EmailAddress::parse("it@acme.example").unwrap(),
            seats: 2,
            seats_used: 1,
            features: vec![Feature::WhiteLabel],
            status: LicenseStatus::Active,
            issued_at: now(),
            expires_at: now() + SignedDuration::from_hours(24 * 30),
            grace_days: 14,
            self_activation: false,
            key_version: 1,
            key: String::new(),
            white_label: None,
            updated_at: now(),
        };
        let sources = EntitlementSources {
            subscription: Some(record(SubscriptionStatus::Active)),
            pro_credit: None,
            seat_licenses: vec![license.clone()],
        };
        let view = current_view(&decide(sources, 7, now())).unwrap();
        assert_eq!((view["tier"].clone(), view["source"].clone()), (json!("enterprise"), json!("license")));
        assert_eq!((view["licenseId"].clone(), view["orgId"].clone()), (json!("lic_1"), json!("acme")));
        assert_eq!(view["currentPeriodEnd"], license.expires_at.to_string());
        assert_eq!(view["tokenMultiplierPercent"], 200);
        assert_eq!(
            view["features"],
            json!(["certificates", "offline_downloads", "ai_tutor", "pro_courses", "white_label"]),
            "the Pro subscription's features stay"
        );
    }
}
