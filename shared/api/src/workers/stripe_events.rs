//! The stripe-events worker: applies verified Stripe events, idempotently and safely out of
//! order (the payment state machine refuses stale transitions; refunds count once per id).
//!
//! A signature proves an event came from Stripe, not that it is about our money: Connect events
//! (an instructor's own account) arrive on the same endpoint, and anyone who can create a
//! PaymentIntent on an account can put our payment id in its metadata. So an event changes a
//! payment only when its object is the PaymentIntent we created and linked to that payment, with
//! the amount and currency we priced, from the platform account, in our mode (live or test). An
//! event that fails the check is acknowledged, logged and counted (`UntrustedStripeEvents`),
//! never applied; an event about a payment we do not know is acknowledged and logged.

use crate::jobs::JobError;
use crate::licensing::purchase;
use crate::payments::{count_lost_dispute, count_stripe_refund, finish_refunds, settle_failure, settle_success};
use crate::state::AppState;
use crate::telemetry;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use azora_domain::license_purchase::PaidInvoice;
use azora_domain::payment::{Payment, PaymentStatus, stripe_currency};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// One message's share of the worker's 30 s: a slow message fails (and is retried) alone
/// instead of holding the healthy ones of its batch past the timeout.
const PER_MESSAGE: Duration = Duration::from_secs(8);

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(default)]
    created: i64,
    #[serde(rename = "type")]
    event_type: String,
    /// Set on events of connected accounts.
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    livemode: bool,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: Value,
}

pub async fn handle(event: SqsEvent, state: Arc<AppState>) -> SqsBatchResponse {
    let work = event.records.iter().map(|record| {
        let state = state.clone();
        async move {
            let id = record.message_id.clone().unwrap_or_default();
            let body = record.body.as_deref().unwrap_or_default();
            match tokio::time::timeout(PER_MESSAGE, apply(body, &state)).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => {
                    tracing::warn!(message_id = %id, error = %e, "stripe event not applied; will retry");
                    Some(id)
                }
                Err(_) => {
                    tracing::warn!(message_id = %id, "stripe event timed out; will retry");
                    Some(id)
                }
            }
        }
    });
    let failed = futures::future::join_all(work).await.into_iter().flatten().collect();
    super::batch_failures(failed)
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Why an event is not applied although its signature is good.
fn untrusted(event: &Envelope, why: &str) {
    tracing::warn!(event_id = %event.id, event_type = %event.event_type, why, "untrusted stripe event ignored");
    telemetry::count("UntrustedStripeEvents", 1);
}

async fn apply(body: &str, state: &AppState) -> Result<(), JobError> {
    let event: Envelope = match serde_json::from_str(body) {
        Ok(event) => event,
        Err(e) => {
            // Retrying cannot make it readable: acknowledge, log and count it.
            tracing::error!(error = %e, "unreadable stripe event dropped");
            telemetry::count("UnreadableStripeEvents", 1);
            return Ok(());
        }
    };
    tracing::info!(event_id = %event.id, event_type = %event.event_type, "applying stripe event");
    let platform_event = event.account.is_none() && event.livemode == state.config.stripe.get()?.livemode();
    let object = &event.data.object;
    let now = state.clock.now();
    match event.event_type.as_str() {
        "account.updated" => {
            // Connected accounts' own events: the one type we take from them.
            let enabled = object.pointer("/payouts_enabled").and_then(Value::as_bool).unwrap_or(false);
            if let (Some(account), Some(instructor)) = (str_at(object, "/id"), str_at(object, "/metadata/instructorId"))
                && let Ok(instructor) = azora_domain::UserId::parse(instructor)
            {
                state.store.set_payouts_enabled(&instructor, account, enabled).await?;
            }
            return Ok(());
        }
        _ if !platform_event => {
            untrusted(&event, "a connected account's event, or the other mode's");
            return Ok(());
        }
        _ => {}
    }
    match event.event_type.as_str() {
        "payment_intent.succeeded" => {
            if let Some(payment) = trusted_payment(state, &event, object, true).await? {
                settle_success(state, &payment.id, now).await?;
            }
        }
        "payment_intent.payment_failed" => {
            if let Some(payment) = trusted_payment(state, &event, object, false).await? {
                let reason = str_at(object, "/last_payment_error/message").unwrap_or("the card was declined");
                settle_failure(state, &payment.id, &event.id, reason, now).await?;
            }
        }
        "payment_intent.requires_action" | "payment_intent.processing" | "payment_intent.canceled" => {
            if let Some(payment) = trusted_payment(state, &event, object, false).await? {
                let to = match event.event_type.as_str() {
                    "payment_intent.requires_action" => PaymentStatus::RequiresAction,
                    "payment_intent.processing" => PaymentStatus::Processing,
                    _ => PaymentStatus::Canceled,
                };
                state.store.transition_payment(&payment.id, to, now).await?;
                if to == PaymentStatus::Canceled {
                    // A canceled payment can never be charged: its voucher is usable again.
                    crate::rewards::release_voucher_of(state, &payment.id).await?;
                }
            }
        }
        "refund.created" | "refund.updated" | "refund.failed" => apply_refund(state, &event, object).await?,
        "charge.refunded" => {
            // Refunds appear on the charge only when expanded; otherwise refund.* events carry them.
            for refund in object.pointer("/refunds/data").and_then(Value::as_array).into_iter().flatten() {
                apply_refund(state, &event, refund).await?;
            }
        }
        "charge.dispute.created" | "charge.dispute.updated" | "charge.dispute.closed" => {
            apply_dispute(state, &event, object).await?
        }
        "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
            crate::subscriptions::apply_subscription_event(state, object).await?;
        }
        "invoice.paid" | "invoice.payment_succeeded" | "invoice.payment_failed" => {
            let subscription =
                str_at(object, "/parent/subscription_details/subscription").or_else(|| str_at(object, "/subscription"));
            if let Some(sub_id) = subscription {
                let invoice = crate::subscriptions::InvoiceEvent {
                    id: str_at(object, "/id").unwrap_or_default(),
                    failed: event.event_type == "invoice.payment_failed",
                    billing_reason: str_at(object, "/billing_reason"),
                    attempt_count: object.pointer("/attempt_count").and_then(Value::as_u64).unwrap_or(0) as u32,
                    next_payment_attempt: object.pointer("/next_payment_attempt").and_then(Value::as_i64),
                    amount_paid: object.pointer("/amount_paid").and_then(Value::as_i64).unwrap_or(0),
                    currency: str_at(object, "/currency"),
                    number: str_at(object, "/number"),
                };
                crate::subscriptions::apply_invoice_event(state, sub_id, &invoice, event.created).await?;
            } else if event.event_type == "invoice.paid"
                && let Some(quote_id) = str_at(object, &format!("/metadata/{}", purchase::QUOTE_METADATA_KEY))
            {
                let paid = PaidInvoice {
                    invoice_id: str_at(object, "/id").unwrap_or_default(),
                    customer_id: str_at(object, "/customer").unwrap_or_default(),
                    amount_paid: object.pointer("/amount_paid").and_then(Value::as_i64).unwrap_or(-1),
                    currency: str_at(object, "/currency").unwrap_or_default(),
                };
                match purchase::apply_paid_invoice(state, quote_id, &paid).await? {
                    purchase::PaidOutcome::Issued(license) => {
                        tracing::info!(quote_id, license_id = %license, "enterprise quote paid; license issued")
                    }
                    purchase::PaidOutcome::Untrusted(why) => untrusted(&event, why),
                }
            }
        }
        other => tracing::debug!(event_type = other, "event type not handled"),
    }
    Ok(())
}

/// The payment a PaymentIntent event may change, or `None` (logged) when it may change none.
/// The link we wrote when we created the intent decides; the metadata's payment id is only a
/// claim, accepted when the payment has no intent yet (we crashed between creating and linking)
/// and the intent matches it, and then linked so no other intent can claim it afterwards.
async fn trusted_payment(
    state: &AppState,
    event: &Envelope,
    pi: &Value,
    succeeded: bool,
) -> Result<Option<Payment>, JobError> {
    let Some(pi_id) = str_at(pi, "/id") else {
        untrusted(event, "a PaymentIntent event without an id");
        return Ok(None);
    };
    let claimed = str_at(pi, "/metadata/paymentId");
    let payment_id = match state.store.payment_for_intent(pi_id).await? {
        Some(linked) => linked,
        None => match claimed {
            Some(claimed) => claimed.to_string(),
            None => {
                tracing::info!(event_id = %event.id, pi_id, "event for a PaymentIntent we did not create; acknowledged");
                return Ok(None);
            }
        },
    };
    let Some(payment) = state.store.get_payment(&payment_id).await? else {
        tracing::info!(event_id = %event.id, payment_id, "event for a payment we do not know; acknowledged");
        return Ok(None);
    };
    if claimed.is_some_and(|c| c != payment.id) {
        untrusted(event, "the metadata names another payment than the intent's");
        return Ok(None);
    }
    if payment.stripe_payment_intent_id.as_deref().is_some_and(|linked| linked != pi_id) {
        untrusted(event, "not the PaymentIntent of this payment");
        return Ok(None);
    }
    let amount = pi.pointer("/amount").and_then(Value::as_i64);
    let currency = str_at(pi, "/currency");
    if amount != Some(payment.amount.amount) || currency != Some(stripe_currency(payment.amount.currency).as_str()) {
        untrusted(event, "the amount or currency differs from what we priced");
        return Ok(None);
    }
    if succeeded && pi.pointer("/amount_received").and_then(Value::as_i64) != Some(payment.amount.amount) {
        untrusted(event, "the amount received differs from the amount");
        return Ok(None);
    }
    if payment.stripe_payment_intent_id.is_none() {
        // Checked and ours: link it, so no other intent can claim this payment from now on.
        state.store.link_payment_intent(&payment.id, pi_id, state.clock.now()).await?;
    }
    Ok(Some(payment))
}

/// The payment a refund or dispute (which both name their PaymentIntent) is about, if the
/// intent is one we linked and the currency is the payment's.
async fn payment_of_charge_object(
    state: &AppState,
    event: &Envelope,
    object: &Value,
) -> Result<Option<Payment>, JobError> {
    let Some(pi) = str_at(object, "/payment_intent") else {
        tracing::info!(event_id = %event.id, "refund or dispute without a PaymentIntent; acknowledged");
        return Ok(None);
    };
    let Some(payment) = state.store.linked_payment(pi).await? else {
        tracing::info!(event_id = %event.id, pi, "refund or dispute of a payment we do not know; acknowledged");
        return Ok(None);
    };
    if str_at(object, "/metadata/paymentId").is_some_and(|c| c != payment.id) {
        untrusted(event, "the metadata names another payment than the intent's");
        return Ok(None);
    }
    if str_at(object, "/currency") != Some(stripe_currency(payment.amount.currency).as_str()) {
        untrusted(event, "the currency differs from the payment's");
        return Ok(None);
    }
    Ok(Some(payment))
}

async fn apply_refund(state: &AppState, event: &Envelope, refund: &Value) -> Result<(), JobError> {
    let (Some(stripe_id), Some(amount)) = (str_at(refund, "/id"), refund.pointer("/amount").and_then(Value::as_i64))
    else {
        untrusted(event, "a refund without id or amount");
        return Ok(());
    };
    let Some(payment) = payment_of_charge_object(state, event, refund).await? else { return Ok(()) };
    let now = state.clock.now();
    let ours = str_at(refund, "/metadata/refundId");
    match str_at(refund, "/status") {
        Some("succeeded") => return Ok(count_stripe_refund(state, &payment, stripe_id, amount, ours).await?),
        // A refund can fail after it succeeded (e.g. the card was closed): the money stayed
        // with the platform, so it no longer counts, and what it took back is given back.
        Some("failed") | Some("canceled") => {
            let refund_id = ours.unwrap_or(stripe_id);
            if !state.store.uncount_refund(&payment.id, refund_id, now).await? {
                // Still pending on our side (Stripe refused it late): release the reservation.
                if let Some(pending) = state.store.get_refund(&payment.id, refund_id).await?
                    && pending.status == azora_domain::payment::RefundStatus::Pending
                {
                    state.store.fail_refund(&payment.id, refund_id, pending.amount.amount).await?;
                }
            }
        }
        _ => return Ok(()),
    }
    // Also when another path counted it first: finish whatever it left undone.
    Ok(finish_refunds(state, &payment.id).await?)
}

/// Disputes: while one is open the buyer keeps access and the sale stays in the ledger (Stripe
/// has taken the disputed amount from the platform's balance meanwhile); a dispute closed as
/// lost counts like a refund of its amount (access and the instructor's share go, through the
/// same path as refunds), once per dispute id; won, nothing changes.
async fn apply_dispute(state: &AppState, event: &Envelope, dispute: &Value) -> Result<(), JobError> {
    let (Some(dispute_id), Some(amount)) = (str_at(dispute, "/id"), dispute.pointer("/amount").and_then(Value::as_i64))
    else {
        untrusted(event, "a dispute without id or amount");
        return Ok(());
    };
    let Some(payment) = payment_of_charge_object(state, event, dispute).await? else { return Ok(()) };
    let status = str_at(dispute, "/status").unwrap_or_default();
    tracing::info!(payment_id = %payment.id, dispute_id, status, "dispute");
    if event.event_type == "charge.dispute.created" {
        telemetry::count("DisputesOpened", 1);
        // Once per dispute in the business reports, however often the event comes.
        let opened = azora_domain::reports::ReportCounters { disputes_opened: 1, ..Default::default() };
        let key = format!("dispute-opened#{dispute_id}");
        state.store.record_report_event(&key, state.clock.now(), payment.amount.currency, &opened).await?;
    }
    if status != "lost" {
        return Ok(());
    }
    count_lost_dispute(state, &payment, dispute_id, amount).await?;
    Ok(())
}
