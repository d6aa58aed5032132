//! The stripe-events worker: applies verified Stripe events, idempotently and safely out of
//! order (the payment state machine refuses stale transitions; refunds count once per id).

use crate::error::ApiError;
use crate::payments::{after_refund, settle_failure, settle_success};
use crate::state::AppState;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use azora_domain::payment::PaymentStatus;
use azora_domain::{Currency, Money};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(default)]
    created: i64,
    #[serde(rename = "type")]
    event_type: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: Value,
}

pub async fn handle(event: SqsEvent, state: Arc<AppState>) -> SqsBatchResponse {
    let mut failed = Vec::new();
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        if let Err(e) = apply(body, &state).await {
            tracing::warn!(message_id = %id, error = %e.message, "stripe event not applied; will retry");
            failed.push(id);
        }
    }
    super::batch_failures(failed)
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

async fn apply(body: &str, state: &AppState) -> Result<(), ApiError> {
    let event: Envelope =
        serde_json::from_str(body).map_err(|e| ApiError::internal(format!("unreadable event: {e}")))?;
    let object = &event.data.object;
    let now = jiff::Timestamp::now();
    tracing::info!(event_id = %event.id, event_type = %event.event_type, "applying stripe event");
    match event.event_type.as_str() {
        "payment_intent.succeeded" => {
            if let Some(payment_id) = payment_of_intent(state, object).await? {
                settle_success(state, &payment_id, now).await?;
            }
        }
        "payment_intent.payment_failed" => {
            if let Some(payment_id) = payment_of_intent(state, object).await? {
                let reason = str_at(object, "/last_payment_error/message").unwrap_or("the card was declined");
                settle_failure(state, &payment_id, &event.id, reason, now).await?;
            }
        }
        "payment_intent.requires_action" | "payment_intent.processing" | "payment_intent.canceled" => {
            if let Some(payment_id) = payment_of_intent(state, object).await? {
                let to = match event.event_type.as_str() {
                    "payment_intent.requires_action" => PaymentStatus::RequiresAction,
                    "payment_intent.processing" => PaymentStatus::Processing,
                    _ => PaymentStatus::Canceled,
                };
                state.store.transition_payment(&payment_id, to, now).await?;
                if to == PaymentStatus::Canceled {
                    // A canceled payment can never be charged: its voucher is usable again.
                    crate::rewards::release_voucher_of(state, &payment_id).await?;
                }
            }
        }
        "refund.created" | "refund.updated" => apply_refund(state, object).await?,
        "charge.refunded" => {
            // Refunds appear on the charge only when expanded; otherwise refund.* events carry them.
            for refund in object.pointer("/refunds/data").and_then(Value::as_array).into_iter().flatten() {
                apply_refund(state, refund).await?;
            }
        }
        "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
            crate::subscriptions::apply_subscription_event(state, object, event.created).await?;
        }
        "invoice.paid" | "invoice.payment_succeeded" | "invoice.payment_failed" => {
            let subscription =
                str_at(object, "/parent/subscription_details/subscription").or_else(|| str_at(object, "/subscription"));
            if let Some(sub_id) = subscription {
                let failed = event.event_type == "invoice.payment_failed";
                let invoice_id = str_at(object, "/id").unwrap_or_default();
                crate::subscriptions::apply_invoice_event(state, sub_id, invoice_id, failed, event.created).await?;
            }
        }
        "account.updated" => {
            let enabled = object.pointer("/payouts_enabled").and_then(Value::as_bool).unwrap_or(false);
            if let (Some(account), Some(instructor)) = (str_at(object, "/id"), str_at(object, "/metadata/instructorId"))
                && let Ok(instructor) = azora_domain::UserId::parse(instructor)
            {
                state.store.set_payouts_enabled(&instructor, account, enabled).await?;
            }
        }
        other => tracing::debug!(event_type = other, "event type not handled"),
    }
    Ok(())
}

/// Our payment for a PaymentIntent object: its metadata, or the link written when we created it.
async fn payment_of_intent(state: &AppState, pi: &Value) -> Result<Option<String>, ApiError> {
    if let Some(id) = str_at(pi, "/metadata/paymentId") {
        return Ok(Some(id.to_string()));
    }
    match str_at(pi, "/id") {
        Some(pi_id) => Ok(state.store.payment_for_intent(pi_id).await?),
        None => Ok(None),
    }
}

async fn apply_refund(state: &AppState, refund: &Value) -> Result<(), ApiError> {
    if str_at(refund, "/status") != Some("succeeded") {
        return Ok(());
    }
    let (Some(stripe_id), Some(amount)) = (str_at(refund, "/id"), refund.pointer("/amount").and_then(Value::as_i64))
    else {
        return Err(ApiError::internal("refund without id or amount"));
    };
    let payment_id = match str_at(refund, "/metadata/paymentId") {
        Some(id) => Some(id.to_string()),
        None => match str_at(refund, "/payment_intent") {
            Some(pi) => state.store.payment_for_intent(pi).await?,
            None => None,
        },
    };
    let Some(payment_id) = payment_id else {
        tracing::info!(stripe_refund_id = stripe_id, "refund of a payment we do not know");
        return Ok(());
    };
    let now = jiff::Timestamp::now();
    let (refund_id, applied) = match str_at(refund, "/metadata/refundId") {
        // Ours: complete the reservation unless the API call already did.
        Some(ours) => (ours.to_string(), state.store.complete_refund(&payment_id, ours, stripe_id, amount, now).await?),
        // Made outside our API (e.g. the Stripe dashboard).
        None => {
            let currency = str_at(refund, "/currency")
                .and_then(|c| Currency::parse(c).ok())
                .ok_or_else(|| ApiError::internal("refund without a known currency"))?;
            let counted =
                state.store.record_external_refund(&payment_id, stripe_id, Money::new(amount, currency), now).await?;
            (stripe_id.to_string(), counted)
        }
    };
    if applied {
        let payment = state.store.get_payment(&payment_id).await?;
        if let Some(p) = payment {
            after_refund(state, &payment_id, &refund_id, Money::new(amount, p.amount.currency)).await?;
        }
    }
    Ok(())
}
