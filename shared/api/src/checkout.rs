//! Checkout, for the payment and course-purchase endpoints: pricing and storing a new order (with
//! a voucher), charging it, and the rules that span payments: one open order per buyer and
//! course, and one PaymentIntent per payment.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{self, HttpResult};
use crate::payments::{customer_of, gateway_error};
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::payment::{
    OrderItem, OrderRefusal, Payment, PaymentStatus, payment_item_cash, price_order, refunded_items,
};
use azora_domain::tokens::{VoucherRefusal, VoucherStatus, apply_voucher};
use azora_domain::{Money, UserId};
use azora_store::orders::OrderClaim;
use azora_stripe::{GatewayError, PaymentIntentRequest, PaymentIntentState};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

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
        Some(pi) => match state.stripe()?.cancel_payment_intent(pi, &format!("pi-cancel-{}", payment.id)).await {
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

/// The `paymentMethodId` of a checkout request (`pm_...`), checked before anything is written.
pub fn validate_payment_method(pm: &str) -> Result<(), ApiError> {
    let valid = pm.starts_with("pm_") && pm.len() <= 255 && pm.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request("validation_failed", "paymentMethodId must look like pm_...")
            .with_details(json!({ "field": "paymentMethodId" })))
    }
}

fn refusal_error(r: OrderRefusal) -> ApiError {
    let message = r.to_string();
    match r {
        OrderRefusal::Empty | OrderRefusal::TooManyItems(_) | OrderRefusal::Duplicate(_) => {
            ApiError::bad_request("validation_failed", message).with_details(json!({ "field": "items" }))
        }
        OrderRefusal::NotPurchasable(_) => ApiError::unprocessable("not_purchasable", message),
        OrderRefusal::Free(_) => ApiError::unprocessable("free_course", message),
        OrderRefusal::OwnCourse(_) => ApiError::unprocessable("own_course", message),
        OrderRefusal::AlreadyOwned(_) => ApiError::conflict("already_owned", message),
        OrderRefusal::MixedCurrencies => ApiError::unprocessable("mixed_currencies", message),
        OrderRefusal::Overflow => ApiError::unprocessable("amount_out_of_range", message),
    }
}

/// Prices and stores a new payment (status `requires_payment_method`).
pub async fn create_payment(
    state: &AppState,
    principal: &Principal,
    payment_id: &str,
    course_ids: &[String],
) -> Result<Payment, ApiError> {
    create_payment_with(state, principal, payment_id, course_ids, None).await
}

/// Like [`create_payment`], optionally using one of the buyer's course vouchers: the discount is
/// `min(voucher value, total − Stripe minimum)` (see `azora_domain::tokens::apply_voucher`); the
/// voucher turns `used` in the same transaction that creates the payment, so it pays for one
/// payment only. The items keep their list prices: the instructors' 70 % is of the list price and
/// the platform absorbs the discount.
pub async fn create_payment_with(
    state: &AppState,
    principal: &Principal,
    payment_id: &str,
    course_ids: &[String],
    voucher_id: Option<&str>,
) -> Result<Payment, ApiError> {
    if course_ids.len() > azora_domain::payment::MAX_ORDER_ITEMS {
        return Err(refusal_error(OrderRefusal::TooManyItems(azora_domain::payment::MAX_ORDER_ITEMS)));
    }
    let offers = state.store.get_course_offers(course_ids).await?;
    let mut found = Vec::with_capacity(offers.len());
    for (id, offer) in course_ids.iter().zip(offers) {
        found.push(offer.ok_or_else(|| ApiError::not_found(&format!("course {id}")))?);
    }
    let owned = state.store.enrolled_in(&principal.user_id, course_ids).await?;
    let (items, list_total) =
        price_order(&principal.user_id, &found, |id| owned.contains(id)).map_err(refusal_error)?;
    let voucher = match voucher_id {
        None => None,
        Some(id) => {
            let voucher = state.store.get_voucher(&principal.user_id, id).await?.ok_or_else(|| {
                ApiError::not_found(&format!("voucher {id}")).with_details(json!({ "field": "voucherId" }))
            })?;
            if voucher.status != VoucherStatus::Available {
                return Err(voucher_used());
            }
            let (discount, _) = apply_voucher(list_total, voucher.discount).map_err(|e| match e {
                VoucherRefusal::CurrencyMismatch { .. } => {
                    ApiError::unprocessable("voucher_currency_mismatch", e.to_string())
                }
                VoucherRefusal::NothingToDiscount => ApiError::unprocessable("voucher_not_applicable", e.to_string()),
            })?;
            Some((voucher, discount))
        }
    };
    let amount = match &voucher {
        Some((_, discount)) => Money::new(list_total.amount - discount.amount, list_total.currency),
        None => list_total,
    };
    claim_courses(state, &principal.user_id, payment_id, course_ids).await?;
    let now = state.clock.now();
    let payment = Payment {
        id: payment_id.to_string(),
        user_id: principal.user_id.clone(),
        buyer_email: principal.email.as_ref().map(|e| e.to_string()),
        items,
        amount,
        status: PaymentStatus::RequiresPaymentMethod,
        stripe_payment_intent_id: None,
        refunded: 0,
        refundable: amount.amount,
        receipt_number: None,
        created_at: now,
        updated_at: now,
        paid_at: None,
        fulfilled_at: None,
    };
    let created = match &voucher {
        None => state.store.create_payment(&payment).await,
        Some((v, discount)) => state.store.create_payment_with_voucher(&payment, v, *discount, list_total.amount).await,
    };
    // Not written (by this call or a concurrent one with the same key): the claims must not
    // block the buyer's next order.
    if created.is_err() && state.store.get_payment(payment_id).await?.is_none() {
        state.store.release_order_claims(&principal.user_id, course_ids, payment_id).await?;
    }
    match created {
        Err(e) if voucher.is_some() && e.failed_condition_at(1) => Err(voucher_used()),
        Ok(()) => Ok(payment),
        // A concurrent attempt with the same key created it first.
        Err(azora_store::StoreError::ConditionFailed) => {
            state.store.get_payment(payment_id).await?.ok_or_else(|| ApiError::internal("payment vanished"))
        }
        Err(e) => Err(e.into()),
    }
}

fn voucher_used() -> ApiError {
    ApiError::conflict("voucher_used", "This voucher was already used for another payment.")
        .with_details(json!({ "field": "voucherId" }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessResponse<'a> {
    payment_id: &'a str,
    status: &'a str,
    amount: i64,
    currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_action: Option<String>,
    /// With a voucher: the voucher, the discount and the list total before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    voucher: Option<serde_json::Value>,
}

fn status_of(state: PaymentIntentState) -> PaymentStatus {
    match state {
        PaymentIntentState::RequiresPaymentMethod | PaymentIntentState::RequiresConfirmation => {
            PaymentStatus::RequiresPaymentMethod
        }
        PaymentIntentState::RequiresAction => PaymentStatus::RequiresAction,
        PaymentIntentState::Processing => PaymentStatus::Processing,
        PaymentIntentState::Succeeded => PaymentStatus::Succeeded,
        PaymentIntentState::Canceled => PaymentStatus::Canceled,
    }
}

/// Creates (or, on a retry, finds) the PaymentIntent and records what Stripe said.
/// Fulfilment waits for the `payment_intent.succeeded` webhook.
pub async fn charge(
    state: &AppState,
    principal: &Principal,
    payment: Payment,
    payment_method: Option<&str>,
) -> HttpResult {
    let customer = customer_of(state, principal).await?;
    let metadata = HashMap::from([
        ("paymentId".to_string(), payment.id.clone()),
        ("userId".to_string(), payment.user_id.to_string()),
    ]);
    let description = payment.items.iter().map(OrderItem::title).collect::<Vec<_>>().join(", ");
    let request = PaymentIntentRequest {
        amount: payment.amount,
        customer_id: &customer,
        payment_method,
        description: &description,
        metadata,
        transfer_group: Some(&payment.id),
        idempotency_key: &format!("pi-create-{}", payment.id),
    };
    let now = state.clock.now();
    let created = match &payment.stripe_payment_intent_id {
        // One payment, one PaymentIntent, ever: a retry (even days later, when Stripe has
        // forgotten the idempotency key) looks at the intent we linked instead of making another.
        Some(linked) => state.stripe()?.retrieve_payment_intent(linked).await,
        None => state.stripe()?.create_payment_intent(&request).await,
    };
    let pi = match created {
        Ok(pi) => pi,
        Err(GatewayError::CardDeclined { code, decline_code, message, payment_intent }) => {
            if let Some(pi) = &payment_intent {
                state.store.link_payment_intent(&payment.id, &pi.id, now).await?;
            }
            state.store.transition_payment(&payment.id, PaymentStatus::Failed, now).await?;
            let released =
                release_declined_voucher(state, &payment, payment_intent.as_ref().map(|p| p.id.as_str())).await;
            let mut details =
                json!({ "paymentId": payment.id, "status": "failed", "stripeCode": code, "declineCode": decline_code });
            if let Some(released) = released {
                details["status"] = json!(if released { "canceled" } else { "failed" });
                details["voucherReleased"] = json!(released);
            }
            return Err(ApiError::new(StatusCode::PAYMENT_REQUIRED, "card_declined", message).with_details(details));
        }
        Err(other) => return Err(gateway_error(other)),
    };
    state.store.link_payment_intent(&payment.id, &pi.id, now).await?;
    let reported = pi.state.map(status_of).unwrap_or(PaymentStatus::RequiresPaymentMethod);
    state.store.transition_payment(&payment.id, reported, now).await?;
    let current = state.store.get_payment(&payment.id).await?.map(|p| p.status).unwrap_or(reported);
    let voucher = state
        .store
        .payment_voucher(&payment.id)
        .await?
        .map(|v| json!({ "voucherId": v.voucher_id, "discount": v.discount.amount, "listAmount": v.list_amount }));
    http::json(
        StatusCode::CREATED,
        &ProcessResponse {
            payment_id: &payment.id,
            status: current.as_str(),
            amount: payment.amount.amount,
            currency: payment.amount.currency.code(),
            client_secret: if current.is_paid() { None } else { pi.client_secret },
            next_action: pi.next_action,
            voucher,
        },
    )
}

/// A declined payment that used a voucher is canceled (its PaymentIntent too, so it can never be
/// charged later) and the voucher is released, so the buyer can use it on a new attempt. `None`
/// when the payment used no voucher; `Some(false)` when it could not be canceled (the voucher stays
/// with the payment, which the buyer may still complete).
async fn release_declined_voucher(state: &AppState, payment: &Payment, pi: Option<&str>) -> Option<bool> {
    let has_voucher = state.store.payment_voucher(&payment.id).await.ok().flatten().is_some();
    if !has_voucher {
        return None;
    }
    let Some(pi) = pi else { return Some(false) };
    let Ok(stripe) = state.stripe() else { return Some(false) };
    if let Err(e) = stripe.cancel_payment_intent(pi, &format!("pi-cancel-{}", payment.id)).await {
        tracing::warn!(payment_id = %payment.id, error = %e, "could not cancel the declined PaymentIntent; the voucher stays bound");
        return Some(false);
    }
    let now = state.clock.now();
    if let Err(e) = state.store.transition_payment(&payment.id, PaymentStatus::Canceled, now).await {
        tracing::warn!(payment_id = %payment.id, error = %e, "could not mark the payment canceled");
        return Some(false);
    }
    match crate::rewards::release_voucher_of(state, &payment.id).await {
        Ok(released) => Some(released),
        Err(e) => {
            tracing::warn!(payment_id = %payment.id, error = %e.message, "could not release the voucher");
            Some(false)
        }
    }
}
