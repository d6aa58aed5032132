//! Settlement: payment effects shared by the HTTP handlers, the stripe-events worker and the
//! reconcile job, so that whichever path sees an outcome first applies it and the others find
//! nothing left to do. Errors are [`Fault`]s: no rule here refuses anything.

use crate::auth::Principal;
use crate::fault::Fault;
use crate::state::AppState;
use crate::telemetry;
use azora_domain::Money;
use azora_domain::notification::{EmailAddress, Notification, NotificationKind};
use azora_domain::payment::{Payment, PaymentStatus, RefundStatus};
use azora_domain::receipt::{Buyer, Receipt, ReceiptLine, ReceiptRefund, included_tax};
use azora_store::earnings::AppliedReversal;
use azora_store::payments::Fulfilment;
use azora_stripe::GatewayError;
use jiff::Timestamp;

/// The caller's Stripe customer, created once (Stripe's idempotency key makes a retry safe).
pub async fn customer_of(state: &AppState, principal: &Principal) -> Result<String, Fault> {
    if let Some(id) = state.store.get_stripe_customer(&principal.user_id).await? {
        return Ok(id);
    }
    let email = principal.email.as_ref().map(|e| e.as_str());
    let created = state
        .stripe()?
        .create_customer(principal.user_id.as_str(), email, &format!("customer-{}", principal.user_id))
        .await?;
    Ok(state.store.keep_stripe_customer(&principal.user_id, &created).await?)
}

/// Where a payment's emails go: the buyer's `email` claim recorded at purchase; without one,
/// `<userId>@users.azora.local` (documented: connect a profile service to do better).
pub fn email_of(payment: &Payment) -> Result<EmailAddress, Fault> {
    payment
        .buyer_email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
        .map(Ok)
        .unwrap_or_else(|| {
            EmailAddress::parse(format!("{}@users.azora.local", payment.user_id.as_str().replace(['|', '@'], ".")))
        })
        .map_err(Fault::broken)
}

/// Builds the receipt document of a fulfilled payment: the seller from the configuration, the
/// buyer, the card and the tax rate recorded on the payment (no Stripe call), its lines and the
/// refunds that succeeded.
pub async fn receipt_of(state: &AppState, payment: &Payment) -> Result<Option<Receipt>, Fault> {
    let Some(number) = payment.receipt_number.clone() else { return Ok(None) };
    let receipts = state.config.receipts.get()?;
    let refunds = state.store.list_refunds(&payment.id).await?;
    let mut lines: Vec<ReceiptLine> =
        payment.items.iter().map(|i| ReceiptLine { description: i.title().to_string(), amount: i.price() }).collect();
    if let Some(v) = state.store.payment_voucher(&payment.id).await? {
        lines.push(ReceiptLine {
            description: format!("Token voucher {}", v.voucher_id),
            amount: Money::new(-v.discount.amount, v.discount.currency),
        });
    }
    let mut refunds: Vec<ReceiptRefund> = refunds
        .into_iter()
        .filter(|r| r.status == azora_domain::payment::RefundStatus::Succeeded)
        .map(|r| ReceiptRefund { at: r.created_at, amount: r.amount })
        .collect();
    refunds.sort_by_key(|r| r.at);
    Ok(Some(Receipt {
        number,
        issued_at: payment.paid_at.or(payment.fulfilled_at).unwrap_or(payment.created_at),
        payment_id: payment.id.clone(),
        seller: Some(receipts.seller.clone()),
        buyer: Some(Buyer { name: payment.buyer_name.clone(), email: email_of(payment)?.to_string() }),
        payment_method: payment.card.clone(),
        lines,
        tax: Some(included_tax(payment.amount, payment.tax_rate_bps.unwrap_or(receipts.tax_rate_bps))),
        total: payment.amount,
        refunds,
    }))
}

/// Records the card of the payment's charge on the payment (once), so that its receipt names it
/// without asking Stripe again.
async fn record_card(state: &AppState, payment: &Payment) -> Result<(), Fault> {
    if payment.card.is_some() {
        return Ok(());
    }
    let Some(pi) = payment.stripe_payment_intent_id.as_deref() else { return Ok(()) };
    if let Some(card) = state.stripe()?.charged_card(pi).await? {
        state.store.record_payment_card(&payment.id, &card).await?;
    }
    Ok(())
}

/// Marks the payment succeeded (if the state machine allows), grants access and issues the
/// receipt once, and queues the receipt email (deduplicated by its id, so a redelivered event
/// re-queues it harmlessly and a crash between the two steps loses nothing).
pub async fn settle_success(state: &AppState, payment_id: &str, now: Timestamp) -> Result<(), Fault> {
    state.store.transition_payment(payment_id, PaymentStatus::Succeeded, now).await?;
    let Some(payment) = state.store.get_payment(payment_id).await? else {
        return Err(Fault::broken(format!("payment {payment_id} vanished")));
    };
    if payment.status == PaymentStatus::Canceled {
        return refund_charge_of_canceled(state, &payment).await;
    }
    if !payment.status.is_paid() {
        tracing::info!(payment_id, status = payment.status.as_str(), "success event ignored by the state machine");
        return Ok(());
    }
    let hold_seconds = *state.config.refund_window_days.get()? * 24 * 3600;
    if payment.fulfilled_at.is_none() {
        record_card(state, &payment).await?;
    }
    match state.store.fulfil_payment(&payment, now, hold_seconds).await? {
        Fulfilment::Done { receipt_number } => {
            tracing::info!(payment_id, receipt_number, "payment fulfilled");
            telemetry::count("PaymentsSucceeded", 1);
        }
        Fulfilment::AlreadyDone => tracing::info!(payment_id, "already fulfilled"),
    }
    // Refunds counted before the fulfilment (e.g. made in Stripe's dashboard) take back now
    // what the fulfilment granted for them.
    finish_refunds(state, payment_id).await?;
    let payment = state.store.get_payment(payment_id).await?.unwrap_or(payment);
    if let Some(receipt) = receipt_of(state, &payment).await? {
        let notification = Notification {
            id: format!("receipt-{}", payment.id),
            to: email_of(&payment)?,
            kind: NotificationKind::PaymentReceipt { receipt },
        };
        state.notifier()?.send(&notification).await?;
    }
    // Enterprise usage: the courses count as started for a buyer holding a seat (once per course).
    crate::licensing::usage::record_course_starts(state, &payment, payment.fulfilled_at.unwrap_or(now)).await?;
    Ok(())
}

/// A charge that succeeded for a payment we had canceled (a new order of the course replaced it
/// while its charge was in flight): nothing is granted for it, and the money goes back in full,
/// once (Stripe's idempotency key names the payment).
async fn refund_charge_of_canceled(state: &AppState, payment: &Payment) -> Result<(), Fault> {
    let Some(pi) = payment.stripe_payment_intent_id.as_deref() else { return Ok(()) };
    tracing::warn!(payment_id = %payment.id, "charge succeeded for a canceled order; refunding it");
    telemetry::count("CanceledOrderChargesRefunded", 1);
    let request = azora_stripe::RefundRequest {
        payment_intent_id: pi,
        amount: payment.amount,
        reason: Some("duplicate"),
        metadata: std::collections::HashMap::from([("paymentId".to_string(), payment.id.clone())]),
        idempotency_key: &format!("refund-canceled-{}", payment.id),
    };
    state.stripe()?.create_refund(&request).await?;
    Ok(())
}

/// Records a declined attempt and tells the buyer, once per Stripe event.
pub async fn settle_failure(
    state: &AppState,
    payment_id: &str,
    event_id: &str,
    reason: &str,
    now: Timestamp,
) -> Result<(), Fault> {
    state.store.transition_payment(payment_id, PaymentStatus::Failed, now).await?;
    let Some(payment) = state.store.get_payment(payment_id).await? else {
        return Err(Fault::broken(format!("payment {payment_id} vanished")));
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
    state.notifier()?.send(&notification).await
}

/// Counts a refund Stripe reports as succeeded, whichever way we learn of it (its webhook, or the
/// reconcile job's list): ours completes its reservation, one made elsewhere (the dashboard) is
/// recorded once per Stripe id; then everything that follows is finished. Idempotent.
pub async fn count_stripe_refund(
    state: &AppState,
    payment: &Payment,
    stripe_refund_id: &str,
    amount: i64,
    our_refund_id: Option<&str>,
) -> Result<(), Fault> {
    let now = state.clock.now();
    match our_refund_id {
        Some(ours) => {
            let amount = Money::new(amount, payment.amount.currency);
            state.store.complete_refund(&payment.id, ours, stripe_refund_id, amount, now).await?;
        }
        None => {
            let money = Money::new(amount, payment.amount.currency);
            state.store.record_external_refund(&payment.id, stripe_refund_id, money, "stripe", now).await?;
        }
    }
    finish_refunds(state, &payment.id).await
}

/// Counts a dispute Stripe reports as lost, whichever way we learn of it (its webhook, or the
/// reconcile job's list): the disputed amount (at most what remains) counts like a refund, once
/// per dispute id, then everything that follows is finished. Returns whether it counted now.
pub async fn count_lost_dispute(
    state: &AppState,
    payment: &Payment,
    dispute_id: &str,
    amount: i64,
) -> Result<bool, Fault> {
    let lost = Money::new(amount.min(payment.amount.amount - payment.refunded), payment.amount.currency);
    let now = state.clock.now();
    let counted =
        lost.amount > 0 && state.store.record_external_refund(&payment.id, dispute_id, lost, "dispute", now).await?;
    if counted {
        telemetry::count("DisputesLost", 1);
    }
    finish_refunds(state, &payment.id).await?;
    Ok(counted)
}

/// Applies everything that follows from a payment's counted refunds, whichever path counted them
/// (our API, Stripe's webhook, a lost dispute) and however often it is called: the ledger moves
/// to the refunded total (`sync_reversals`), taking paid-out money back from the connected
/// account; access and reviews follow the refunded items (`sync_access`); a fully refunded
/// voucher payment gives its tokens back; each refund's email goes once. Every step is
/// idempotent on its own, and a refund leaves the reconcile job's list only once all are done,
/// so a crash or a transient error halfway is finished by the next caller.
pub async fn finish_refunds(state: &AppState, payment_id: &str) -> Result<(), Fault> {
    let Some(payment) = state.store.get_payment(payment_id).await? else { return Ok(()) };
    if payment.fulfilled_at.is_none() {
        // The fulfilment calls this again once it has granted what the refunds then take back.
        return Ok(());
    }
    let now = state.clock.now();
    // Read before syncing: every refund in this list was counted before the syncs below read the
    // payment, so marking these (and only these) done never skips one counted meanwhile.
    let refunds = state.store.list_refunds(payment_id).await?;
    for reversal in state.store.sync_reversals(payment_id, now).await? {
        if reversal.amount.amount > 0 {
            take_back_from_payout(state, &reversal, now).await?;
        }
    }
    for course_id in state.store.sync_access(payment_id).await? {
        state.store.remove_review(&course_id, &payment.user_id).await?;
    }
    let Some(payment) = state.store.get_payment(payment_id).await? else { return Ok(()) };
    if payment.status == PaymentStatus::Refunded {
        // Fully refunded: a voucher's tokens come back (once, by its ledger source key).
        crate::rewards::return_voucher_tokens(state, &payment).await?;
    }
    for refund in refunds {
        if refund.status == RefundStatus::Pending || refund.effects_applied {
            continue;
        }
        // A lost dispute is not a refund the buyer asked for, and a failed refund was undone
        // above: neither gets a refund email.
        if refund.status != RefundStatus::Succeeded || refund.requested_by == "dispute" {
            state.store.refund_effects_applied(payment_id, &refund.id, now).await?;
            continue;
        }
        telemetry::count("RefundsSucceeded", 1);
        let notification = Notification {
            id: format!("refund-{}", refund.id),
            to: email_of(&payment)?,
            kind: NotificationKind::RefundIssued {
                payment_id: payment.id.clone(),
                amount: refund.amount,
                remaining: Money::new(payment.amount.amount - payment.refunded, payment.amount.currency),
            },
        };
        state.notifier()?.send(&notification).await?;
        state.store.refund_effects_applied(payment_id, &refund.id, now).await?;
    }
    Ok(())
}

/// A refund of a sale that was already paid out: take the instructor's share back from their
/// connected account when its balance allows; otherwise it stays a negative balance that the next
/// payout nets out. Either way nothing is lost or paid twice.
async fn take_back_from_payout(state: &AppState, reversal: &AppliedReversal, now: Timestamp) -> Result<(), Fault> {
    let Some(transfer) = &reversal.paid_out_transfer else { return Ok(()) };
    let metadata = std::collections::HashMap::from([
        ("ledgerChange".to_string(), reversal.key.clone()),
        ("courseId".to_string(), reversal.course_id.clone()),
    ]);
    let key = format!("reversal-{}", reversal.key);
    match state.stripe()?.reverse_transfer(transfer, reversal.amount.amount, metadata, &key).await {
        Ok(reversal_id) => {
            state.store.record_transfer_reversal(reversal, &reversal_id, now).await?;
            telemetry::count("TransferReversals", 1);
            Ok(())
        }
        Err(GatewayError::Rejected { code, message, .. }) => {
            tracing::info!(%code, %message, instructor = %reversal.instructor_id, "transfer not reversible; carried as a negative balance");
            telemetry::count("NegativeBalancesCarried", 1);
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
