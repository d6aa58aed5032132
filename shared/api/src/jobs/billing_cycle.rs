//! The daily billing-cycle job: enterprise license notices and expiry (`licensing::cycle`),
//! renewal reminders (7 days before a yearly renewal, 3 before a
//! monthly one, once per period), the end of grace for past-due subscriptions (down to Free), and
//! reconciliation with Stripe (ours follows Stripe's; each drift is logged and counted). It pages
//! through subscriptions on an index (never a table scan) and is idempotent: a second run sends
//! nothing twice.

use crate::error::ApiError;
use crate::handlers::payments::gateway_error;
use crate::state::AppState;
use crate::subscriptions::{
    after_subscription_ended, email_for, interval_from_metadata, notify, plan_name, renewal_amount, state_of,
};
use crate::telemetry;
use azora_domain::notification::NotificationKind;
use azora_domain::subscription::{SubscriptionStatus, grace_over, reminder_due};
use azora_store::subscriptions::SubscriptionRecord;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Default)]
struct Report {
    seen: u32,
    reminders: u32,
    lapsed: u32,
    drift: u32,
}

pub async fn run(_input: Value, state: Arc<AppState>) -> Result<Value, ApiError> {
    let started = state.clock.now();
    let mut report = Report::default();
    let mut cursor: Option<String> = None;
    loop {
        let page = state.store.subscriptions_page(100, cursor.as_deref()).await?;
        for record in &page.items {
            report.seen += 1;
            if record.subscription.status == SubscriptionStatus::Canceled {
                continue;
            }
            remind(&state, record, &mut report).await?;
            end_grace(&state, record, &mut report).await?;
            reconcile(&state, record, &mut report).await?;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let licenses = crate::licensing::cycle::run(&state, started).await?;
    telemetry::count("BillingCycleRuns", 1);
    telemetry::count("SubscriptionDrift", u64::from(report.drift));
    Ok(json!({
        "job": "billing-cycle",
        "startedAt": started.to_string(),
        "subscriptions": report.seen,
        "remindersSent": report.reminders,
        "lapsedToFree": report.lapsed,
        "reconciled": report.drift,
        "steps": [licenses],
    }))
}

async fn remind(state: &AppState, record: &SubscriptionRecord, report: &mut Report) -> Result<(), ApiError> {
    let sub = &record.subscription;
    let (Some(interval), Some(end)) = (sub.interval, sub.current_period_end) else { return Ok(()) };
    let ending = record.pending_change.as_ref().is_some_and(|c| c.tier == azora_domain::Tier::Free);
    if !matches!(sub.status, SubscriptionStatus::Active | SubscriptionStatus::Trialing) || ending {
        return Ok(());
    }
    if !reminder_due(interval, end, state.clock.now()) {
        return Ok(());
    }
    if state.store.mark_reminded(&record.user_id, end.as_second()).await? {
        let to = email_for(&record.user_id, state.store.subscription_email(&record.user_id).await?.as_deref())?;
        let kind = NotificationKind::RenewalReminder {
            plan: plan_name(record),
            renews_on: end.strftime("%Y-%m-%d").to_string(),
            amount: renewal_amount(interval),
        };
        notify(state, format!("renewal-{}-{}", record.user_id, end.as_second()), to, kind).await?;
        report.reminders += 1;
    }
    Ok(())
}

async fn end_grace(state: &AppState, record: &SubscriptionRecord, report: &mut Report) -> Result<(), ApiError> {
    let Some(since) = record.past_due_since else { return Ok(()) };
    if record.subscription.status != SubscriptionStatus::PastDue
        || !grace_over(since, state.config.subscription_grace_days, state.clock.now())
    {
        return Ok(());
    }
    let Some(sub_id) = &record.stripe_subscription_id else { return Ok(()) };
    let canceled = state.stripe.cancel_subscription_now(sub_id).await.map_err(gateway_error)?;
    state.store.set_pending_change(&record.user_id, None).await?;
    let now = state.clock.now().as_second();
    if state
        .store
        .apply_stripe_state(&record.user_id, &state_of(&canceled, record.subscription.interval, now), state.clock.now())
        .await?
    {
        let ended = SubscriptionRecord { pending_change: None, ..record.clone() };
        after_subscription_ended(state, &ended, "unpaid after the grace period").await?;
        report.lapsed += 1;
    }
    Ok(())
}

async fn reconcile(state: &AppState, record: &SubscriptionRecord, report: &mut Report) -> Result<(), ApiError> {
    let Some(sub_id) = &record.stripe_subscription_id else { return Ok(()) };
    let fresh = match state.stripe.retrieve_subscription(sub_id).await {
        Ok(fresh) => fresh,
        Err(e) => {
            tracing::warn!(subscription = %sub_id, error = %e, "could not reconcile");
            return Ok(());
        }
    };
    let theirs = state_of(
        &fresh,
        interval_from_metadata(&fresh).or(record.subscription.interval),
        state.clock.now().as_second(),
    );
    let ours = &record.subscription;
    let drifted = theirs.status != ours.status
        || theirs.current_period_end != ours.current_period_end
        || theirs.cancel_at_period_end != ours.cancel_at_period_end;
    if drifted && state.store.apply_stripe_state(&record.user_id, &theirs, state.clock.now()).await? {
        tracing::warn!(
            user_id = %record.user_id,
            subscription = %sub_id,
            ours = ours.status.as_str(),
            theirs = theirs.status.as_str(),
            "subscription drift fixed from Stripe"
        );
        report.drift += 1;
        if theirs.status == SubscriptionStatus::Canceled {
            after_subscription_ended(state, record, "canceled").await?;
        }
    }
    Ok(())
}
