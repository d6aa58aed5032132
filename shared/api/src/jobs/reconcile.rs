//! The reconcile job (daily; `POST /_local/jobs/reconcile` locally): finishes money work that a
//! crash or a transient error left halfway, and compares Stripe's PaymentIntents with our
//! payments. It fixes what is safe to fix (every fix is the same idempotent step the normal path
//! runs, so a second run or a concurrent event never applies anything twice) and reports the
//! rest (log, `ReconciliationDrift` metric with an alarm, and the open discrepancies admins list at
//! `GET /api/admin/reconciliation`, closed when a later run no longer finds them).
//!
//! Input: `{"days": 3}` — how far back to list Stripe's PaymentIntents (default 3).

use crate::jobs::JobError;
use crate::payments::{count_lost_dispute, count_stripe_refund, finish_refunds, settle_success};
use crate::state::AppState;
use crate::telemetry;
use azora_domain::payment::{Payment, PaymentStatus, RefundStatus};
use azora_domain::{Currency, UserId};
use azora_stripe::PaymentIntentState;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::sync::Arc;

/// The in-line path normally finishes a refund's effects within seconds; give it that long.
const EFFECTS_GRACE: SignedDuration = SignedDuration::from_mins(1);
/// A refund reservation older than this is no longer waiting for an HTTP answer from Stripe.
const RESERVATION_STALE: SignedDuration = SignedDuration::from_mins(15);
const BATCH: i32 = 200;
const MAX_INTENTS: usize = 5_000;

#[derive(Default)]
struct Report {
    fixed: Vec<Value>,
    drift: Vec<Value>,
    errors: Vec<Value>,
}

impl Report {
    fn fixed(&mut self, kind: &str, id: &str) {
        tracing::info!(kind, id, "reconciliation fixed");
        self.fixed.push(json!({ "kind": kind, "id": id }));
    }

    fn drift(&mut self, kind: &str, id: &str, detail: Value) {
        tracing::warn!(kind, id, %detail, "reconciliation drift");
        self.drift.push(json!({ "kind": kind, "id": id, "detail": detail }));
    }

    fn error(&mut self, step: &str, id: &str, e: &dyn std::fmt::Display) {
        tracing::warn!(step, id, error = %e, "reconciliation step failed; the next run retries");
        self.errors.push(json!({ "step": step, "id": id, "error": e.to_string() }));
    }
}

pub async fn run(input: Value, state: Arc<AppState>) -> Result<Value, JobError> {
    let now = state.clock.now();
    let days = input.get("days").and_then(Value::as_i64).unwrap_or(3).clamp(1, 90);
    let mut report = Report::default();
    finish_due_effects(&state, now, &mut report).await?;
    settle_stale_reservations(&state, now, &mut report).await?;
    compare_payment_intents(&state, now, days, &mut report).await?;
    count_missed_refunds(&state, now, days, &mut report).await?;
    count_missed_disputes(&state, now, days, &mut report).await?;
    compare_transfers(&state, now, days, &mut report).await?;
    cancel_orphan_subscriptions(&state, &mut report).await?;
    remember_drift(&state, now, &report).await?;
    let drift = report.drift.len() as u64;
    telemetry::count("ReconciliationDrift", drift);
    telemetry::count("ReconciliationFixes", report.fixed.len() as u64);
    Ok(json!({
        "job": "reconcile",
        "startedAt": now.to_string(),
        "fixed": report.fixed,
        "drift": report.drift,
        "errors": report.errors,
    }))
}

/// Counted refunds whose effects (ledger, access, tokens, email) were left unfinished.
async fn finish_due_effects(state: &AppState, now: Timestamp, report: &mut Report) -> Result<(), JobError> {
    for (payment_id, refund_id, at) in state.store.unfinished_refunds(false, BATCH).await? {
        if at > now - EFFECTS_GRACE {
            continue;
        }
        match finish_refunds(state, &payment_id).await {
            Ok(()) => report.fixed("refund_effects_finished", &refund_id),
            Err(e) => report.error("refund_effects", &refund_id, &e),
        }
    }
    Ok(())
}

/// Reservations whose Stripe call never answered (a 5xx, a timeout, a crash): Stripe's list of
/// the intent's refunds says what happened; one Stripe never made is released.
async fn settle_stale_reservations(state: &AppState, now: Timestamp, report: &mut Report) -> Result<(), JobError> {
    for (payment_id, refund_id, at) in state.store.unfinished_refunds(true, BATCH).await? {
        if at > now - RESERVATION_STALE {
            continue;
        }
        if let Err(e) = settle_reservation(state, &payment_id, &refund_id, report).await {
            report.error("refund_reservation", &refund_id, &e);
        }
    }
    Ok(())
}

async fn settle_reservation(
    state: &AppState,
    payment_id: &str,
    refund_id: &str,
    report: &mut Report,
) -> Result<(), JobError> {
    let Some(refund) = state.store.get_refund(payment_id, refund_id).await? else { return Ok(()) };
    if refund.status != RefundStatus::Pending {
        return Ok(());
    }
    let Some(payment) = state.store.get_payment(payment_id).await? else { return Ok(()) };
    let Some(pi) = payment.stripe_payment_intent_id.as_deref() else { return Ok(()) };
    let at_stripe = state.stripe()?.refunds_of(pi).await?;
    let now = state.clock.now();
    match at_stripe.iter().find(|r| r.our_refund_id.as_deref() == Some(refund_id)) {
        Some(done) if done.status == "succeeded" => {
            state.store.complete_refund(payment_id, refund_id, &done.id, refund.amount, now).await?;
            finish_refunds(state, payment_id).await?;
            report.fixed("refund_completed", refund_id);
        }
        Some(done) if done.status == "pending" || done.status == "requires_action" => {}
        // Failed or canceled at Stripe, or never made: nothing was given back.
        _ => {
            state.store.fail_refund(payment_id, refund_id, refund.amount.amount).await?;
            report.fixed("refund_reservation_released", refund_id);
        }
    }
    Ok(())
}

/// Every succeeded PaymentIntent of the last `days` days against our payments: a charge we did
/// not fulfil is fulfilled (the same idempotent step as the webhook's); a second charge for one
/// payment, or a charge whose amount differs from what we priced, is reported.
async fn compare_payment_intents(
    state: &AppState,
    now: Timestamp,
    days: i64,
    report: &mut Report,
) -> Result<(), JobError> {
    let since = (now - SignedDuration::from_hours(24 * days)).as_second();
    let intents = state.stripe()?.payment_intents_since(since, MAX_INTENTS).await?;
    for pi in intents.iter().filter(|pi| pi.state == Some(PaymentIntentState::Succeeded)) {
        let payment_id = match state.store.payment_for_intent(&pi.id).await? {
            Some(id) => Some(id),
            None => pi.metadata.get("paymentId").cloned(),
        };
        let payment: Option<Payment> = match &payment_id {
            Some(id) => state.store.get_payment(id).await?,
            None => None,
        };
        let Some(payment) = payment else {
            // Not from our checkout (subscriptions' invoices have their own records).
            if pi.metadata.contains_key("paymentId") {
                report.drift("charge_without_payment", &pi.id, json!({ "amount": pi.amount_received }));
            }
            continue;
        };
        if payment.stripe_payment_intent_id.as_deref().is_some_and(|linked| linked != pi.id) {
            report.drift(
                "second_charge_for_payment",
                &pi.id,
                json!({ "paymentId": payment.id, "amount": pi.amount_received }),
            );
            continue;
        }
        if pi.amount_received != payment.amount.amount {
            report.drift(
                "amount_mismatch",
                &pi.id,
                json!({ "paymentId": payment.id, "charged": pi.amount_received, "priced": payment.amount.amount }),
            );
            continue;
        }
        if payment.fulfilled_at.is_none()
            && payment.stripe_payment_intent_id.is_some()
            && payment.status != PaymentStatus::Canceled
        {
            match settle_success(state, &payment.id, now).await {
                Ok(()) => report.fixed("charge_fulfilled", &payment.id),
                Err(e) => report.error("fulfil", &payment.id, &e),
            }
        }
    }
    Ok(())
}

/// Every transfer of the last `days` days must be one of our payouts, recorded with that
/// transfer (a pending payout is completed by the payout job's next run, which finds its
/// transfer by group: not drift).
async fn compare_transfers(state: &AppState, now: Timestamp, days: i64, report: &mut Report) -> Result<(), JobError> {
    let since = (now - SignedDuration::from_hours(24 * days)).as_second();
    let transfers = state.stripe()?.transfers_since(since, MAX_INTENTS).await?;
    for t in &transfers {
        let instructor = t.metadata.get("instructorId").and_then(|i| UserId::parse(i).ok());
        let currency = Currency::parse(&t.currency.to_ascii_uppercase()).ok();
        let (Some(instructor), Some(currency), Some(run)) = (instructor, currency, t.metadata.get("run")) else {
            report.drift("transfer_not_ours", &t.id, json!({ "amount": t.amount, "currency": t.currency }));
            continue;
        };
        match state.store.get_payout(&instructor, currency, run).await? {
            Some(p) if p.transfer_id.as_deref() == Some(t.id.as_str()) => {}
            Some(p) if p.status == azora_store::payouts::PayoutStatus::Pending && p.amount.amount == t.amount => {}
            other => report.drift(
                "transfer_not_recorded",
                &t.id,
                json!({ "instructorId": instructor, "run": run, "amount": t.amount,
                        "recorded": other.and_then(|p| p.transfer_id) }),
            ),
        }
    }
    Ok(())
}

/// A live Stripe subscription that is not the one our record names for its user, and that no
/// create still in flight holds (its slot claim), bills someone for nothing we grant: it is
/// canceled at once. One without our `userId` is not ours to touch: reported.
async fn cancel_orphan_subscriptions(state: &AppState, report: &mut Report) -> Result<(), JobError> {
    for sub in state.stripe()?.live_subscriptions(MAX_INTENTS).await? {
        let Some(user) = sub.metadata.get("userId").and_then(|u| UserId::parse(u.clone()).ok()) else {
            report.drift("subscription_not_ours", &sub.id, json!({ "status": sub.status }));
            continue;
        };
        let record = state.store.get_subscription_record(&user).await?;
        if record.and_then(|r| r.stripe_subscription_id).as_deref() == Some(sub.id.as_str()) {
            continue;
        }
        if state.store.get_slot_claim(&user).await?.is_some() {
            // A create in flight (or crashed): the billing cycle's claims step settles it.
            continue;
        }
        match state.stripe()?.cancel_subscription_now(&sub.id).await {
            Ok(_) => report.fixed("orphan_subscription_canceled", &sub.id),
            Err(e) => report.error("orphan_subscription", &sub.id, &e),
        }
    }
    Ok(())
}

/// Every succeeded Stripe refund of the last `days` days of one of our payments must be counted
/// (its webhook may have been lost): one that is not is counted now, by the webhook's own step.
async fn count_missed_refunds(
    state: &AppState,
    now: Timestamp,
    days: i64,
    report: &mut Report,
) -> Result<(), JobError> {
    let since = (now - SignedDuration::from_hours(24 * days)).as_second();
    let refunds = state.stripe()?.refunds_since(since, MAX_INTENTS).await?;
    for r in refunds.iter().filter(|r| r.status == "succeeded") {
        let Some(pi) = r.payment_intent.as_deref() else { continue };
        let Some(payment) = state.store.linked_payment(pi).await? else { continue };
        if !payment.status.is_paid() || r.currency != azora_domain::payment::stripe_currency(payment.amount.currency) {
            continue;
        }
        let recorded = state.store.get_refund(&payment.id, r.our_refund_id.as_deref().unwrap_or(&r.id)).await?;
        if recorded.is_some_and(|rec| rec.status == RefundStatus::Succeeded) {
            continue;
        }
        match count_stripe_refund(state, &payment, &r.id, r.amount, r.our_refund_id.as_deref()).await {
            Ok(()) => report.fixed("refund_counted", &r.id),
            Err(e) => report.error("refund_count", &r.id, &e),
        }
    }
    Ok(())
}

/// Keeps what this run found open for admins, and closes what it no longer finds.
async fn remember_drift(state: &AppState, now: Timestamp, report: &Report) -> Result<(), JobError> {
    let mut seen = std::collections::BTreeSet::new();
    for d in &report.drift {
        let (kind, id) = (d["kind"].as_str().unwrap_or_default(), d["id"].as_str().unwrap_or_default());
        state.store.note_discrepancy(kind, id, &d["detail"].to_string(), now).await?;
        seen.insert((kind.to_string(), id.to_string()));
    }
    let mut cursor: Option<String> = None;
    loop {
        let page = state.store.open_discrepancies(100, cursor.as_deref()).await?;
        for open in page.items {
            if !seen.contains(&(open.kind.clone(), open.object_id.clone())) {
                state.store.close_discrepancy(&open.kind, &open.object_id).await?;
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}

/// Every dispute of the last `days` days lost on one of our payments must be counted (its
/// webhook may have been lost): one that is not is counted now, by the webhook's own step.
async fn count_missed_disputes(
    state: &AppState,
    now: Timestamp,
    days: i64,
    report: &mut Report,
) -> Result<(), JobError> {
    let since = (now - SignedDuration::from_hours(24 * days)).as_second();
    let disputes = state.stripe()?.disputes_since(since, MAX_INTENTS).await?;
    for d in disputes.iter().filter(|d| d.status == "lost") {
        let Some(pi) = d.payment_intent.as_deref() else { continue };
        let Some(payment) = state.store.linked_payment(pi).await? else { continue };
        if state.store.get_refund(&payment.id, &d.id).await?.is_some() || !payment.status.is_paid() {
            continue;
        }
        match count_lost_dispute(state, &payment, &d.id, d.amount).await {
            Ok(true) => report.fixed("dispute_counted", &d.id),
            Ok(false) => {}
            Err(e) => report.error("dispute_count", &d.id, &e),
        }
    }
    Ok(())
}
