//! The rewards service, shared by the HTTP handlers, the rewards worker, the email worker and the
//! payments code: completion awards (multiplied as `crate::entitlements` says), manual awards,
//! redemptions, award digests, voucher refunds. Every ledger write goes through
//! `Store::apply_entry` (one transaction per source key, never below zero); refusals are
//! [`RewardsError`]s, mapped for HTTP in `catalogue.rs`.
//!
//! **Award digests**: every award queues the notification `token-digest-<userId>-<windowStart>`
//! for the digest window containing it (`TOKEN_DIGEST_WINDOW_SECONDS`, default 15 minutes,
//! aligned to epoch multiples), delayed with SQS `DelaySeconds` until the window ends. All awards
//! of a window queue byte-identical messages with the same id; the email worker claims the id, so
//! the first delivery sends one email and the others are skipped. The email is rendered at send
//! time from the ledger (the user's `award` entries created in the window, and the balance), so a
//! burst of awards becomes at most one email per user per window.

pub mod config;
pub mod wallet;

use crate::audit;
use crate::auth::Principal;
use crate::fault::Fault;
use crate::licensing::usage;
use crate::needs::UndeclaredPart;
use crate::state::AppState;
use azora_domain::UserId;
use azora_domain::notification::{EmailAddress, Notification, NotificationKind, digest_window, token_digest_id};
use azora_domain::payment::Payment;
use azora_domain::streak::{local_day, parse_time_zone};
use azora_domain::tokens::{
    LedgerEntry, LedgerKind, LedgerRefusal, Reward, RewardKind, TokenAccount, Voucher, VoucherStatus, completion_award,
    completion_source, redeem_source, voucher_refund_source,
};
use azora_store::StoreError;
use azora_store::tokens::{Applied, Effect, EntryPlan, LedgerError};
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

/// Why a ledger write is not made.
#[derive(Debug, thiserror::Error)]
pub enum RewardsError {
    /// The ledger's rules refused it (a balance would go below zero, ...).
    #[error(transparent)]
    Refused(#[from] LedgerRefusal),
    /// The redemption key was used for another reward.
    #[error("this Idempotency-Key already redeemed another reward")]
    KeyReused,
    #[error("reward {0} was not found")]
    NoSuchReward(String),
    /// A completion reported for a time still to come (beyond a few minutes of clock skew).
    #[error("completedAt is in the future")]
    CompletedInFuture,
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<LedgerError> for RewardsError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Refused(r) => RewardsError::Refused(r),
            LedgerError::Store(e) => RewardsError::Fault(e.into()),
        }
    }
}

impl From<StoreError> for RewardsError {
    fn from(e: StoreError) -> Self {
        RewardsError::Fault(e.into())
    }
}

impl From<UndeclaredPart> for RewardsError {
    fn from(e: UndeclaredPart) -> Self {
        RewardsError::Fault(e.into())
    }
}

/// A manual award (positive) or adjustment (negative) by an admin or the learning platform.
pub struct ManualAward<'a> {
    pub user: &'a UserId,
    pub source_key: &'a str,
    pub amount: i64,
    pub reason: &'a str,
    pub details: Value,
    /// Where award digests go, when the caller knows it.
    pub email: Option<&'a str>,
}

/// Writes a manual award once per source key (a repeat answers the first entry as a duplicate)
/// and queues the award digest.
pub async fn award(state: &AppState, award: ManualAward<'_>) -> Result<Applied, RewardsError> {
    let applied = apply_award(state, award).await?;
    futures::try_join!(digest_if_written(state, &applied), count_earned_tokens(state, &applied))?;
    Ok(applied)
}

/// A manual award's digest is queued when it is written; a repeated request does not queue it
/// again (unlike a completion's, see [`after_award`]).
async fn digest_if_written(state: &AppState, applied: &Applied) -> Result<(), Fault> {
    match applied {
        Applied::Written { .. } => after_award(state, applied).await,
        Applied::Duplicate { .. } => Ok(()),
    }
}

/// The ledger write of [`award`], without what follows it.
async fn apply_award(state: &AppState, award: ManualAward<'_>) -> Result<Applied, RewardsError> {
    let kind = if award.amount > 0 { LedgerKind::Award } else { LedgerKind::Adjust };
    let now = state.clock.now();
    let applied = state
        .store
        .apply_entry(award.user, award.source_key, now, |account| {
            let mut plan = EntryPlan::simple(account, kind, award.amount, award.reason, now)?;
            plan.details = award.details.clone();
            if let Some(email) = award.email {
                plan.after.email = Some(email.to_string());
            }
            Ok(plan)
        })
        .await?;
    Ok(applied)
}

/// A manual award by an admin: written once per source key like [`award`], and audited when
/// written (a duplicate is not audited again).
pub async fn award_by(
    state: &AppState,
    admin: &Principal,
    request_id: &str,
    award: ManualAward<'_>,
) -> Result<Applied, RewardsError> {
    let (user, amount, reason, source) =
        (award.user.clone(), award.amount, award.reason.to_string(), award.source_key.to_string());
    let applied = apply_award(state, award).await?;
    let audited = async {
        if let Applied::Written { entry, .. } = &applied {
            let details = json!({ "amount": amount, "kind": entry.kind.as_str(), "reason": reason, "sourceKey": source, "entryId": entry.id });
            audit::record(state, admin, request_id, "tokens.award", &format!("user:{user}"), details).await?;
        }
        Ok::<_, Fault>(())
    };
    // Independent writes once the entry is in the ledger, so at once: the digest's queueing, the
    // usage counter and the audit record (each idempotent or once per written entry, as in
    // [`award`]). Measured on the bench's sequential awards: ~20 ms in turn, ~11 ms at once.
    futures::try_join!(digest_if_written(state, &applied), count_earned_tokens(state, &applied), audited)?;
    Ok(applied)
}

/// How much later than now a completion may say it happened (clocks differ a little).
const COMPLETION_CLOCK_SKEW: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// Queues a completion reported by the learning platform for the rewards worker, which awards it
/// once per (user, course).
pub async fn report_completion(state: &AppState, event: &CompletionEvent) -> Result<(), RewardsError> {
    if event.completed_at > state.clock.now() + COMPLETION_CLOCK_SKEW {
        return Err(RewardsError::CompletedInFuture);
    }
    let message = serde_json::to_string(event).map_err(|e| Fault::broken(format!("completion event: {e}")))?;
    state.rewards()?.send(message, &[("kind", "course_completion")]).await?;
    Ok(())
}

/// Debits `reward`'s cost (never below zero) and, in the same transaction, creates the course
/// voucher `voucher_id` or extends the Pro credit. `key` redeems once, ever (ledger source
/// `redeem#<key>`): a repeat answers the first redemption, or [`RewardsError::KeyReused`] when it
/// was for another reward. Returns the ledger entry and what was applied.
pub async fn redeem(
    state: &AppState,
    user: &UserId,
    reward: &Reward,
    key: &str,
    voucher_id: &str,
) -> Result<(LedgerEntry, Applied), RewardsError> {
    let now = state.clock.now();
    let applied = state
        .store
        .apply_entry(user, &redeem_source(key), now, |account| {
            let mut plan =
                EntryPlan::simple(account, LedgerKind::Redeem, -reward.cost, &format!("redeem:{}", reward.id), now)?;
            plan.details = json!({ "rewardId": reward.id, "title": reward.title });
            plan.effect = match &reward.kind {
                RewardKind::CourseVoucher { discount } => {
                    plan.details["voucherId"] = json!(voucher_id);
                    Effect::Voucher(Voucher {
                        id: voucher_id.to_string(),
                        user_id: user.clone(),
                        reward_id: reward.id.clone(),
                        discount: *discount,
                        cost: reward.cost,
                        status: VoucherStatus::Available,
                        payment_id: None,
                        created_at: now,
                    })
                }
                RewardKind::ProCredit { days } => Effect::ProCredit { days: *days },
            };
            Ok(plan)
        })
        .await?;
    let entry = match &applied {
        Applied::Written { entry, .. } | Applied::Duplicate { entry: Some(entry) } => entry.clone(),
        Applied::Duplicate { entry: None } => return Err(Fault::broken("redemption source without entry").into()),
    };
    if entry.details["rewardId"] != json!(reward.id) {
        return Err(RewardsError::KeyReused);
    }
    Ok((entry, applied))
}

/// Applies a completion: once per (user, course), with the tier multiplier and the streak bonus.
pub async fn apply_completion(state: &AppState, event: &CompletionEvent) -> Result<Applied, RewardsError> {
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
    let applied = state.store.apply_entry(&event.user_id, &source, now, plan).await?;
    after_award(state, &applied).await?;
    // Enterprise usage, also for a redelivered completion: each event counts once, so a crash
    // between the award and the counting is made good by the retry.
    usage::record_completion_usage(state, &event.user_id, &event.course_id, event.completed_at).await?;
    count_earned_tokens(state, &applied).await?;
    Ok(applied)
}

/// Counts an award's tokens in the usage of the organisations where the earner holds a seat,
/// once per ledger entry (its source key), at the time it was written.
async fn count_earned_tokens(state: &AppState, applied: &Applied) -> Result<(), Fault> {
    let entry = match applied {
        Applied::Written { entry, .. } | Applied::Duplicate { entry: Some(entry) } => entry,
        Applied::Duplicate { entry: None } => return Ok(()),
    };
    if entry.kind == LedgerKind::Award && entry.delta > 0 {
        usage::record_tokens_usage(state, &entry.user_id, entry.delta, &entry.source_key, entry.created_at).await?;
    }
    Ok(())
}

/// Queues the award digest for an award just written, or again for a duplicate whose window
/// ended less than a day ago (a crash between the award and the queueing loses nothing; the
/// email worker sends each digest id once).
pub async fn after_award(state: &AppState, applied: &Applied) -> Result<(), Fault> {
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
    // A written entry came with the account it was written to, so its email is already the
    // latest; a duplicate's account is read.
    let email = match (applied, email) {
        (_, Some(e)) => Some(e),
        (Applied::Written { .. }, None) => None,
        (Applied::Duplicate { .. }, None) => state.store.token_account(&entry.user_id).await?.email,
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
    state.notifier()?.send_delayed(&notification, delay).await
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
