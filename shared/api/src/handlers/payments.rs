//! Payment endpoints: process (pay for an order), history, one payment, its receipt, refunds.

use crate::audit;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, limit, ok, path_param, query};
use crate::idempotency;
use crate::payments::{finish_refunds, receipt_of};
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::payment::{
    OrderItem, OrderRefusal, Payment, PaymentStatus, Refund, RefundContext, RefundRefusal, RefundStatus, plan_refund,
    price_order,
};
use azora_domain::tokens::{VoucherRefusal, VoucherStatus, apply_voucher};
use azora_domain::{Money, UserId};
use azora_store::refunds::Reservation;
use azora_stripe::{GatewayError, PaymentIntentRequest, PaymentIntentState, RefundRequest};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProcessRequest {
    items: Vec<ItemRequest>,
    payment_method_id: Option<String>,
    /// A course voucher bought with tokens (`POST /api/tokens/redeem`), used by this payment.
    voucher_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ItemRequest {
    Course {
        #[serde(rename = "courseId")]
        course_id: String,
    },
}

/// An id derived from the caller and their idempotency key, so a retry after a crash finds the
/// same payment (and Stripe, keyed by it, the same PaymentIntent).
pub fn derived_id(prefix: &str, principal: &Principal, key: &str) -> String {
    let digest = Sha256::digest(format!("{prefix}:{}:{key}", principal.user_id).as_bytes());
    format!("{prefix}_{}", &hex::encode(digest)[..26])
}

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

/// `POST /api/payments/process`: prices the order from the catalog and creates the PaymentIntent.
pub async fn process(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.auth.authenticate(&req)?;
    let body: ProcessRequest = json_body(&req)?;
    if let Some(pm) = &body.payment_method_id {
        validate_payment_method(pm)?;
    }
    let key = idempotency::key(&req)?;
    let course_ids: Vec<String> = body
        .items
        .iter()
        .map(|i| match i {
            ItemRequest::Course { course_id } => course_id.clone(),
        })
        .collect();
    for id in &course_ids {
        if id.is_empty() || id.len() > 64 || id.contains('#') {
            return Err(ApiError::bad_request("validation_failed", "courseId is not a valid id")
                .with_details(json!({ "field": "items.courseId" })));
        }
    }
    if let Some(v) = &body.voucher_id
        && (v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(ApiError::bad_request("validation_failed", "voucherId is not a valid id")
            .with_details(json!({ "field": "voucherId" })));
    }
    idempotency::once(&state, &req, &principal, || async {
        let payment_id = derived_id("pay", &principal, &key);
        let payment = match state.store.get_payment(&payment_id).await? {
            Some(existing) => {
                crate::checkout::ensure_same_order(&existing, &course_ids)?;
                existing
            }
            None => {
                create_payment_with(&state, &principal, &payment_id, &course_ids, body.voucher_id.as_deref()).await?
            }
        };
        charge(&state, &principal, payment, body.payment_method_id.as_deref()).await
    })
    .await
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
    crate::checkout::claim_courses(state, &principal.user_id, payment_id, course_ids).await?;
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

/// The caller's Stripe customer, created once (Stripe's idempotency key makes a retry safe).
pub async fn customer_of(state: &AppState, principal: &Principal) -> Result<String, ApiError> {
    if let Some(id) = state.store.get_stripe_customer(&principal.user_id).await? {
        return Ok(id);
    }
    let email = principal.email.as_ref().map(|e| e.as_str());
    let created = state
        .stripe
        .create_customer(principal.user_id.as_str(), email, &format!("customer-{}", principal.user_id))
        .await
        .map_err(gateway_error)?;
    Ok(state.store.keep_stripe_customer(&principal.user_id, &created).await?)
}

/// Maps what Stripe said to our error envelope.
pub fn gateway_error(e: GatewayError) -> ApiError {
    match e {
        GatewayError::CardDeclined { code, decline_code, message, .. } => {
            ApiError::new(StatusCode::PAYMENT_REQUIRED, "card_declined", message)
                .with_details(json!({ "stripeCode": code, "declineCode": decline_code }))
        }
        GatewayError::Rejected { code, message, .. } => {
            ApiError::unprocessable("payment_rejected", format!("The payment provider refused: {message}"))
                .with_details(json!({ "stripeCode": code }))
        }
        GatewayError::Unavailable(cause) => ApiError::unavailable(cause),
    }
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
        Some(linked) => state.stripe.retrieve_payment_intent(linked).await,
        None => state.stripe.create_payment_intent(&request).await,
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
    if let Err(e) = state.stripe.cancel_payment_intent(pi, &format!("pi-cancel-{}", payment.id)).await {
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

/// Loads a payment the caller may see; anyone else gets the same 404 as for a missing one.
async fn visible_payment(state: &AppState, principal: &Principal, payment_id: &str) -> Result<Payment, ApiError> {
    let payment = state.store.get_payment(payment_id).await?.ok_or_else(|| ApiError::not_found("payment"))?;
    if payment.user_id != principal.user_id && !principal.is_admin() {
        return Err(ApiError::not_found("payment"));
    }
    Ok(payment)
}

fn payment_json(p: &Payment, refunds: Option<&[Refund]>) -> serde_json::Value {
    let mut v = json!({
        "paymentId": p.id,
        "userId": p.user_id,
        "status": p.status.as_str(),
        "amount": p.amount.amount,
        "currency": p.amount.currency.code(),
        "refundedAmount": p.refunded,
        "items": p.items.iter().map(|i| match i {
            OrderItem::Course { course_id, title, price, .. } => json!({
                "type": "course", "courseId": course_id, "title": title, "amount": price.amount
            }),
        }).collect::<Vec<_>>(),
        "receiptNumber": p.receipt_number,
        "fulfilled": p.fulfilled_at.is_some(),
        "createdAt": p.created_at.to_string(),
        "paidAt": p.paid_at.map(|t| t.to_string()),
    });
    if let (Some(refunds), Some(obj)) = (refunds, v.as_object_mut()) {
        obj.insert(
            "refunds".into(),
            refunds
                .iter()
                .map(|r| {
                    json!({
                        "refundId": r.id, "amount": r.amount.amount, "status": r.status.as_str(),
                        "reason": r.reason, "createdAt": r.created_at.to_string()
                    })
                })
                .collect(),
        );
    }
    v
}

/// `GET /api/payments/history?limit=&cursor=` (admins may add `userId`).
pub async fn history(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.auth.authenticate(&req)?;
    let user = match query(&req, "userId") {
        Some(other) if other != principal.user_id.as_str() => {
            if !principal.is_admin() {
                return Err(ApiError::forbidden("forbidden", "Only admins may read another user's payments."));
            }
            UserId::parse(other)?
        }
        _ => principal.user_id.clone(),
    };
    let page = state.store.list_payments(&user, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<_> = page.items.iter().map(|p| payment_json(p, None)).collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

/// `GET /api/payments/{paymentId}`: owner or admin.
pub async fn get(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.auth.authenticate(&req)?;
    let payment = visible_payment(&state, &principal, &path_param(&req, "paymentId")?).await?;
    let refunds = state.store.list_refunds(&payment.id).await?;
    ok(&payment_json(&payment, Some(&refunds)))
}

/// `GET /api/payments/{paymentId}/receipt`: the receipt as HTML, once the payment succeeded.
pub async fn receipt(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.auth.authenticate(&req)?;
    let payment = visible_payment(&state, &principal, &path_param(&req, "paymentId")?).await?;
    let receipt = receipt_of(&state, &payment).await?.ok_or_else(|| {
        ApiError::conflict("receipt_not_ready", "The receipt is issued once the payment has succeeded.")
    })?;
    http::html(receipt.html())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RefundBody {
    payment_id: String,
    amount: Option<i64>,
    reason: String,
}

const REFUND_REASONS: &[&str] =
    &["requested_by_customer", "duplicate", "fraudulent", "course_not_as_described", "other"];

/// `POST /api/payments/refund`: full or partial; buyers within the refund window, admins any time.
pub async fn refund(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.auth.authenticate(&req)?;
    let body: RefundBody = json_body(&req)?;
    if !REFUND_REASONS.contains(&body.reason.as_str()) {
        return Err(ApiError::bad_request("validation_failed", format!("reason must be one of {REFUND_REASONS:?}"))
            .with_details(json!({ "field": "reason" })));
    }
    let key = idempotency::key(&req)?;
    idempotency::once(&state, &req, &principal, || async {
        let payment = visible_payment(&state, &principal, &body.payment_id).await?;
        let refund_id = derived_id("ref", &principal, &key);
        let now = state.clock.now();
        let refund = match state.store.get_refund(&payment.id, &refund_id).await? {
            Some(existing) => existing,
            None => {
                let ctx = RefundContext {
                    by_admin: principal.is_admin(),
                    window_days: state.config.refund_window_days,
                    now,
                };
                let amount = plan_refund(&payment, body.amount, &ctx).map_err(refund_refusal)?;
                let refund = Refund {
                    id: refund_id.clone(),
                    payment_id: payment.id.clone(),
                    amount,
                    status: RefundStatus::Pending,
                    reason: Some(body.reason.clone()),
                    stripe_refund_id: None,
                    requested_by: principal.user_id.to_string(),
                    created_at: now,
                    effects_applied: false,
                };
                match state.store.reserve_refund(&refund).await? {
                    Reservation::Reserved => refund,
                    Reservation::Exists(existing) => existing,
                    Reservation::Refused => {
                        return Err(ApiError::unprocessable(
                            "refund_exceeds_remaining",
                            "The refund exceeds what remains refundable (another refund may be in progress).",
                        ));
                    }
                }
            }
        };
        let refund = execute_refund(&state, &payment, refund).await?;
        audit::record(
            &state,
            &principal,
            &http::request_id(&req),
            "payment.refund",
            &format!("payment:{}", payment.id),
            json!({ "refundId": refund.id, "amount": refund.amount.amount, "currency": refund.amount.currency, "reason": refund.reason }),
        )
        .await?;
        let payment = state.store.get_payment(&payment.id).await?.unwrap_or(payment);
        http::json(
            StatusCode::CREATED,
            &json!({
                "refundId": refund.id,
                "paymentId": payment.id,
                "amount": refund.amount.amount,
                "currency": refund.amount.currency,
                "status": refund.status.as_str(),
                "paymentStatus": payment.status.as_str(),
                "refundedAmount": payment.refunded,
            }),
        )
    })
    .await
}

fn refund_refusal(r: RefundRefusal) -> ApiError {
    let message = r.to_string();
    match r {
        RefundRefusal::NotPositive => {
            ApiError::bad_request("validation_failed", message).with_details(json!({ "field": "amount" }))
        }
        RefundRefusal::NotPaid => ApiError::unprocessable("not_refundable", message),
        RefundRefusal::ExceedsRemaining { remaining } => {
            ApiError::unprocessable("refund_exceeds_remaining", message).with_details(json!({ "remaining": remaining }))
        }
        RefundRefusal::WindowClosed { .. } => ApiError::unprocessable("refund_window_closed", message),
        RefundRefusal::NotFulfilled => {
            let mut e = ApiError::conflict("payment_not_fulfilled", message);
            e.retry_after_seconds = Some(2);
            e
        }
        RefundRefusal::PartialNotAllowed { remaining } => {
            ApiError::unprocessable("partial_refund_not_allowed", message)
                .with_details(json!({ "field": "amount", "remaining": remaining }))
        }
    }
}

/// Asks Stripe for a reserved refund and completes or releases it.
async fn execute_refund(state: &AppState, payment: &Payment, refund: Refund) -> Result<Refund, ApiError> {
    if refund.status != RefundStatus::Pending {
        if refund.status == RefundStatus::Succeeded {
            // A retry: finish whatever a failure left undone.
            finish_refunds(state, &payment.id).await?;
        }
        return Ok(refund);
    }
    let pi =
        payment.stripe_payment_intent_id.as_deref().ok_or_else(|| ApiError::internal("paid payment without intent"))?;
    let request = RefundRequest {
        payment_intent_id: pi,
        amount: refund.amount,
        reason: refund.reason.as_deref(),
        metadata: HashMap::from([
            ("paymentId".to_string(), payment.id.clone()),
            ("refundId".to_string(), refund.id.clone()),
        ]),
        idempotency_key: &format!("refund-{}", refund.id),
    };
    match state.stripe.create_refund(&request).await {
        Ok(done) => {
            let now = state.clock.now();
            state.store.complete_refund(&payment.id, &refund.id, &done.id, refund.amount.amount, now).await?;
            finish_refunds(state, &payment.id).await?;
            Ok(Refund { status: RefundStatus::Succeeded, stripe_refund_id: Some(done.id), ..refund })
        }
        Err(GatewayError::Unavailable(cause)) => {
            // The reservation stays: a retry with the same Idempotency-Key, or Stripe's webhook,
            // completes it.
            Err(ApiError::unavailable(cause))
        }
        Err(refused) => {
            state.store.fail_refund(&payment.id, &refund.id, refund.amount.amount).await?;
            Err(gateway_error(refused))
        }
    }
}
