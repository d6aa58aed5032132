//! Checkout rules that span payments: one open order per buyer and course, and one
//! PaymentIntent per payment.

use crate::error::ApiError;
use crate::handlers::payments::gateway_error;
use crate::state::AppState;
use azora_domain::UserId;
use azora_domain::payment::{Payment, PaymentStatus, payment_item_cash, refunded_items};
use azora_store::orders::OrderClaim;
use azora_stripe::GatewayError;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

/// How long an order without a PaymentIntent may still be getting one (its charge in flight):
/// a second order of the same course waits that long before it may cancel the first.
const CHARGE_IN_FLIGHT: SignedDuration = SignedDuration::from_mins(2);

/// Takes the order claims of every course of a new order for `payment_id`, releasing claims of
/// earlier orders that can no longer be charged. Refuses with 409 `already_owned` when an
/// earlier order of a course is paid, `order_in_progress` when one may still be charged.
pub async fn claim_courses(
    state: &AppState,
    user: &UserId,
    payment_id: &str,
    course_ids: &[String],
) -> Result<(), ApiError> {
    for course_id in course_ids {
        let mut replacing: Option<String> = None;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let now = state.clock.now();
            match state.store.claim_order(user, course_id, payment_id, replacing.as_deref(), now).await? {
                OrderClaim::Held => break,
                OrderClaim::HeldBy { payment_id: other, since } if attempts < 4 => {
                    release_earlier_order(state, &other, since, course_id).await?;
                    replacing = Some(other);
                }
                OrderClaim::HeldBy { payment_id: other, .. } => return Err(in_progress(&other)),
            }
        }
    }
    Ok(())
}

fn in_progress(other: &str) -> ApiError {
    let mut e = ApiError::conflict(
        "order_in_progress",
        "Another order of this course is being paid; finish or abandon it first, or try again shortly.",
    )
    .with_details(json!({ "paymentId": other }));
    e.retry_after_seconds = Some(5);
    e
}

/// Makes sure the earlier order holding a course's claim can never be charged for it, or
/// refuses: a paid order that still grants the course means the buyer owns it.
async fn release_earlier_order(
    state: &AppState,
    holder_id: &str,
    claimed_at: Timestamp,
    course_id: &str,
) -> Result<(), ApiError> {
    let Some(holder) = state.store.get_payment(holder_id).await? else {
        // Its payment is being written right now, or a crash left the claim without one.
        return if state.clock.now() < claimed_at + CHARGE_IN_FLIGHT { Err(in_progress(holder_id)) } else { Ok(()) };
    };
    match holder.status {
        PaymentStatus::Canceled => Ok(()),
        PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded => {
            if item_refunded(&holder, course_id) {
                Ok(())
            } else {
                Err(ApiError::conflict("already_owned", format!("you already own course {course_id}")))
            }
        }
        PaymentStatus::Processing => Err(in_progress(holder_id)),
        PaymentStatus::RequiresPaymentMethod | PaymentStatus::RequiresAction | PaymentStatus::Failed => {
            cancel_unpaid(state, &holder)
                .await
                .map_err(|e| if e.status.is_server_error() { e } else { in_progress(holder_id) })
        }
    }
}

fn item_refunded(payment: &Payment, course_id: &str) -> bool {
    let refunded = refunded_items(&payment_item_cash(payment), payment.refunded);
    payment.items.iter().zip(refunded).any(|(item, refunded)| {
        let azora_domain::payment::OrderItem::Course { course_id: c, .. } = item;
        c == course_id && refunded
    })
}

/// Cancels an unpaid payment for good: its PaymentIntent first (Stripe refuses once it
/// succeeded or is processing), then our record, then its voucher is free again.
async fn cancel_unpaid(state: &AppState, payment: &Payment) -> Result<(), ApiError> {
    let now = state.clock.now();
    match &payment.stripe_payment_intent_id {
        None if now < payment.updated_at + CHARGE_IN_FLIGHT => return Err(in_progress(&payment.id)),
        None => {}
        Some(pi) => match state.stripe.cancel_payment_intent(pi, &format!("pi-cancel-{}", payment.id)).await {
            Ok(_) => {}
            Err(GatewayError::Unavailable(cause)) => return Err(ApiError::unavailable(cause)),
            Err(refused) => {
                tracing::info!(payment_id = %payment.id, error = %refused, "earlier order could not be canceled");
                return Err(gateway_error(refused));
            }
        },
    }
    state.store.transition_payment(&payment.id, PaymentStatus::Canceled, now).await?;
    crate::rewards::release_voucher_of(state, &payment.id).await?;
    tracing::info!(payment_id = %payment.id, "earlier unpaid order canceled by a new order of its course");
    Ok(())
}

/// The same payment id must mean the same order: a key reused for other courses (or on the
/// other checkout route for another course) is refused rather than answered with the first.
pub fn ensure_same_order(existing: &Payment, course_ids: &[String]) -> Result<(), ApiError> {
    let ordered: Vec<&str> = existing
        .items
        .iter()
        .map(|i| {
            let azora_domain::payment::OrderItem::Course { course_id, .. } = i;
            course_id.as_str()
        })
        .collect();
    if ordered.len() == course_ids.len() && ordered.iter().zip(course_ids).all(|(a, b)| *a == b.as_str()) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "This Idempotency-Key was used for another order; use a new key for a new order.",
        ))
    }
}
