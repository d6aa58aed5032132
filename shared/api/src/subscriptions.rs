//! Subscription lifecycle shared by the handlers, the stripe-events worker and the billing-cycle
//! job: mapping Stripe's subscription to our record and the emails that go with changes.

use crate::error::ApiError;
use crate::handlers::payments::gateway_error;
use crate::state::AppState;
use crate::telemetry;
use azora_domain::notification::{EmailAddress, Notification, NotificationKind};
use azora_domain::subscription::{BillingInterval, SubscriptionStatus, pro_lookup_key, pro_price};
use azora_domain::{Currency, Money, UserId};
use azora_store::subscriptions::{StripeSubscriptionState, SubscriptionRecord};
use azora_stripe::billing::{PriceSpec, SubscriptionOutcome};

/// The Stripe price of Pro for `interval` (found by lookup key, created once if missing).
pub async fn pro_price_id(state: &AppState, interval: BillingInterval) -> Result<String, ApiError> {
    let spec = PriceSpec {
        lookup_key: pro_lookup_key(interval),
        product_name: "Azora Pro",
        unit_amount: pro_price(interval),
        currency: "usd",
        yearly: interval == BillingInterval::Year,
    };
    state.stripe.ensure_price(&spec).await.map_err(gateway_error)
}

pub fn status_from_stripe(raw: &str) -> SubscriptionStatus {
    match raw {
        "active" => SubscriptionStatus::Active,
        "trialing" => SubscriptionStatus::Trialing,
        "past_due" | "unpaid" => SubscriptionStatus::PastDue,
        "incomplete" => SubscriptionStatus::Incomplete,
        // canceled, incomplete_expired, paused
        _ => SubscriptionStatus::Canceled,
    }
}

pub fn interval_from_metadata(outcome: &SubscriptionOutcome) -> Option<BillingInterval> {
    outcome.metadata.get("interval").and_then(|i| BillingInterval::parse(i))
}

/// Our view of a Stripe subscription as of `as_of` (an event's `created`, or now for a fetch).
pub fn state_of(
    outcome: &SubscriptionOutcome,
    interval: Option<BillingInterval>,
    as_of: i64,
) -> StripeSubscriptionState {
    StripeSubscriptionState {
        stripe_subscription_id: outcome.id.clone(),
        status: status_from_stripe(&outcome.status),
        interval,
        current_period_end: outcome.current_period_end.and_then(|t| jiff::Timestamp::from_second(t).ok()),
        cancel_at_period_end: outcome.cancel_at_period_end,
        as_of,
    }
}

/// Where subscription emails go: the address recorded at subscribe time, or the documented
/// fallback `<userId>@users.azora.local`.
pub fn email_for(user: &UserId, recorded: Option<&str>) -> Result<EmailAddress, ApiError> {
    recorded
        .and_then(|e| EmailAddress::parse(e).ok())
        .map(Ok)
        .unwrap_or_else(|| EmailAddress::parse(format!("{}@users.azora.local", user.as_str().replace(['|', '@'], "."))))
        .map_err(ApiError::internal)
}

pub fn plan_name(record: &SubscriptionRecord) -> String {
    match record.subscription.interval {
        Some(BillingInterval::Year) => "Pro (yearly)".into(),
        Some(BillingInterval::Month) => "Pro (monthly)".into(),
        None => "Pro".into(),
    }
}

pub async fn notify(state: &AppState, id: String, to: EmailAddress, kind: NotificationKind) -> Result<(), ApiError> {
    state.notifier.send(&Notification { id, to, kind }).await
}

/// After Stripe ended a subscription: resume on a pending downgrade (yearly → monthly), or drop
/// to Free and tell the user.
pub async fn after_subscription_ended(
    state: &AppState,
    record: &SubscriptionRecord,
    reason: &str,
) -> Result<(), ApiError> {
    if let Some(change) = record.pending_change.as_ref().filter(|c| c.tier == azora_domain::Tier::Pro) {
        let interval = change.interval.unwrap_or(BillingInterval::Month);
        let customer =
            record.stripe_customer_id.clone().ok_or_else(|| ApiError::internal("subscription without customer"))?;
        let old = record.stripe_subscription_id.clone().unwrap_or_default();
        let price = pro_price_id(state, interval).await?;
        let metadata = std::collections::HashMap::from([
            ("userId".to_string(), record.user_id.to_string()),
            ("tier".to_string(), "pro".to_string()),
            ("interval".to_string(), interval.as_str().to_string()),
        ]);
        let created = state
            .stripe
            .create_subscription(&customer, &price, true, metadata, &format!("renew-{}-{old}", record.user_id))
            .await
            .map_err(gateway_error)?;
        let now = state.clock.now();
        let next = SubscriptionRecord {
            subscription: azora_domain::subscription::Subscription {
                tier: azora_domain::Tier::Pro,
                status: status_from_stripe(&created.status),
                interval: Some(interval),
                current_period_end: created.current_period_end.and_then(|t| jiff::Timestamp::from_second(t).ok()),
                cancel_at_period_end: false,
            },
            stripe_subscription_id: Some(created.id.clone()),
            pending_change: None,
            past_due_since: None,
            reminded_period_end: None,
            ..record.clone()
        };
        state.store.start_subscription(&next, now).await?;
        telemetry::count("SubscriptionDowngradesApplied", 1);
        return Ok(());
    }
    telemetry::count("SubscriptionsEnded", 1);
    let to = email_for(&record.user_id, state.store.subscription_email(&record.user_id).await?.as_deref())?;
    let id = format!("subscription-ended-{}", record.stripe_subscription_id.clone().unwrap_or_default());
    notify(state, id, to, NotificationKind::SubscriptionEnded { plan: plan_name(record), reason: reason.to_string() })
        .await
}

/// Pro's price for display in reminders.
pub fn renewal_amount(interval: BillingInterval) -> Money {
    Money::new(pro_price(interval), Currency::Usd)
}

fn json_state(sub: &serde_json::Value, as_of: i64) -> Option<(UserId, StripeSubscriptionState)> {
    let user = UserId::parse(sub.pointer("/metadata/userId")?.as_str()?).ok()?;
    let state = StripeSubscriptionState {
        stripe_subscription_id: sub.pointer("/id")?.as_str()?.to_string(),
        status: status_from_stripe(sub.pointer("/status")?.as_str()?),
        interval: sub.pointer("/metadata/interval").and_then(|v| v.as_str()).and_then(BillingInterval::parse),
        current_period_end: sub
            .pointer("/items/data/0/current_period_end")
            .and_then(serde_json::Value::as_i64)
            .and_then(|t| jiff::Timestamp::from_second(t).ok()),
        cancel_at_period_end: sub
            .pointer("/cancel_at_period_end")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        as_of,
    };
    Some((user, state))
}

/// `customer.subscription.*`: events may arrive late, twice or out of order (and several in one
/// second), so the event only says *which* subscription changed: its current state is re-read
/// from Stripe and applied unless a newer one was applied already. An ended subscription drops the
/// user to Free (or starts the pending monthly plan).
pub async fn apply_subscription_event(state: &AppState, sub: &serde_json::Value, created: i64) -> Result<(), ApiError> {
    let Some((user, from_event)) = json_state(sub, created) else {
        tracing::info!("subscription event without our metadata; ignored");
        return Ok(());
    };
    let next = match state.stripe.retrieve_subscription(&from_event.stripe_subscription_id).await {
        Ok(fresh) => state_of(&fresh, interval_from_metadata(&fresh).or(from_event.interval), created),
        Err(azora_stripe::GatewayError::Rejected { .. }) => from_event,
        Err(e) => return Err(gateway_error(e)),
    };
    let applied = state.store.apply_stripe_state(&user, &next, state.clock.now()).await?;
    if applied
        && next.status == SubscriptionStatus::Canceled
        && let Some(record) = state.store.get_subscription_record(&user).await?
        && record.stripe_subscription_id.as_deref() == Some(next.stripe_subscription_id.as_str())
    {
        after_subscription_ended(state, &record, "canceled").await?;
    }
    Ok(())
}

/// `invoice.paid` / `invoice.payment_failed`: re-read the subscription from Stripe (the invoice
/// does not carry its state) and apply it; a failed renewal emails a link to update the card.
pub async fn apply_invoice_event(
    state: &AppState,
    sub_id: &str,
    invoice_id: &str,
    failed: bool,
    created: i64,
) -> Result<(), ApiError> {
    let fresh = state.stripe.retrieve_subscription(sub_id).await.map_err(gateway_error)?;
    let Some(user) = fresh.metadata.get("userId").and_then(|u| UserId::parse(u.clone()).ok()) else { return Ok(()) };
    state
        .store
        .apply_stripe_state(&user, &state_of(&fresh, interval_from_metadata(&fresh), created), state.clock.now())
        .await?;
    if failed {
        telemetry::count("SubscriptionPaymentsFailed", 1);
        if let Some(record) = state
            .store
            .get_subscription_record(&user)
            .await?
            .filter(|r| r.stripe_subscription_id.as_deref() == Some(sub_id))
        {
            let to = email_for(&user, state.store.subscription_email(&user).await?.as_deref())?;
            let kind = NotificationKind::SubscriptionPaymentFailed {
                plan: plan_name(&record),
                update_card_url: format!("{}/billing/payment-method", state.config.app_base_url),
                grace_days: state.config.subscription_grace_days,
            };
            notify(state, format!("invoice-failed-{invoice_id}"), to, kind).await?;
        }
    }
    Ok(())
}

/// The tier whose features the user has now (their subscription; Free without one).
pub async fn effective_tier(state: &AppState, user: &UserId) -> Result<azora_domain::Tier, ApiError> {
    Ok(state.store.get_subscription(user).await?.map(|s| s.effective_tier()).unwrap_or(azora_domain::Tier::Free))
}
