//! Checkout, the service behind the payment and course-purchase endpoints: pricing and storing a
//! new order (with a voucher), charging it, and the rules that span payments: one open order per
//! buyer and course, and one PaymentIntent per payment. Refusals are [`CheckoutError`]s; the HTTP
//! boundary maps them (`error.rs`).

use crate::auth::Principal;
use crate::fault::Fault;
use crate::limits::{self, Caller, DECLINED_PAYMENTS, LimitError};
use crate::needs::UndeclaredPart;
use crate::payments::customer_of;
use crate::state::AppState;
use azora_domain::course::Course;
use azora_domain::payment::{
    OrderItem, OrderRefusal, Payment, PaymentStatus, payment_item_cash, price_order, refunded_items,
};
use azora_domain::tokens::{VoucherRefusal, VoucherStatus, apply_voucher};
use azora_domain::{Money, UserId};
use azora_store::StoreError;
use azora_store::orders::OrderClaim;
use azora_store::tokens::PaymentVoucher;
use azora_stripe::{GatewayError, PaymentIntentRequest, PaymentIntentState};
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;

/// Why an order is not (yet) charged.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error(transparent)]
    Refused(#[from] OrderRefusal),
    #[error("course {0} was not found")]
    CourseNotFound(String),
    #[error("voucher {0} was not found")]
    VoucherNotFound(String),
    #[error("this voucher was already used for another payment")]
    VoucherUsed,
    #[error(transparent)]
    Voucher(#[from] VoucherRefusal),
    /// Another order of a course may still be charged: finish or abandon it, or retry shortly.
    #[error("another order of this course is being paid ({payment_id})")]
    OrderInProgress { payment_id: String },
    #[error("you already own course {0}")]
    AlreadyOwned(String),
    /// The payment id (from the Idempotency-Key) names another order.
    #[error("this Idempotency-Key was used for another order")]
    KeyReused,
    #[error("card declined: {}", .0.message)]
    Declined(Box<Declined>),
    /// Too many declined attempts lately (card testing): no order is written.
    #[error(transparent)]
    Limited(#[from] LimitError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<StoreError> for CheckoutError {
    fn from(e: StoreError) -> Self {
        CheckoutError::Fault(e.into())
    }
}

impl From<UndeclaredPart> for CheckoutError {
    fn from(e: UndeclaredPart) -> Self {
        CheckoutError::Fault(e.into())
    }
}

/// A declined charge: the payment is failed, or canceled when that freed its voucher.
#[derive(Debug)]
pub struct Declined {
    pub payment_id: String,
    pub code: String,
    pub decline_code: Option<String>,
    pub message: String,
    /// With a voucher: whether it is free again (the payment was canceled).
    pub voucher_released: Option<bool>,
}

/// A charged (or charging) order: what the buyer's client needs next.
#[derive(Debug)]
pub struct Charged {
    pub payment: Payment,
    pub status: PaymentStatus,
    /// For confirming on the client (3-D Secure, or no payment method given); none once paid.
    pub client_secret: Option<String>,
    pub next_action: Option<String>,
    pub voucher: Option<PaymentVoucher>,
}

/// How long an order without a PaymentIntent may still be getting one (its charge in flight):
/// a second order of the same course waits that long before it may cancel the first.
const CHARGE_IN_FLIGHT: SignedDuration = SignedDuration::from_mins(2);

/// How long an unpaid order keeps the voucher it was priced with: time for a 3-D Secure challenge
/// or another card. After that a new order may take the voucher back (the old order is canceled).
pub const VOUCHER_HOLD: SignedDuration = SignedDuration::from_mins(30);

/// Takes the order claims of every course of a new order for `payment_id`, releasing claims of
/// earlier orders that can no longer be charged. Refuses with 409 `already_owned` when an
/// earlier order of a course is paid, `order_in_progress` when one may still be charged.
pub async fn claim_courses(
    state: &AppState,
    user: &UserId,
    payment_id: &str,
    course_ids: &[String],
) -> Result<(), CheckoutError> {
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

fn in_progress(other: &str) -> CheckoutError {
    CheckoutError::OrderInProgress { payment_id: other.to_string() }
}

/// Makes sure the earlier order holding a course's claim can never be charged for it, or
/// refuses: a paid order that still grants the course means the buyer owns it.
async fn release_earlier_order(
    state: &AppState,
    holder_id: &str,
    claimed_at: Timestamp,
    course_id: &str,
) -> Result<(), CheckoutError> {
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
                Err(CheckoutError::AlreadyOwned(course_id.to_string()))
            }
        }
        PaymentStatus::Processing => Err(in_progress(holder_id)),
        PaymentStatus::RequiresPaymentMethod | PaymentStatus::RequiresAction | PaymentStatus::Failed => {
            cancel_unpaid(state, &holder).await.map_err(|e| if still_live(&e) { in_progress(holder_id) } else { e })
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
async fn cancel_unpaid(state: &AppState, payment: &Payment) -> Result<(), CheckoutError> {
    let now = state.clock.now();
    match &payment.stripe_payment_intent_id {
        None if now < payment.updated_at + CHARGE_IN_FLIGHT => return Err(in_progress(&payment.id)),
        None => {}
        Some(pi) => match state.stripe()?.cancel_payment_intent(pi, &format!("pi-cancel-{}", payment.id)).await {
            Ok(_) => {}
            Err(e @ GatewayError::Unavailable(_)) => return Err(Fault::Gateway(e).into()),
            Err(refused) => {
                tracing::info!(payment_id = %payment.id, error = %refused, "earlier order could not be canceled");
                return Err(Fault::Gateway(refused).into());
            }
        },
    }
    state.store.transition_payment(&payment.id, PaymentStatus::Canceled, now).await?;
    crate::rewards::release_voucher_of(state, &payment.id).await?;
    tracing::info!(payment_id = %payment.id, "earlier unpaid order canceled by a new order of its course");
    Ok(())
}

/// Whether a failed cancel means the order is still live: Stripe refused it (the intent is being
/// charged), or a write lost a race with the order's own progress.
fn still_live(e: &CheckoutError) -> bool {
    matches!(
        e,
        CheckoutError::OrderInProgress { .. }
            | CheckoutError::Fault(Fault::Gateway(GatewayError::CardDeclined { .. } | GatewayError::Rejected { .. }))
            | CheckoutError::Fault(Fault::Store(StoreError::ConditionFailed | StoreError::TransactionCanceled { .. }))
    )
}

/// Takes a voucher back from the unpaid order holding it once that order has been left for
/// [`VOUCHER_HOLD`] (an abandoned 3-D Secure challenge, say): the order is canceled, its
/// PaymentIntent at Stripe first, so the discount can never be charged twice. Whether it is free.
async fn reclaim_voucher(state: &AppState, holder_id: &str) -> Result<bool, CheckoutError> {
    let Some(holder) = state.store.get_payment(holder_id).await? else { return Ok(false) };
    let unpaid = matches!(
        holder.status,
        PaymentStatus::RequiresPaymentMethod | PaymentStatus::RequiresAction | PaymentStatus::Failed
    );
    if !unpaid || state.clock.now() < holder.updated_at + VOUCHER_HOLD {
        return Ok(false);
    }
    match cancel_unpaid(state, &holder).await {
        Ok(()) => {
            tracing::info!(payment_id = holder_id, "abandoned order canceled; its voucher is free again");
            Ok(true)
        }
        Err(e) if still_live(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The same payment id must mean the same order: a key reused for other courses (or on the
/// other checkout route for another course) is refused rather than answered with the first.
/// Enrolls `user` in a free course at once, without Stripe, and counts the start in the usage of
/// the organisations where they hold a seat. A second enrollment is [`CheckoutError::AlreadyOwned`]
/// and counts nothing (the first did).
pub async fn enroll_free(state: &AppState, user: &UserId, course: &Course) -> Result<(), CheckoutError> {
    if course.instructor_id == *user {
        return Err(OrderRefusal::OwnCourse(course.id.clone()).into());
    }
    let now = state.clock.now();
    match state.store.enroll_free(user, &course.id, now).await {
        Ok(()) => {}
        Err(e) if e.is_condition() => return Err(CheckoutError::AlreadyOwned(course.id.clone())),
        Err(e) => return Err(e.into()),
    }
    crate::licensing::usage::record_enrollment_usage(state, user, &course.id, now).await?;
    Ok(())
}

pub fn ensure_same_order(existing: &Payment, course_ids: &[String]) -> Result<(), CheckoutError> {
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
        Err(CheckoutError::KeyReused)
    }
}

/// An order to pay. The payment id derives from the buyer's Idempotency-Key, so a retry finds the
/// payment its first attempt wrote.
pub struct Order<'a> {
    pub payment_id: &'a str,
    pub course_ids: &'a [String],
    /// One of the buyer's course vouchers (bought with tokens).
    pub voucher_id: Option<&'a str>,
    /// Confirm now with this payment method; without, the client confirms with the secret.
    pub payment_method: Option<&'a str>,
    pub source_ip: &'a str,
}

/// Pays for an order: refuses a buyer (or address) with too many declines lately before anything
/// is written, finds the payment an earlier attempt wrote (the same order, else `KeyReused`) or
/// prices and stores it, and charges it.
pub async fn pay(state: &AppState, buyer: &Principal, order: Order<'_>) -> Result<Charged, CheckoutError> {
    // Both are reads: at once. The limit is still decided before anything is written.
    let (_, earlier) =
        futures::try_join!(ensure_may_pay(state, Caller { user: &buyer.user_id, ip: order.source_ip }), async {
            Ok(state.store.get_payment(order.payment_id).await?)
        },)?;
    let payment = match earlier {
        Some(existing) => {
            ensure_same_order(&existing, order.course_ids)?;
            existing
        }
        None => create_payment_with(state, buyer, order.payment_id, order.course_ids, order.voucher_id).await?,
    };
    charge(state, buyer, payment, order.payment_method, order.source_ip).await
}

pub enum Purchase {
    /// A free course: the buyer owns it now.
    Enrolled,
    Charged(Box<Charged>),
}

/// Buys the one published course of `order`: a free course enrolls the buyer at once, without
/// Stripe; a priced one is paid like any order.
pub async fn purchase_course(state: &AppState, buyer: &Principal, order: Order<'_>) -> Result<Purchase, CheckoutError> {
    let [course_id] = order.course_ids else { return Err(OrderRefusal::TooManyItems(1).into()) };
    let course = state
        .store
        .get_course(course_id)
        .await?
        .filter(|c| c.status == azora_domain::course::CourseStatus::Published)
        .ok_or_else(|| CheckoutError::CourseNotFound(course_id.clone()))?;
    if course.content.price.is_zero() {
        enroll_free(state, &buyer.user_id, &course).await?;
        return Ok(Purchase::Enrolled);
    }
    Ok(Purchase::Charged(Box::new(pay(state, buyer, order).await?)))
}

/// Prices and stores a new payment (status `requires_payment_method`), optionally using one of
/// the buyer's course vouchers: the discount is
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
) -> Result<Payment, CheckoutError> {
    if course_ids.len() > azora_domain::payment::MAX_ORDER_ITEMS {
        return Err(OrderRefusal::TooManyItems(azora_domain::payment::MAX_ORDER_ITEMS).into());
    }
    let (offers, owned) = futures::try_join!(
        state.store.get_course_offers(course_ids),
        state.store.enrolled_in(&principal.user_id, course_ids)
    )?;
    let mut found = Vec::with_capacity(offers.len());
    for (id, offer) in course_ids.iter().zip(offers) {
        // Another instructor's draft answers like a missing course, as the catalog does; only its
        // instructor and admins learn that it exists but is not for sale.
        let visible = |o: &azora_domain::course::CourseOffer| {
            o.status == azora_domain::course::CourseStatus::Published
                || o.instructor_id == principal.user_id
                || principal.is_admin()
        };
        found.push(offer.filter(visible).ok_or_else(|| CheckoutError::CourseNotFound(id.clone()))?);
    }
    let (items, list_total) = price_order(&principal.user_id, &found, |id| owned.contains(id))?;
    let voucher = match voucher_id {
        None => None,
        Some(id) => {
            let find = || async {
                state
                    .store
                    .get_voucher(&principal.user_id, id)
                    .await?
                    .ok_or_else(|| CheckoutError::VoucherNotFound(id.to_string()))
            };
            let mut voucher = find().await?;
            if voucher.status != VoucherStatus::Available {
                let reclaimed = match voucher.payment_id.as_deref() {
                    Some(holder) if holder != payment_id => reclaim_voucher(state, holder).await?,
                    _ => false,
                };
                if reclaimed {
                    voucher = find().await?;
                }
                if voucher.status != VoucherStatus::Available {
                    return Err(CheckoutError::VoucherUsed);
                }
            }
            let (discount, _) = apply_voucher(list_total, voucher.discount)?;
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
        buyer_name: principal.name.clone(),
        tax_rate_bps: Some(state.config.receipts.get()?.tax_rate_bps),
        card: None,
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
        Err(e) if voucher.is_some() && e.failed_condition_at(1) => Err(CheckoutError::VoucherUsed),
        Ok(()) => Ok(payment),
        // A concurrent attempt with the same key created it first.
        Err(StoreError::ConditionFailed) => {
            state.store.get_payment(payment_id).await?.ok_or_else(|| Fault::broken("payment vanished").into())
        }
        Err(e) => Err(e.into()),
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

/// Refuses a buyer, or an address, with too many declined payments lately (card testing) before
/// any order is written; [`charge`] counts the declines.
pub async fn ensure_may_pay(state: &AppState, buyer: Caller<'_>) -> Result<(), CheckoutError> {
    Ok(limits::ensure_left(state, &DECLINED_PAYMENTS, buyer).await?)
}

/// Creates (or, on a retry, finds) the PaymentIntent and records what Stripe said; a decline
/// counts against the buyer's and the address's budgets ([`ensure_may_pay`]).
/// Fulfilment waits for the `payment_intent.succeeded` webhook.
pub async fn charge(
    state: &AppState,
    principal: &Principal,
    payment: Payment,
    payment_method: Option<&str>,
    source_ip: &str,
) -> Result<Charged, CheckoutError> {
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
            let voucher_released =
                release_declined_voucher(state, &payment, payment_intent.as_ref().map(|p| p.id.as_str())).await;
            let buyer = Caller { user: &principal.user_id, ip: source_ip };
            if let Err(e) = limits::record_failure(state, &DECLINED_PAYMENTS, buyer).await {
                // The decline is the answer; a lost count only loosens the limit.
                tracing::warn!(payment_id = %payment.id, error = %e, "decline not counted");
            }
            return Err(CheckoutError::Declined(Box::new(Declined {
                payment_id: payment.id.clone(),
                code,
                decline_code,
                message,
                voucher_released,
            })));
        }
        Err(other) => return Err(Fault::Gateway(other).into()),
    };
    state.store.link_payment_intent(&payment.id, &pi.id, now).await?;
    let reported = pi.state.map(status_of).unwrap_or(PaymentStatus::RequiresPaymentMethod);
    state.store.transition_payment(&payment.id, reported, now).await?;
    // As stored now (the webhook's worker may have moved it on already), in one read.
    let (status, voucher) = match state.store.payment_and_voucher(&payment.id).await? {
        Some((stored, voucher)) => (stored.status, voucher),
        None => (reported, None),
    };
    Ok(Charged {
        status,
        client_secret: if status.is_paid() { None } else { pi.client_secret },
        next_action: pi.next_action,
        voucher,
        payment,
    })
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
            tracing::warn!(payment_id = %payment.id, error = %e, "could not release the voucher");
            Some(false)
        }
    }
}
