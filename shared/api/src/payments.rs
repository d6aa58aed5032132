//! Payment effects shared by the HTTP handlers and the stripe-events worker, so that whichever
//! path sees an outcome first applies it and the other finds nothing left to do.

use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry;
use azora_domain::Money;
use azora_domain::notification::{EmailAddress, Notification, NotificationKind};
use azora_domain::payment::{Payment, PaymentStatus};
use azora_domain::receipt::{Receipt, ReceiptLine, ReceiptRefund};
use azora_store::earnings::AppliedReversal;
use azora_store::payments::Fulfilment;
use azora_stripe::GatewayError;
use jiff::Timestamp;

/// Where a payment's emails go: the buyer's `email` claim recorded at purchase; without one,
/// `<userId>@users.azora.local` (documented: connect a profile service to do better).
pub fn email_of(payment: &Payment) -> Result<EmailAddress, ApiError> {
    payment
        .buyer_email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
        .map(Ok)
        .unwrap_or_else(|| {
            EmailAddress::parse(format!("{}@users.azora.local", payment.user_id.as_str().replace(['|', '@'], ".")))
        })
        .map_err(ApiError::internal)
}

/// Builds the receipt document of a fulfilled payment.
pub async fn receipt_of(state: &AppState, payment: &Payment) -> Result<Option<Receipt>, ApiError> {
    let Some(number) = payment.receipt_number.clone() else { return Ok(None) };
    let refunds = state.store.list_refunds(&payment.id).await?;
    let mut lines: Vec<ReceiptLine> =
        payment.items.iter().map(|i| ReceiptLine { description: i.title().to_string(), amount: i.price() }).collect();
    if let Some(v) = state.store.payment_voucher(&payment.id).await? {
        lines.push(ReceiptLine {
            description: format!("Token voucher {}", v.voucher_id),
            amount: Money::new(-v.discount.amount, v.discount.currency),
        });
    }
    Ok(Some(Receipt {
        number,
        issued_at: payment.paid_at.or(payment.fulfilled_at).unwrap_or(payment.created_at),
        payment_id: payment.id.clone(),
        lines,
        tax: None,
        total: payment.amount,
        refunds: refunds
            .into_iter()
            .filter(|r| r.status == azora_domain::payment::RefundStatus::Succeeded)
            .map(|r| ReceiptRefund { at: r.created_at, amount: r.amount })
            .collect(),
    }))
}

/// Marks the payment succeeded (if the state machine allows), grants access and issues the
/// receipt once, and queues the receipt email (deduplicated by its id, so a redelivered event
/// re-queues it harmlessly and a crash between the two steps loses nothing).
pub async fn settle_success(state: &AppState, payment_id: &str, now: Timestamp) -> Result<(), ApiError> {
    state.store.transition_payment(payment_id, PaymentStatus::Succeeded, now).await?;
    let Some(payment) = state.store.get_payment(payment_id).await? else {
        return Err(ApiError::internal(format!("payment {payment_id} vanished")));
    };
    if !payment.status.is_paid() {
        tracing::info!(payment_id, status = payment.status.as_str(), "success event ignored by the state machine");
        return Ok(());
    }
    let hold_seconds = state.config.refund_window_days * 24 * 3600;
    match state.store.fulfil_payment(&payment, now, hold_seconds).await? {
        Fulfilment::Done { receipt_number } => {
            tracing::info!(payment_id, receipt_number, "payment fulfilled");
            telemetry::count("PaymentsSucceeded", 1);
        }
        Fulfilment::AlreadyDone => tracing::info!(payment_id, "already fulfilled"),
    }
    let payment = state.store.get_payment(payment_id).await?.unwrap_or(payment);
    if let Some(receipt) = receipt_of(state, &payment).await? {
        let notification = Notification {
            id: format!("receipt-{}", payment.id),
            to: email_of(&payment)?,
            kind: NotificationKind::PaymentReceipt { receipt },
        };
        state.notifier.send(&notification).await?;
    }
    // Enterprise usage: the courses count as started for a buyer holding a seat (once per course).
    crate::licensing::usage::record_course_starts(state, &payment, payment.fulfilled_at.unwrap_or(now)).await?;
    Ok(())
}

/// Records a declined attempt and tells the buyer, once per Stripe event.
pub async fn settle_failure(
    state: &AppState,
    payment_id: &str,
    event_id: &str,
    reason: &str,
    now: Timestamp,
) -> Result<(), ApiError> {
    state.store.transition_payment(payment_id, PaymentStatus::Failed, now).await?;
    let Some(payment) = state.store.get_payment(payment_id).await? else {
        return Err(ApiError::internal(format!("payment {payment_id} vanished")));
    };
    if payment.status != PaymentStatus::Failed {
        return Ok(());
    }
    telemetry::count("PaymentsFailed", 1);
    let notification = Notification {
        id: format!("payment-failed-{event_id}"),
        to: email_of(&payment)?,
        kind: NotificationKind::PaymentFailed {
            payment_id: payment.id.clone(),
            amount: payment.amount,
            reason: reason.to_string(),
        },
    };
    state.notifier.send(&notification).await
}

/// After a refund was counted (by whichever path counted it): reverse its effects once.
pub async fn after_refund(state: &AppState, payment_id: &str, refund_id: &str, amount: Money) -> Result<(), ApiError> {
    let refund_at =
        state.store.get_refund(payment_id, refund_id).await?.map(|r| r.created_at).unwrap_or_else(jiff::Timestamp::now);
    let now = jiff::Timestamp::now();
    if let Some(reversals) = state.store.reverse_earnings(payment_id, refund_id, amount.amount, refund_at, now).await? {
        for reversal in reversals.iter().filter(|r| r.amount.amount > 0) {
            take_back_from_payout(state, reversal, refund_id, now).await?;
        }
    }
    let Some(payment) = state.store.get_payment(payment_id).await? else { return Ok(()) };
    if payment.status == PaymentStatus::Refunded {
        state.store.revoke_enrollments(&payment).await?;
        // Fully refunded: a voucher's tokens come back (once, by its ledger source key).
        crate::rewards::return_voucher_tokens(state, &payment).await?;
    }
    telemetry::count("RefundsSucceeded", 1);
    let notification = Notification {
        id: format!("refund-{refund_id}"),
        to: email_of(&payment)?,
        kind: NotificationKind::RefundIssued {
            payment_id: payment.id.clone(),
            amount,
            remaining: Money::new(payment.amount.amount - payment.refunded, payment.amount.currency),
        },
    };
    state.notifier.send(&notification).await
}

/// A refund of a sale that was already paid out: take the instructor's share back from their
/// connected account when its balance allows; otherwise it stays a negative balance that the next
/// payout nets out. Either way nothing is lost or paid twice.
async fn take_back_from_payout(
    state: &AppState,
    reversal: &AppliedReversal,
    refund_id: &str,
    now: Timestamp,
) -> Result<(), ApiError> {
    let Some(transfer) = &reversal.paid_out_transfer else { return Ok(()) };
    let metadata = std::collections::HashMap::from([
        ("refundId".to_string(), refund_id.to_string()),
        ("courseId".to_string(), reversal.course_id.clone()),
    ]);
    let key = format!("reversal-{refund_id}-{}", reversal.course_id);
    match state.stripe.reverse_transfer(transfer, reversal.amount.amount, metadata, &key).await {
        Ok(reversal_id) => {
            state.store.record_transfer_reversal(reversal, refund_id, &reversal_id, now).await?;
            telemetry::count("TransferReversals", 1);
            Ok(())
        }
        Err(GatewayError::Rejected { code, message, .. }) => {
            tracing::info!(%code, %message, instructor = %reversal.instructor_id, "transfer not reversible; carried as a negative balance");
            telemetry::count("NegativeBalancesCarried", 1);
            Ok(())
        }
        Err(e) => Err(crate::handlers::payments::gateway_error(e)),
    }
}
