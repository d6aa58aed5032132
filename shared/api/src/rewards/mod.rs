//! Token rewards glue shared by the HTTP handlers, the rewards worker, the email worker and the
//! payments code: completion awards (multiplied as `crate::entitlements` says), award digests,
//! voucher refunds.
//!
//! **Award digests**: every award queues the notification `token-digest-<userId>-<windowStart>`
//! for the digest window containing it (`TOKEN_DIGEST_WINDOW_SECONDS`, default 15 minutes,
//! aligned to epoch multiples), delayed with SQS `DelaySeconds` until the window ends. All awards
//! of a window queue byte-identical messages with the same id; the email worker claims the id, so
//! the first delivery sends one email and the others are skipped. The email is rendered at send
//! time from the ledger (the user's `award` entries created in the window, and the balance), so a
//! burst of awards becomes at most one email per user per window.

pub mod config;

use crate::error::ApiError;
use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::UserId;
use azora_domain::notification::{EmailAddress, Notification, NotificationKind, digest_window, token_digest_id};
use azora_domain::payment::Payment;
use azora_domain::streak::{local_day, parse_time_zone};
use azora_domain::tokens::{
    LedgerEntry, LedgerKind, LedgerRefusal, TokenAccount, completion_award, completion_source, voucher_refund_source,
};
use azora_store::tokens::{Applied, EntryPlan, LedgerError};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A course completion reported by the learning platform: the rewards queue's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionEvent {
    pub user_id: UserId,
    pub course_id: String,
    /// When the learner finished (decides the streak day); defaults to when it was reported.
    pub completed_at: Timestamp,
    /// The learner's IANA time zone, when the platform knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Where award digests go, when the platform knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Maps a ledger failure: refusals are 422s, store failures the usual mapping.
pub fn ledger_error(e: LedgerError) -> ApiError {
    match e {
        LedgerError::Refused(LedgerRefusal::InsufficientBalance { balance, needed }) => ApiError::unprocessable(
            "insufficient_balance",
            format!("The balance of {balance} tokens does not cover {needed}."),
        )
        .with_details(json!({ "balance": balance, "needed": needed })),
        LedgerError::Refused(r) => ApiError::unprocessable("ledger_refused", r.to_string()),
        LedgerError::Store(e) => e.into(),
    }
}

/// Applies a completion: once per (user, course), with the tier multiplier and the streak bonus.
pub async fn apply_completion(state: &AppState, event: &CompletionEvent) -> Result<Applied, ApiError> {
    let now = state.clock.now();
    // The multiplier is the one `/api/subscriptions/current` reports (same service, same clock).
    let tier = crate::entitlements::entitlements_of(state, &event.user_id, now).await?.tier;
    let base = state.config.tokens.get()?.completion_base;
    let source = completion_source(&event.course_id);
    let plan = |account: &TokenAccount| {
        // The event's zone, else the one stored with the user, else UTC.
        let zone_name = event.time_zone.clone().or_else(|| account.time_zone.clone());
        let zone = zone_name.as_deref().and_then(|z| parse_time_zone(z).ok()).unwrap_or(TimeZone::UTC);
        let day = local_day(event.completed_at, &zone);
        let streak = account.streak.record(day);
        // A late event for an earlier day changes no streak and earns no bonus.
        let streak_days = if streak.last_day == Some(day) { streak.current } else { 1 };
        let award = completion_award(base, tier, streak_days);
        let mut after = account.apply(LedgerKind::Award, award.amount, now)?;
        after.streak = streak;
        if let Some(z) = event.time_zone.as_ref().filter(|z| parse_time_zone(z).is_ok()) {
            after.time_zone = Some(z.clone());
        }
        if let Some(email) = &event.email {
            after.email = Some(email.clone());
        }
        Ok(EntryPlan {
            kind: LedgerKind::Award,
            delta: award.amount,
            reason: "course_completion".into(),
            details: json!({
                "courseId": event.course_id,
                "completedAt": event.completed_at.to_string(),
                "timeZone": zone.iana_name().unwrap_or("UTC"),
                "localDay": day.to_string(),
                "base": award.base,
                "tier": award.tier,
                "multiplierPercent": award.multiplier_percent,
                "streakDays": award.streak_days,
                "bonusPercent": award.bonus_percent,
                "tiered": award.tiered,
                "bonus": award.bonus,
            }),
            after,
            effect: azora_store::tokens::Effect::None,
        })
    };
    let applied = state.store.apply_entry(&event.user_id, &source, now, plan).await.map_err(ledger_error)?;
    after_award(state, &applied).await?;
    Ok(applied)
}

/// Queues the award digest for an award just written, or again for a duplicate whose window
/// ended less than a day ago (a crash between the award and the queueing loses nothing; the
/// email worker sends each digest id once).
pub async fn after_award(state: &AppState, applied: &Applied) -> Result<(), ApiError> {
    let (entry, email) = match applied {
        Applied::Written { entry, account, .. } => (entry, account.email.clone()),
        Applied::Duplicate { entry: Some(entry) } => (entry, None),
        Applied::Duplicate { entry: None } => return Ok(()),
    };
    if entry.kind != LedgerKind::Award {
        return Ok(());
    }
    let now = state.clock.now();
    let (start, end) = digest_window(entry.created_at, state.config.tokens.get()?.digest_window_seconds);
    if matches!(applied, Applied::Duplicate { .. }) && now > end + jiff::SignedDuration::from_hours(24) {
        return Ok(());
    }
    let email = match email {
        Some(e) => Some(e),
        None => state.store.token_account(&entry.user_id).await?.email,
    };
    let notification = Notification {
        id: token_digest_id(entry.user_id.as_str(), start),
        to: recipient(&entry.user_id, email.as_deref())?,
        kind: NotificationKind::TokenDigest {
            user_id: entry.user_id.to_string(),
            window_start: start,
            window_end: end,
            awards: vec![],
            balance: None,
        },
    };
    let delay = (end.as_second() - now.as_second()).clamp(0, 900) as i32;
    Ok(state.notifier()?.send_delayed(&notification, delay).await?)
}

/// Where a user's token emails go: the address the platform sent with an award, else
/// `<userId>@users.azora.local` (as for payments without an email claim).
pub fn recipient(user: &UserId, email: Option<&str>) -> Result<EmailAddress, Fault> {
    email
        .and_then(|e| EmailAddress::parse(e).ok())
        .map(Ok)
        .unwrap_or_else(|| EmailAddress::parse(format!("{}@users.azora.local", user.as_str().replace(['|', '@'], "."))))
        .map_err(Fault::broken)
}

/// Once a payment paid partly with a voucher is fully refunded, the voucher's tokens come back as
/// one `reversal` entry (source `voucher-refund#<paymentId>`, so at most once).
pub async fn return_voucher_tokens(state: &AppState, payment: &Payment) -> Result<(), Fault> {
    let Some(used) = state.store.payment_voucher(&payment.id).await? else { return Ok(()) };
    let Some(voucher) = state.store.get_voucher(&payment.user_id, &used.voucher_id).await? else {
        return Err(Fault::broken(format!("voucher {} of payment {} vanished", used.voucher_id, payment.id)));
    };
    let now = state.clock.now();
    let applied = state
        .store
        .apply_entry(&payment.user_id, &voucher_refund_source(&payment.id), now, |account| {
            let mut plan = EntryPlan::simple(account, LedgerKind::Reversal, voucher.cost, "voucher_refund", now)?;
            plan.details = json!({ "paymentId": payment.id, "voucherId": voucher.id, "rewardId": voucher.reward_id });
            Ok(plan)
        })
        .await
        .map_err(|e| match e {
            // Giving tokens back never lacks a balance; a refusal here is a bug.
            LedgerError::Refused(r) => Fault::broken(r),
            LedgerError::Store(e) => Fault::Store(e),
        })?;
    if let Applied::Written { entry, .. } = &applied {
        tracing::info!(payment_id = %payment.id, voucher_id = %voucher.id, tokens = entry.delta, "voucher tokens returned");
    }
    Ok(())
}

/// A canceled payment can never be charged: its voucher (if any) becomes available again.
pub async fn release_voucher_of(state: &AppState, payment_id: &str) -> Result<bool, Fault> {
    let Some(payment) = state.store.get_payment(payment_id).await? else { return Ok(false) };
    if payment.status != azora_domain::payment::PaymentStatus::Canceled {
        return Ok(false);
    }
    let Some(used) = state.store.payment_voucher(payment_id).await? else { return Ok(false) };
    let released = state.store.release_voucher(&payment.user_id, &used.voucher_id, payment_id).await?;
    if released {
        tracing::info!(payment_id, voucher_id = %used.voucher_id, "voucher released by a canceled payment");
    }
    Ok(released)
}

/// A ledger entry as the API shows it.
pub fn entry_json(e: &LedgerEntry) -> Value {
    json!({
        "id": e.id,
        "userId": e.user_id,
        "seq": e.seq,
        "delta": e.delta,
        "kind": e.kind.as_str(),
        "reason": e.reason,
        "sourceKey": e.source_key,
        "balanceAfter": e.balance_after,
        "createdAt": e.created_at.to_string(),
        "details": e.details,
    })
}
