//! Refunds a buyer or an admin asks for: planned by the refund rules (window, partial refunds,
//! fulfilment first), reserved so that concurrent requests never exceed what remains, asked of
//! Stripe, then finished by settlement's [`finish_refunds`]. A retry with the same refund id finds
//! its reservation and completes it instead of asking again.

use crate::auth::Principal;
use crate::fault::Fault;
use crate::needs::UndeclaredPart;
use crate::payments::finish_refunds;
use crate::state::AppState;
use azora_domain::payment::{Payment, Refund, RefundContext, RefundRefusal, RefundStatus, plan_refund};
use azora_store::StoreError;
use azora_store::refunds::Reservation;
use azora_stripe::{GatewayError, RefundRequest};
use std::collections::HashMap;

/// Why a refund is not made.
#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error(transparent)]
    Refused(#[from] RefundRefusal),
    /// The reservation lost to a concurrent refund of the same payment.
    #[error("the refund exceeds what remains refundable (another refund may be in progress)")]
    Contended,
    /// Stripe refused the refund; its reservation is released.
    #[error("the payment provider refused the refund: {0}")]
    Rejected(GatewayError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<StoreError> for RefundError {
    fn from(e: StoreError) -> Self {
        RefundError::Fault(e.into())
    }
}

impl From<UndeclaredPart> for RefundError {
    fn from(e: UndeclaredPart) -> Self {
        RefundError::Fault(e.into())
    }
}

/// One refund request: `amount` in the payment's minor units (`None`: all that remains).
pub struct RefundAsk<'a> {
    pub refund_id: String,
    pub amount: Option<i64>,
    pub reason: &'a str,
    pub by: &'a Principal,
}

/// Plans and reserves the refund (or finds the one this id reserved before), then executes it.
/// `payment` must be one the caller may refund; the caller checks that.
pub async fn request_refund(state: &AppState, payment: &Payment, ask: RefundAsk<'_>) -> Result<Refund, RefundError> {
    let refund = match state.store.get_refund(&payment.id, &ask.refund_id).await? {
        Some(existing) => existing,
        None => {
            let now = state.clock.now();
            let ctx = RefundContext {
                by_admin: ask.by.is_admin(),
                window_days: *state.config.refund_window_days.get()?,
                now,
            };
            let amount = plan_refund(payment, ask.amount, &ctx)?;
            let refund = Refund {
                id: ask.refund_id,
                payment_id: payment.id.clone(),
                amount,
                status: RefundStatus::Pending,
                reason: Some(ask.reason.to_string()),
                stripe_refund_id: None,
                requested_by: ask.by.user_id.to_string(),
                created_at: now,
                effects_applied: false,
            };
            match state.store.reserve_refund(&refund).await? {
                Reservation::Reserved => refund,
                Reservation::Exists(existing) => existing,
                Reservation::Refused => return Err(RefundError::Contended),
            }
        }
    };
    execute(state, payment, refund).await
}

/// Asks Stripe for a reserved refund and completes or releases it.
async fn execute(state: &AppState, payment: &Payment, refund: Refund) -> Result<Refund, RefundError> {
    if refund.status != RefundStatus::Pending {
        if refund.status == RefundStatus::Succeeded {
            // A retry: finish whatever a failure left undone.
            finish_refunds(state, &payment.id).await?;
        }
        return Ok(refund);
    }
    let pi = payment.stripe_payment_intent_id.as_deref().ok_or_else(|| Fault::broken("paid payment without intent"))?;
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
    match state.stripe()?.create_refund(&request).await {
        Ok(done) => {
            let now = state.clock.now();
            state.store.complete_refund(&payment.id, &refund.id, &done.id, refund.amount, now).await?;
            finish_refunds(state, &payment.id).await?;
            Ok(Refund { status: RefundStatus::Succeeded, stripe_refund_id: Some(done.id), ..refund })
        }
        // The reservation stays: a retry with the same Idempotency-Key, or Stripe's webhook,
        // completes it.
        Err(e @ GatewayError::Unavailable(_)) => Err(Fault::Gateway(e).into()),
        Err(refused) => {
            state.store.fail_refund(&payment.id, &refund.id, refund.amount.amount).await?;
            Err(RefundError::Rejected(refused))
        }
    }
}
