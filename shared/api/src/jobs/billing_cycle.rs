//! The daily billing-cycle job: subscription slot claims left by crashed creates (adopted or
//! released), renewal reminders (7 days before a yearly renewal, 3 before a
//! monthly one, once per period), the end of grace for past-due subscriptions (down to Free),
//! enterprise license notices and expiry (`licensing::cycle`), voiding enterprise quote invoices
//! unpaid past their due date (`licensing::purchase::void_unpaid`), and reconciliation with Stripe
//! (ours follows Stripe's; each drift is logged and counted). It pages through subscriptions on an
//! index (never a table scan) and is idempotent: a second run sends nothing twice.
//!
//! Invariant: a run finishes every step even when one invocation cannot. The steps are
//! independent and each is resumable: a per-run checkpoint (`jobs::Checkpoint`; the run is the
//! schedule's date, or `input.run`) records the steps done and a cursor within the current one.
//! Each invocation works until its time budget runs out (the Lambda deadline less a margin, or
//! `input.budgetMs`), always making some progress, then records where it stopped; the next
//! invocation of the run skips the steps done and resumes at the cursor. A step that fails is
//! retried by the next invocation while the other steps go on. A completed run does nothing more.

use crate::jobs::JobError;
use crate::jobs::{Budget, Checkpoint, run_id};
use crate::state::AppState;
use crate::subscriptions::{
    after_subscription_ended, email_for, interval_of, notify, plan_name, renewal_amount, state_of,
};
use crate::telemetry;
use azora_domain::notification::NotificationKind;
use azora_domain::subscription::{SubscriptionStatus, grace_over, reminder_due};
use azora_store::subscriptions::SubscriptionRecord;
use serde_json::{Value, json};
use std::sync::Arc;

pub const JOB: &str = "billing-cycle";
/// In order; each is independent of the others.
const STEPS: [&str; 6] = [CLAIMS, REMINDERS, GRACE, crate::licensing::cycle::STEP, UNPAID_QUOTES, RECONCILE];
/// Subscription slot claims left by crashed creates (see `subscriptions::take_slot`).
const CLAIMS: &str = "claims";
const REMINDERS: &str = "reminders";
const GRACE: &str = "grace";
const RECONCILE: &str = "reconcile";
/// Enterprise quote invoices past due. At most [`UNPAID_QUOTES_PER_RUN`] per run (each is a few
/// Stripe calls); more wait for the next day's run.
const UNPAID_QUOTES: &str = "quotes";
const UNPAID_QUOTES_PER_RUN: i32 = 100;
const PAGE_SIZE: i32 = 100;

#[derive(Default, Clone)]
struct Report {
    seen: u32,
    claims_settled: u32,
    reminders: u32,
    card_warnings: u32,
    lapsed: u32,
    drift: u32,
    quotes_voided: u32,
}

impl Report {
    /// The step's counter, for the run's totals.
    fn counter(&self, step: &str) -> (&'static str, i64) {
        match step {
            CLAIMS => ("settled", i64::from(self.claims_settled)),
            REMINDERS => ("sent", i64::from(self.reminders)),
            GRACE => ("lapsed", i64::from(self.lapsed)),
            UNPAID_QUOTES => ("voided", i64::from(self.quotes_voided)),
            _ => ("drifted", i64::from(self.drift)),
        }
    }
}

enum StepEnd {
    Done,
    /// The budget ran out inside the step; its cursor is saved.
    Paused,
}

pub async fn run(input: Value, state: Arc<AppState>) -> Result<Value, JobError> {
    let budget = Budget::from_input(&input)?;
    let started = state.clock.now();
    let run = run_id(&input, started)?;
    let Some(mut checkpoint) = Checkpoint::begin(&state, JOB, run.clone(), &budget).await? else {
        tracing::info!(run = %run, "billing cycle run held by another invocation");
        return Ok(json!({
            "job": JOB, "run": run, "status": "running_elsewhere", "complete": false,
            "subscriptions": 0, "remindersSent": 0, "lapsedToFree": 0, "reconciled": 0,
            "steps": [crate::licensing::cycle::skipped(false)],
        }));
    };
    let already_complete = STEPS.iter().all(|s| checkpoint.is_done(s));
    let mut report = Report::default();
    let mut licenses = None;
    let mut errors = Vec::new();
    // Whether this invocation has done anything yet: it always does something before it stops.
    let mut worked = false;
    for step in STEPS {
        if checkpoint.is_done(step) {
            continue;
        }
        if worked && budget.expired() {
            break;
        }
        let outcome = if step == CLAIMS {
            claims_step(&state, &mut checkpoint, &budget, &mut report, &mut worked).await
        } else if step == UNPAID_QUOTES {
            let mut saved = report.clone();
            match crate::licensing::purchase::void_unpaid(&state, UNPAID_QUOTES_PER_RUN).await {
                Ok(voided) => {
                    report.quotes_voided = voided;
                    worked = true;
                    save_step(&mut checkpoint, UNPAID_QUOTES, None, true, &report, &mut saved)
                        .await
                        .map(|()| StepEnd::Done)
                }
                Err(e) => Err(e.into()),
            }
        } else if step == crate::licensing::cycle::STEP {
            crate::licensing::cycle::run_step(&state, started, &mut checkpoint, &budget, &mut worked).await.map(
                |(step_report, done)| {
                    licenses = Some(step_report);
                    if done { StepEnd::Done } else { StepEnd::Paused }
                },
            )
        } else {
            subscription_step(&state, step, &mut checkpoint, &budget, &mut report, &mut worked).await
        };
        match outcome {
            Ok(StepEnd::Done) => {}
            Ok(StepEnd::Paused) => break,
            Err(e @ JobError::TakenOver) => return Err(e),
            Err(e) => {
                // Steps are independent: the others go on; the next invocation retries this one.
                tracing::error!(step, code = e.code(), error = %e, "billing cycle step failed");
                telemetry::count("BillingCycleStepFailures", 1);
                errors.push(json!({ "step": step, "code": e.code(), "message": e.to_string() }));
                worked = true;
            }
        }
    }
    let complete = STEPS.iter().all(|s| checkpoint.is_done(s));
    let invocation_count = checkpoint.progress.invocations;
    let progress = checkpoint.end(complete).await?;
    telemetry::count("BillingCycleRuns", 1);
    telemetry::count("SubscriptionDrift", u64::from(report.drift));
    if !complete {
        telemetry::count("BillingCycleIncomplete", 1);
    }
    let licenses_done = progress.done.contains(crate::licensing::cycle::STEP);
    Ok(json!({
        "job": JOB,
        "run": run,
        "startedAt": started.to_string(),
        "status": if already_complete { "already_complete" } else if complete { "complete" } else { "incomplete" },
        "complete": complete,
        "invocation": invocation_count,
        "stepsDone": progress.done,
        "errors": errors,
        // This invocation's work; `runTotals` adds up every invocation of the run.
        "subscriptions": report.seen,
        "claimsSettled": report.claims_settled,
        "remindersSent": report.reminders,
        "cardExpiryWarnings": report.card_warnings,
        "lapsedToFree": report.lapsed,
        "quoteInvoicesVoided": report.quotes_voided,
        "reconciled": report.drift,
        "steps": [licenses.unwrap_or_else(|| crate::licensing::cycle::skipped(licenses_done))],
        "runTotals": progress.totals,
    }))
}

/// One pass of `step` over the subscriptions from the checkpoint's cursor, until done or the
/// budget runs out (after at least one subscription). The cursor is saved per page and when
/// stopping, always right after the last subscription handled; every action is idempotent, so a
/// page redone after a crash sends nothing twice.
async fn subscription_step(
    state: &AppState,
    step: &'static str,
    checkpoint: &mut Checkpoint<'_>,
    budget: &Budget,
    report: &mut Report,
    worked: &mut bool,
) -> Result<StepEnd, JobError> {
    let mut cursor = checkpoint.cursor(step).map(str::to_string);
    let mut saved = report.clone();
    loop {
        let page = state.store.subscriptions_page(PAGE_SIZE, cursor.as_deref()).await?;
        for record in &page.items {
            report.seen += 1;
            let acted = match step {
                REMINDERS => remind(state, record, report).await,
                GRACE => end_grace(state, record, report).await,
                _ => reconcile(state, record, report).await,
            };
            if let Err(e) = acted {
                save_step(checkpoint, step, cursor.as_deref(), false, report, &mut saved).await?;
                return Err(e);
            }
            cursor = azora_store::Store::subscription_cursor_after(&record.user_id);
            *worked = true;
            if budget.expired() {
                save_step(checkpoint, step, cursor.as_deref(), false, report, &mut saved).await?;
                return Ok(StepEnd::Paused);
            }
        }
        match page.next_cursor {
            Some(next) => {
                cursor = Some(next);
                save_step(checkpoint, step, cursor.as_deref(), false, report, &mut saved).await?;
            }
            None => {
                save_step(checkpoint, step, None, true, report, &mut saved).await?;
                *worked = true;
                return Ok(StepEnd::Done);
            }
        }
    }
}

/// Settles the subscription slot claims whose creates crashed and were never retried: what they
/// created in Stripe is adopted (never left billing unrecorded), else the slot is freed. Claims
/// still within their lease are left alone. Resumable like the other steps.
async fn claims_step(
    state: &AppState,
    checkpoint: &mut Checkpoint<'_>,
    budget: &Budget,
    report: &mut Report,
    worked: &mut bool,
) -> Result<StepEnd, JobError> {
    let mut cursor = checkpoint.cursor(CLAIMS).map(str::to_string);
    let mut saved = report.clone();
    loop {
        let page = state.store.slot_claims_page(PAGE_SIZE, cursor.as_deref()).await?;
        for (user, claim) in &page.items {
            match crate::subscriptions::settle_claim(state, user, claim).await {
                Ok(crate::subscriptions::ClaimSettled::Adopted | crate::subscriptions::ClaimSettled::Released) => {
                    report.claims_settled += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    save_step(checkpoint, CLAIMS, cursor.as_deref(), false, report, &mut saved).await?;
                    return Err(e.into());
                }
            }
            cursor = azora_store::Store::slot_claim_cursor_after(user);
            *worked = true;
            if budget.expired() {
                save_step(checkpoint, CLAIMS, cursor.as_deref(), false, report, &mut saved).await?;
                return Ok(StepEnd::Paused);
            }
        }
        match page.next_cursor {
            Some(next) => {
                cursor = Some(next);
                save_step(checkpoint, CLAIMS, cursor.as_deref(), false, report, &mut saved).await?;
            }
            None => {
                save_step(checkpoint, CLAIMS, None, true, report, &mut saved).await?;
                *worked = true;
                return Ok(StepEnd::Done);
            }
        }
    }
}

async fn save_step(
    checkpoint: &mut Checkpoint<'_>,
    step: &str,
    cursor: Option<&str>,
    done: bool,
    report: &Report,
    saved: &mut Report,
) -> Result<(), JobError> {
    let (counter, now) = report.counter(step);
    let (_, before) = saved.counter(step);
    checkpoint.save(step, cursor, done, &[(counter, now - before)]).await?;
    *saved = report.clone();
    Ok(())
}

async fn remind(state: &AppState, record: &SubscriptionRecord, report: &mut Report) -> Result<(), JobError> {
    let sub = &record.subscription;
    if sub.status == SubscriptionStatus::Canceled {
        return Ok(());
    }
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
    // In the reminder's window: the card the renewal will be charged to, if it expires first
    // (its own claim per card and period). A failure here is logged and the next day's run tries
    // again; it never holds up the reminders.
    match crate::payment_methods::warn_if_card_expires(state, record, end, plan_name(record)).await {
        Ok(sent) => report.card_warnings += u32::from(sent),
        Err(e) => {
            tracing::warn!(error = %e, user = %record.user_id, "card expiry check failed");
            telemetry::count("CardExpiryCheckFailures", 1);
        }
    }
    Ok(())
}

async fn end_grace(state: &AppState, record: &SubscriptionRecord, report: &mut Report) -> Result<(), JobError> {
    let Some(since) = record.past_due_since else { return Ok(()) };
    if record.subscription.status != SubscriptionStatus::PastDue
        || !grace_over(since, *state.config.subscription_grace_days.get()?, state.clock.now())
    {
        return Ok(());
    }
    let Some(sub_id) = &record.stripe_subscription_id else { return Ok(()) };
    let canceled = state.stripe()?.cancel_subscription_now(sub_id).await?;
    state.store.set_pending_change(&record.user_id, None).await?;
    let now = state.clock.now().as_millisecond();
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

async fn reconcile(state: &AppState, record: &SubscriptionRecord, report: &mut Report) -> Result<(), JobError> {
    if record.subscription.status == SubscriptionStatus::Canceled {
        return Ok(());
    }
    let Some(sub_id) = &record.stripe_subscription_id else { return Ok(()) };
    let read_at = state.clock.now().as_millisecond();
    let fresh = match state.stripe()?.retrieve_subscription(sub_id).await {
        Ok(fresh) => fresh,
        Err(e) => {
            tracing::warn!(subscription = %sub_id, error = %e, "could not reconcile");
            return Ok(());
        }
    };
    let theirs = state_of(&fresh, interval_of(&fresh).or(record.subscription.interval), read_at);
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
