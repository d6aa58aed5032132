//! A user's subscription item: `USER#<id>` / `SUBSCRIPTION`.

use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, b, from_item, n, opt_s, s};
use crate::table::{Expr, Key, Outcome, Query, kept_changing, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::AttributeValue;
use azora_domain::reports::{MRR_CURRENCY, MrrMovement, ReportCounters, monthly_contribution};
use azora_domain::subscription::{BillingInterval, PendingChange, Subscription, SubscriptionStatus};
use azora_domain::{Tier, UserId};
use jiff::Timestamp;

fn sub_key(user: &UserId) -> Key {
    key(keys::user(user.as_str()), keys::SUBSCRIPTION)
}

fn slot_key(user: &UserId) -> Key {
    key(keys::user(user.as_str()), SUBSCRIPTION_CLAIM)
}

/// A new subscription is written only where no live one exists.
fn not_live() -> Expr {
    Expr::when("attribute_not_exists(PK) OR #status = :canceled")
        .status()
        .value(":canceled", s(SubscriptionStatus::Canceled.as_str()))
}

/// The attributes of the plan itself, as `put_subscription` and a new record write them.
fn subscription_attrs(sub: &Subscription) -> Vec<(&'static str, AttributeValue)> {
    let mut attrs = vec![
        ("tier", s(sub.tier.as_str())),
        ("status", s(sub.status.as_str())),
        ("cancelAtPeriodEnd", b(sub.cancel_at_period_end)),
    ];
    if let Some(interval) = sub.interval {
        attrs.push(("interval", s(interval.as_str())));
    }
    if let Some(end) = sub.current_period_end {
        attrs.push(("currentPeriodEnd", n(end.as_second())));
    }
    attrs
}

impl Store {
    /// The user's subscription, or `None` when they never had one (they are on Free).
    pub async fn get_subscription(&self, user: &UserId) -> Result<Option<Subscription>, StoreError> {
        self.get(&sub_key(user), false).await
    }

    /// Writes the subscription as given. Lifecycle writes with ordering guards come with billing.
    pub async fn put_subscription(&self, user: &UserId, sub: &Subscription) -> Result<(), StoreError> {
        self.put(sub_key(user).item(subscription_attrs(sub)), None).await
    }
}

impl FromItem for Subscription {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let f = Fields::of(item, "subscription");
        Ok(Subscription {
            tier: f.named("tier", Tier::parse)?,
            status: f.named("status", SubscriptionStatus::parse)?,
            interval: opt_s(item, "interval")
                .map(|i| BillingInterval::parse(i).ok_or_else(|| f.bad("interval")))
                .transpose()?,
            current_period_end: f.opt_secs("currentPeriodEnd")?,
            cancel_at_period_end: f.bool("cancelAtPeriodEnd"),
        })
    }
}

/// The subscription item with its Stripe link and billing bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub user_id: UserId,
    pub subscription: Subscription,
    pub stripe_subscription_id: Option<String>,
    pub stripe_customer_id: Option<String>,
    pub pending_change: Option<PendingChange>,
    pub past_due_since: Option<Timestamp>,
    pub reminded_period_end: Option<i64>,
}

/// Stripe's view of a subscription, as an event or a fetch reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSubscriptionState {
    pub stripe_subscription_id: String,
    pub status: SubscriptionStatus,
    pub interval: Option<BillingInterval>,
    pub current_period_end: Option<Timestamp>,
    pub cancel_at_period_end: bool,
    /// When this state was observed, in Unix milliseconds on the app's clock (the start of a
    /// fetch, or the return of our own change): older states never overwrite newer ones. Never
    /// Stripe's `created`: Stripe's clock is not ours (test clocks, skew), and one clock orders.
    pub as_of: i64,
}

const SUBSCRIPTIONS: &str = "SUBSCRIPTIONS";

impl FromItem for SubscriptionRecord {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let f = Fields::of(item, "subscription");
        let pending = match opt_s(item, "pendingTier") {
            None => None,
            Some(tier) => Some(PendingChange {
                tier: Tier::parse(tier).ok_or_else(|| f.bad("pendingTier"))?,
                interval: opt_s(item, "pendingInterval").and_then(BillingInterval::parse),
                effective_at: f
                    .opt_i64("pendingEffectiveAt")?
                    .and_then(|t| Timestamp::from_second(t).ok())
                    .ok_or_else(|| f.bad("pendingEffectiveAt"))?,
            }),
        };
        Ok(SubscriptionRecord {
            user_id: UserId::parse(
                opt_s(item, "userId")
                    .or_else(|| opt_s(item, keys::PK).and_then(|pk| pk.strip_prefix("USER#")))
                    .unwrap_or_default(),
            )
            .map_err(|_| f.bad("userId"))?,
            subscription: Subscription::from_item(item)?,
            stripe_subscription_id: f.opt("stripeSubscriptionId"),
            stripe_customer_id: f.opt("stripeCustomerId"),
            pending_change: pending,
            past_due_since: f.opt_i64("pastDueSince")?.and_then(|t| Timestamp::from_second(t).ok()),
            reminded_period_end: f.opt_i64("remindedPeriodEnd")?,
        })
    }
}

/// The subscription item of a new subscription (written only where no live one exists).
fn record_item(record: &SubscriptionRecord, now: Timestamp) -> Item {
    let mut item = sub_key(&record.user_id).item(subscription_attrs(&record.subscription));
    item.extend(
        [
            (keys::GSI1PK, Some(s(SUBSCRIPTIONS))),
            (keys::GSI1SK, Some(s(record.user_id.as_str()))),
            ("userId", Some(s(record.user_id.as_str()))),
            ("stripeUpdatedAt", Some(n(now.as_millisecond()))),
            ("stripeSubscriptionId", record.stripe_subscription_id.as_deref().map(s)),
            ("stripeCustomerId", record.stripe_customer_id.as_deref().map(s)),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?))),
    );
    item
}

/// A cursor of a GSI1 listing that resumes right after the item `at`, indexed under `gsi1pk` by
/// the user's id, so a job can checkpoint after any item, not only at page ends.
fn cursor_after(at: Key, gsi1pk: &str, user: &UserId) -> Option<String> {
    let mut k = at.attributes();
    k.insert(keys::GSI1PK.into(), s(gsi1pk));
    k.insert(keys::GSI1SK.into(), s(user.as_str()));
    crate::cursor::encode(Some(&k))
}

impl Store {
    pub async fn get_subscription_record(&self, user: &UserId) -> Result<Option<SubscriptionRecord>, StoreError> {
        self.get(&sub_key(user), true).await
    }

    /// Records a new Stripe subscription; refused (`ConditionFailed`) while a live one exists.
    pub async fn start_subscription(&self, record: &SubscriptionRecord, now: Timestamp) -> Result<(), StoreError> {
        let (mut writes, counted) = self.new_subscription_report(record, now)?;
        writes.insert(0, self.tx_put(record_item(record, now), Some(not_live()))?);
        match self.transact(writes).await {
            Ok(()) => {
                crate::reports::committed(now, MRR_CURRENCY, &counted);
                Ok(())
            }
            Err(e) if e.failed_condition_at(0) => Err(StoreError::ConditionFailed),
            Err(e) => Err(e),
        }
    }

    /// A new subscription record replaces nothing that counts toward MRR (it is written only where
    /// none is live: absent, or canceled), so its whole contribution is a movement of `now`'s month.
    fn new_subscription_report(
        &self,
        record: &SubscriptionRecord,
        now: Timestamp,
    ) -> Result<(Vec<aws_sdk_dynamodb::types::TransactWriteItem>, ReportCounters), StoreError> {
        let sub = &record.subscription;
        let counters = MrrMovement::between(0, monthly_contribution(sub.tier, sub.interval, sub.status)).counters();
        Ok((self.report_writes(now, MRR_CURRENCY, &counters)?, counters))
    }

    /// Applies Stripe's state unless a newer one was applied already. Entering `past_due` starts
    /// the grace clock at `now` (when we learn of it); leaving it stops it. Returns whether
    /// anything was written.
    ///
    /// The change of the subscription's MRR contribution (`azora_domain::reports`) is added to the
    /// reports in the same transaction, computed from the stored state that the write's condition
    /// pins (tier, status, interval): a concurrent application that changed them makes this one
    /// read again, so no stale movement is ever counted, and a state refused as older counts nothing.
    pub async fn apply_stripe_state(
        &self,
        user: &UserId,
        state: &StripeSubscriptionState,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        for _ in 0..SLOT_ROUNDS {
            let Some(item) = self.get_item(&sub_key(user), true).await? else { return Ok(false) };
            let stored = SubscriptionRecord::from_item(&item)?;
            let applied_as_of = Fields::of(&item, "subscription").opt_i64("stripeUpdatedAt")?;
            if stored.stripe_subscription_id.as_deref() != Some(state.stripe_subscription_id.as_str())
                || applied_as_of.is_some_and(|at| at > state.as_of)
            {
                // Not the subscription we follow, or a newer state was applied: nothing to do.
                return Ok(false);
            }
            let was = &stored.subscription;
            let before = monthly_contribution(was.tier, was.interval, was.status);
            let after = monthly_contribution(was.tier, state.interval.or(was.interval), state.status);
            let counters = MrrMovement::between(before, after).counters();
            let pin = Expr::when(match was.interval {
                Some(_) => "#tier = :pin_tier AND #status = :pin_status AND #interval = :pin_interval",
                None => "#tier = :pin_tier AND #status = :pin_status AND attribute_not_exists(#interval)",
            })
            .name("#tier", "tier")
            .name("#interval", "interval")
            .value(":pin_tier", s(was.tier.as_str()))
            .value(":pin_status", s(was.status.as_str()));
            let pin = match was.interval {
                Some(i) => pin.value(":pin_interval", s(i.as_str())),
                None => pin,
            };
            let at = Timestamp::from_millisecond(state.as_of).unwrap_or(now);
            let mut writes = vec![self.tx_update(&sub_key(user), self.stripe_state_update(state, now).with(pin))?];
            writes.extend(self.report_writes(at, MRR_CURRENCY, &counters)?);
            match self.transact(writes).await {
                Ok(()) => {
                    crate::reports::committed(at, MRR_CURRENCY, &counters);
                    return Ok(true);
                }
                // A newer state, or another change of what the contribution depends on: read again.
                Err(e) if e.failed_condition_at(0) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(kept_changing("the subscription"))
    }

    /// The update that applies Stripe's state unless a newer one was applied already. Entering
    /// `past_due` starts the grace clock at `now`; leaving it stops it.
    fn stripe_state_update(&self, state: &StripeSubscriptionState, now: Timestamp) -> Expr {
        let mut sets = vec!["#status = :status", "cancelAtPeriodEnd = :cancel", "stripeUpdatedAt = :asof"];
        let mut removes = Vec::new();
        // Ordered by Stripe's event time: an older state never overwrites a newer one, and only
        // the subscription we recorded for this user is followed.
        let mut expr = Expr::when(
            "stripeSubscriptionId = :sid AND (attribute_not_exists(stripeUpdatedAt) OR stripeUpdatedAt <= :asof)",
        )
        .status()
        .value(":status", s(state.status.as_str()))
        .value(":cancel", b(state.cancel_at_period_end))
        .value(":asof", n(state.as_of))
        .value(":sid", s(&state.stripe_subscription_id));
        if let Some(i) = state.interval {
            sets.push("#interval = :interval");
            expr = expr.value(":interval", s(i.as_str()));
        }
        if let Some(end) = state.current_period_end {
            sets.push("currentPeriodEnd = :end");
            expr = expr.value(":end", n(end.as_second()));
        }
        if state.status == SubscriptionStatus::PastDue {
            sets.push("pastDueSince = if_not_exists(pastDueSince, :now)");
            expr = expr.value(":now", n(now.as_second()));
        } else {
            removes.push("pastDueSince");
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        Expr::update(expression).with(expr)
    }

    pub async fn set_pending_change(&self, user: &UserId, change: Option<&PendingChange>) -> Result<(), StoreError> {
        let expr = match change {
            Some(c) => {
                let expr = match c.interval {
                    Some(i) => Expr::update("SET pendingTier = :t, pendingEffectiveAt = :at, pendingInterval = :i")
                        .value(":i", s(i.as_str())),
                    None => Expr::update("SET pendingTier = :t, pendingEffectiveAt = :at REMOVE pendingInterval"),
                };
                expr.value(":t", s(c.tier.as_str())).value(":at", n(c.effective_at.as_second()))
            }
            None => Expr::update("REMOVE pendingTier, pendingEffectiveAt, pendingInterval"),
        };
        self.update(&sub_key(user), expr.only_if("attribute_exists(PK)")).await
    }

    /// Marks the renewal reminder for the period ending at `period_end` as sent; `false` if it was.
    pub async fn mark_reminded(&self, user: &UserId, period_end: i64) -> Result<bool, StoreError> {
        let expr = Expr::update("SET remindedPeriodEnd = :pe")
            .only_if("attribute_exists(PK) AND (attribute_not_exists(remindedPeriodEnd) OR remindedPeriodEnd <> :pe)")
            .value(":pe", n(period_end));
        self.update(&sub_key(user), expr).await.applied()
    }

    /// A `subscriptions_page` cursor that resumes right after `user`'s subscription, so a job can
    /// checkpoint after any subscription, not only at page ends.
    pub fn subscription_cursor_after(user: &UserId) -> Option<String> {
        cursor_after(sub_key(user), SUBSCRIPTIONS, user)
    }

    /// Every subscription item, a page at a time (a GSI query, never a table scan).
    pub async fn subscriptions_page(
        &self,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<crate::Page<SubscriptionRecord>, StoreError> {
        self.page(Query::gsi1(SUBSCRIPTIONS).limit(limit), cursor).await
    }

    /// The email recorded when the user subscribed (their token's `email` claim).
    pub async fn subscription_email(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        Ok(self.get_item(&sub_key(user), false).await?.and_then(|i| opt_s(&i, "email").map(str::to_string)))
    }

    pub async fn set_subscription_email(&self, user: &UserId, email: &str) -> Result<(), StoreError> {
        let expr = Expr::update("SET email = :e").only_if("attribute_exists(PK)").value(":e", s(email));
        self.update(&sub_key(user), expr).await
    }
}

/// The claim on a user's one live-subscription slot: `USER#<id>` / `SUBSCRIPTION_CLAIM`.
///
/// Invariant: a user has at most one live Stripe subscription that we created. Only the holder of
/// this claim calls Stripe to create one; the claim is taken in the same transaction that checks
/// that the subscription item is not live, and it becomes the subscription item (and is deleted)
/// in one transaction too. A claim carries the Stripe idempotency key and is written into the
/// subscription's metadata (`claimId`), so that what a crashed holder may have created can be found
/// and adopted. Its lease is longer than the create function's timeout: once it has run out the
/// holder is certainly gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotClaim {
    pub claim_id: String,
    pub stripe_key: String,
    pub lease_until: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotOutcome {
    /// This claim holds the slot. `fresh` is false when the same claim held it before (a retry
    /// after a crash): what it may have created must be looked for before creating again.
    Acquired { fresh: bool },
    /// The user has a live subscription.
    Live,
    /// Another claim holds the slot and its lease is running.
    Held(SlotClaim),
    /// Another claim's lease has run out: its holder is gone, but may have created a subscription.
    Expired(SlotClaim),
}

const SUBSCRIPTION_CLAIM: &str = "SUBSCRIPTION_CLAIM";
/// GSI1 partition of the open slot claims.
const SLOT_CLAIMS: &str = "SUBSCRIPTION_CLAIMS";
/// Rounds of reading and taking the slot before giving up (conflicts are retried by `transact`).
const SLOT_ROUNDS: u32 = 8;

from_item! { SlotClaim as "subscriptionClaim", |f| {
    claim_id: f.string("claimId")?, stripe_key: f.string("stripeKey")?, lease_until: f.i64("leaseUntil")?,
    created_at: f.i64("createdAt")?,
} }

/// How a claim may take the slot.
enum Take<'a> {
    /// Nobody holds it.
    New,
    /// This claim held it before (a retry of the same request).
    Again,
    /// Replacing another claim whose lease has run out.
    Replace(&'a str),
}

/// A page of open slot claims: the user and the claim.
struct OpenClaim(UserId, SlotClaim);

impl FromItem for OpenClaim {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Ok(OpenClaim(Fields::of(item, "subscriptionClaim").user("userId")?, SlotClaim::from_item(item)?))
    }
}

impl Store {
    pub async fn get_slot_claim(&self, user: &UserId) -> Result<Option<SlotClaim>, StoreError> {
        self.get(&slot_key(user), true).await
    }

    async fn take_slot(&self, user: &UserId, claim: &SlotClaim, take: &Take<'_>, now: i64) -> Result<(), StoreError> {
        let expr = match take {
            Take::New => Expr::update(
                "SET claimId = :me, stripeKey = :key, leaseUntil = :lease, createdAt = :created, #ttl = :ttl, \
                 userId = :user, #gpk = :gpk, #gsk = :user",
            )
            .only_if("attribute_not_exists(PK)")
            .value(":created", n(claim.created_at)),
            Take::Again => Expr::update(
                "SET stripeKey = :key, leaseUntil = :lease, #ttl = :ttl, userId = :user, #gpk = :gpk, #gsk = :user",
            )
            .only_if("claimId = :me"),
            Take::Replace(old) => Expr::update(
                "SET claimId = :me, stripeKey = :key, leaseUntil = :lease, createdAt = :created, #ttl = :ttl, \
                 userId = :user, #gpk = :gpk, #gsk = :user",
            )
            .only_if("claimId = :old AND leaseUntil < :now")
            .value(":created", n(claim.created_at))
            .value(":old", s(*old))
            .value(":now", n(now)),
        };
        let expr = expr
            .name("#ttl", keys::TTL)
            .value(":me", s(&claim.claim_id))
            .value(":key", s(&claim.stripe_key))
            .value(":lease", n(claim.lease_until))
            // Kept well beyond Stripe's 24 h idempotency window; a finished claim is deleted.
            .value(":ttl", n(now + 30 * 86_400))
            // Every open claim is on GSI1, so the billing cycle can settle the ones left by crashes.
            .name("#gpk", keys::GSI1PK)
            .name("#gsk", keys::GSI1SK)
            .value(":gpk", s(SLOT_CLAIMS))
            .value(":user", s(user.as_str()));
        // [0] no live subscription, [1] the slot as `take` expects it.
        self.transact(vec![self.tx_check(&sub_key(user), not_live())?, self.tx_update(&slot_key(user), expr)?]).await
    }

    /// Takes the slot for `claim` unless the user has a live subscription or another claim holds
    /// it. With `replacing`, takes over that claim, which must have expired — only after checking
    /// with Stripe that it left nothing live behind.
    pub async fn claim_subscription_slot(
        &self,
        user: &UserId,
        claim: &SlotClaim,
        replacing: Option<&str>,
        now: i64,
    ) -> Result<SlotOutcome, StoreError> {
        let mut take = match replacing {
            Some(old) => Take::Replace(old),
            None => Take::New,
        };
        // A failed slot condition is read and answered, so this ends within a few rounds unless
        // the slot keeps changing under us.
        for _ in 0..SLOT_ROUNDS {
            match self.take_slot(user, claim, &take, now).await {
                Ok(()) => return Ok(SlotOutcome::Acquired { fresh: !matches!(take, Take::Again) }),
                Err(e) if e.failed_condition_at(0) => return Ok(SlotOutcome::Live),
                Err(e) if e.failed_condition_at(1) => match self.get_slot_claim(user).await? {
                    Some(held) if held.claim_id == claim.claim_id => take = Take::Again,
                    Some(held) if held.lease_until < now => return Ok(SlotOutcome::Expired(held)),
                    Some(held) => return Ok(SlotOutcome::Held(held)),
                    // Finished or released meanwhile: look again.
                    None => take = Take::New,
                },
                Err(e) => return Err(e),
            }
        }
        Err(kept_changing("the subscription slot"))
    }

    /// Records the subscription created under `claim_id` and frees the slot, in one transaction:
    /// refused (`ConditionFailed`) when a live subscription exists or the claim is not (or no
    /// longer) `claim_id`'s.
    pub async fn finish_subscription_claim(
        &self,
        record: &SubscriptionRecord,
        claim_id: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut item = record_item(record, now);
        item.insert("claimId".into(), s(claim_id));
        let mine = Expr::when("claimId = :me").value(":me", s(claim_id));
        let (report, counted) = self.new_subscription_report(record, now)?;
        let mut writes =
            vec![self.tx_put(item, Some(not_live()))?, self.tx_delete(&slot_key(&record.user_id), Some(mine))?];
        writes.extend(report);
        match self.transact(writes).await {
            Ok(()) => {
                crate::reports::committed(now, MRR_CURRENCY, &counted);
                Ok(())
            }
            Err(e) if e.failed_condition_at(0) || e.failed_condition_at(1) => Err(StoreError::ConditionFailed),
            Err(e) => Err(e),
        }
    }

    /// Open slot claims (running or left by a crash), a page at a time on GSI1.
    pub async fn slot_claims_page(
        &self,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<crate::Page<(UserId, SlotClaim)>, StoreError> {
        let page: crate::Page<OpenClaim> = self.page(Query::gsi1(SLOT_CLAIMS).limit(limit), cursor).await?;
        Ok(crate::Page {
            items: page.items.into_iter().map(|OpenClaim(user, claim)| (user, claim)).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// A `slot_claims_page` cursor that resumes right after `user`'s claim.
    pub fn slot_claim_cursor_after(user: &UserId) -> Option<String> {
        cursor_after(slot_key(user), SLOT_CLAIMS, user)
    }

    /// Deletes `claim_id`'s claim only if its lease has run out (its holder is gone) and it is still
    /// that claim; `false` when it was not deleted.
    pub async fn release_expired_subscription_claim(
        &self,
        user: &UserId,
        claim_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let expired = Expr::when("claimId = :me AND leaseUntil < :now").value(":me", s(claim_id)).value(":now", n(now));
        self.delete(&slot_key(user), Some(expired)).await.applied()
    }

    /// Frees the slot after a create that certainly made nothing (Stripe refused it).
    pub async fn release_subscription_claim(&self, user: &UserId, claim_id: &str) -> Result<(), StoreError> {
        let mine = Expr::when("claimId = :me").value(":me", s(claim_id));
        self.delete(&slot_key(user), Some(mine)).await.or_done()
    }
}
