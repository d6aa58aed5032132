//! A user's subscription item: `USER#<id>` / `SUBSCRIPTION`.

use crate::cursor::PartitionPage;
use crate::error::{StoreError, from_sdk, from_transact};
use crate::item::{Item, get_bool, get_i64, get_s, n, opt_i64, opt_s, s};
use crate::licenses::{backoff, build, lost_conflict};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::builders::PutBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};
use azora_domain::subscription::{BillingInterval, PendingChange, Subscription, SubscriptionStatus};
use azora_domain::{Tier, UserId};
use jiff::Timestamp;

impl Store {
    /// The user's subscription, or `None` when they never had one (they are on Free).
    pub async fn get_subscription(&self, user: &UserId) -> Result<Option<Subscription>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::SUBSCRIPTION))
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(subscription_from_item).transpose()
    }

    /// Writes the subscription as given. Lifecycle writes with ordering guards come with billing.
    pub async fn put_subscription(&self, user: &UserId, sub: &Subscription) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::user(user.as_str())))
            .item(keys::SK, s(keys::SUBSCRIPTION))
            .item("tier", s(sub.tier.as_str()))
            .item("status", s(sub.status.as_str()))
            .item("cancelAtPeriodEnd", crate::item::b(sub.cancel_at_period_end));
        if let Some(interval) = sub.interval {
            req = req.item("interval", s(interval.as_str()));
        }
        if let Some(end) = sub.current_period_end {
            req = req.item("currentPeriodEnd", n(end.as_second()));
        }
        req.send().await.map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }
}

fn subscription_from_item(item: &Item) -> Result<Subscription, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("subscription.{what}"));
    Ok(Subscription {
        tier: Tier::parse(get_s(item, "tier")?).ok_or_else(|| malformed("tier"))?,
        status: SubscriptionStatus::parse(get_s(item, "status")?).ok_or_else(|| malformed("status"))?,
        interval: opt_s(item, "interval")
            .map(|i| BillingInterval::parse(i).ok_or_else(|| malformed("interval")))
            .transpose()?,
        current_period_end: opt_i64(item, "currentPeriodEnd")?
            .map(|secs| Timestamp::from_second(secs).map_err(|_| malformed("currentPeriodEnd")))
            .transpose()?,
        cancel_at_period_end: get_bool(item, "cancelAtPeriodEnd"),
    })
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
    /// The Stripe event's `created` (or the fetch time): older states never overwrite newer ones.
    pub as_of: i64,
}

const SUBSCRIPTIONS: &str = "SUBSCRIPTIONS";

pub(crate) fn record_from_item(item: &Item) -> Result<SubscriptionRecord, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("subscription.{what}"));
    let pending = match opt_s(item, "pendingTier") {
        None => None,
        Some(tier) => Some(PendingChange {
            tier: Tier::parse(tier).ok_or_else(|| malformed("pendingTier"))?,
            interval: opt_s(item, "pendingInterval").and_then(BillingInterval::parse),
            effective_at: opt_i64(item, "pendingEffectiveAt")?
                .and_then(|t| Timestamp::from_second(t).ok())
                .ok_or_else(|| malformed("pendingEffectiveAt"))?,
        }),
    };
    Ok(SubscriptionRecord {
        user_id: UserId::parse(
            opt_s(item, "userId")
                .or_else(|| opt_s(item, keys::PK).and_then(|pk| pk.strip_prefix("USER#")))
                .unwrap_or_default(),
        )
        .map_err(|_| malformed("userId"))?,
        subscription: subscription_from_item(item)?,
        stripe_subscription_id: opt_s(item, "stripeSubscriptionId").map(str::to_string),
        stripe_customer_id: opt_s(item, "stripeCustomerId").map(str::to_string),
        pending_change: pending,
        past_due_since: opt_i64(item, "pastDueSince")?.and_then(|t| Timestamp::from_second(t).ok()),
        reminded_period_end: opt_i64(item, "remindedPeriodEnd")?,
    })
}

/// The subscription item of a new subscription, written only where no live one exists.
fn subscription_put(table: &str, record: &SubscriptionRecord, now: Timestamp) -> PutBuilder {
    let sub = &record.subscription;
    let mut put = Put::builder()
        .table_name(table)
        .item(keys::PK, s(keys::user(record.user_id.as_str())))
        .item(keys::SK, s(keys::SUBSCRIPTION))
        .item(keys::GSI1PK, s(SUBSCRIPTIONS))
        .item(keys::GSI1SK, s(record.user_id.as_str()))
        .item("userId", s(record.user_id.as_str()))
        .item("tier", s(sub.tier.as_str()))
        .item("status", s(sub.status.as_str()))
        .item("cancelAtPeriodEnd", crate::item::b(sub.cancel_at_period_end))
        .item("stripeUpdatedAt", n(now.as_second()))
        .condition_expression("attribute_not_exists(PK) OR #status = :canceled")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":canceled", s(SubscriptionStatus::Canceled.as_str()));
    if let Some(i) = sub.interval {
        put = put.item("interval", s(i.as_str()));
    }
    if let Some(end) = sub.current_period_end {
        put = put.item("currentPeriodEnd", n(end.as_second()));
    }
    if let Some(id) = &record.stripe_subscription_id {
        put = put.item("stripeSubscriptionId", s(id));
    }
    if let Some(id) = &record.stripe_customer_id {
        put = put.item("stripeCustomerId", s(id));
    }
    put
}

impl Store {
    pub async fn get_subscription_record(&self, user: &UserId) -> Result<Option<SubscriptionRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::SUBSCRIPTION))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(record_from_item).transpose()
    }

    /// Records a new Stripe subscription; refused (`ConditionFailed`) while a live one exists.
    pub async fn start_subscription(&self, record: &SubscriptionRecord, now: Timestamp) -> Result<(), StoreError> {
        let put = build(subscription_put(&self.table, record, now).build())?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await
            .map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }

    /// Applies Stripe's state unless a newer one was applied already. Entering `past_due` starts
    /// the grace clock at `now` (when we learn of it); leaving it stops it. Returns whether
    /// anything was written.
    pub async fn apply_stripe_state(
        &self,
        user: &UserId,
        state: &StripeSubscriptionState,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut sets = vec!["#status = :status", "cancelAtPeriodEnd = :cancel", "stripeUpdatedAt = :asof"];
        let mut removes = Vec::new();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::SUBSCRIPTION))
            .condition_expression(
                "stripeSubscriptionId = :sid AND (attribute_not_exists(stripeUpdatedAt) OR stripeUpdatedAt <= :asof)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(state.status.as_str()))
            .expression_attribute_values(":cancel", crate::item::b(state.cancel_at_period_end))
            .expression_attribute_values(":asof", n(state.as_of))
            .expression_attribute_values(":sid", s(&state.stripe_subscription_id));
        if let Some(i) = state.interval {
            sets.push("#interval = :interval");
            req = req
                .expression_attribute_names("#interval", "interval")
                .expression_attribute_values(":interval", s(i.as_str()));
        }
        if let Some(end) = state.current_period_end {
            sets.push("currentPeriodEnd = :end");
            req = req.expression_attribute_values(":end", n(end.as_second()));
        }
        if state.status == SubscriptionStatus::PastDue {
            sets.push("pastDueSince = if_not_exists(pastDueSince, :now)");
            req = req.expression_attribute_values(":now", n(now.as_second()));
        } else {
            removes.push("pastDueSince");
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        match req.update_expression(expression).send().await.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn set_pending_change(&self, user: &UserId, change: Option<&PendingChange>) -> Result<(), StoreError> {
        let req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::SUBSCRIPTION));
        let req = match change {
            Some(c) => {
                let mut r = req
                    .update_expression("SET pendingTier = :t, pendingEffectiveAt = :at REMOVE pendingInterval")
                    .expression_attribute_values(":t", s(c.tier.as_str()))
                    .expression_attribute_values(":at", n(c.effective_at.as_second()));
                if let Some(i) = c.interval {
                    r = r
                        .update_expression("SET pendingTier = :t, pendingEffectiveAt = :at, pendingInterval = :i")
                        .expression_attribute_values(":i", s(i.as_str()));
                }
                r
            }
            None => req.update_expression("REMOVE pendingTier, pendingEffectiveAt, pendingInterval"),
        };
        req.condition_expression("attribute_exists(PK)").send().await.map_err(|e| from_sdk("UpdateItem", e))?;
        Ok(())
    }

    /// Marks the renewal reminder for the period ending at `period_end` as sent; `false` if it was.
    pub async fn mark_reminded(&self, user: &UserId, period_end: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::SUBSCRIPTION))
            .update_expression("SET remindedPeriodEnd = :pe")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(remindedPeriodEnd) OR remindedPeriodEnd <> :pe)",
            )
            .expression_attribute_values(":pe", n(period_end))
            .send()
            .await;
        match result.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A `subscriptions_page` cursor that resumes right after `user`'s subscription, so a job can
    /// checkpoint after any subscription, not only at page ends.
    pub fn subscription_cursor_after(user: &UserId) -> Option<String> {
        let key: Item = [
            (keys::PK, s(keys::user(user.as_str()))),
            (keys::SK, s(keys::SUBSCRIPTION)),
            (keys::GSI1PK, s(SUBSCRIPTIONS)),
            (keys::GSI1SK, s(user.as_str())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        crate::cursor::encode(Some(&key))
    }

    /// Every subscription item, a page at a time (a GSI query, never a table scan).
    pub async fn subscriptions_page(
        &self,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<crate::Page<SubscriptionRecord>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: true,
                partition: SUBSCRIPTIONS,
                sort_prefix: None,
                newest_first: false,
                consistent: false,
                limit,
                cursor,
            },
            record_from_item,
        )
        .await
    }
}

impl Store {
    /// The email recorded when the user subscribed (their token's `email` claim).
    pub async fn subscription_email(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::SUBSCRIPTION))
            .projection_expression("email")
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        Ok(out.item.as_ref().and_then(|i| opt_s(i, "email")).map(str::to_string))
    }

    pub async fn set_subscription_email(&self, user: &UserId, email: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::SUBSCRIPTION))
            .update_expression("SET email = :e")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":e", s(email))
            .send()
            .await
            .map_err(|e| from_sdk("UpdateItem", e))?;
        Ok(())
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
const SLOT_CONFLICT_RETRIES: u32 = 8;

fn slot_claim_from_item(item: &Item) -> Result<SlotClaim, StoreError> {
    Ok(SlotClaim {
        claim_id: get_s(item, "claimId")?.to_string(),
        stripe_key: get_s(item, "stripeKey")?.to_string(),
        lease_until: get_i64(item, "leaseUntil")?,
        created_at: get_i64(item, "createdAt")?,
    })
}

/// How a claim may take the slot.
enum Take<'a> {
    /// Nobody holds it.
    New,
    /// This claim held it before (a retry of the same request).
    Again,
    /// Replacing another claim whose lease has run out.
    Replace(&'a str),
}

impl Store {
    fn not_live_check(&self, user: &UserId) -> Result<ConditionCheck, StoreError> {
        build(
            ConditionCheck::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::user(user.as_str())))
                .key(keys::SK, s(keys::SUBSCRIPTION))
                .condition_expression("attribute_not_exists(PK) OR #status = :canceled")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":canceled", s(SubscriptionStatus::Canceled.as_str()))
                .build(),
        )
    }

    fn slot_key(&self, user: &UserId) -> [(&'static str, AttributeValue); 2] {
        [(keys::PK, s(keys::user(user.as_str()))), (keys::SK, s(SUBSCRIPTION_CLAIM))]
    }

    pub async fn get_slot_claim(&self, user: &UserId) -> Result<Option<SlotClaim>, StoreError> {
        let [(pk, pkv), (sk, skv)] = self.slot_key(user);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(pk, pkv)
            .key(sk, skv)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(slot_claim_from_item).transpose()
    }

    async fn take_slot(&self, user: &UserId, claim: &SlotClaim, take: &Take<'_>, now: i64) -> Result<(), StoreError> {
        let [(pk, pkv), (sk, skv)] = self.slot_key(user);
        let update = Update::builder()
            .table_name(&self.table)
            .key(pk, pkv)
            .key(sk, skv)
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":me", s(&claim.claim_id))
            .expression_attribute_values(":key", s(&claim.stripe_key))
            .expression_attribute_values(":lease", n(claim.lease_until))
            // Kept well beyond Stripe's 24 h idempotency window; a finished claim is deleted.
            .expression_attribute_values(":ttl", n(now + 30 * 86_400))
            // Every open claim is on GSI1, so the billing cycle can settle the ones left by crashes.
            .expression_attribute_names("#gpk", keys::GSI1PK)
            .expression_attribute_names("#gsk", keys::GSI1SK)
            .expression_attribute_values(":gpk", s(SLOT_CLAIMS))
            .expression_attribute_values(":user", s(user.as_str()));
        let update = match take {
            Take::New => update
                .update_expression(
                    "SET claimId = :me, stripeKey = :key, leaseUntil = :lease, createdAt = :created, #ttl = :ttl, \
                     userId = :user, #gpk = :gpk, #gsk = :user",
                )
                .condition_expression("attribute_not_exists(PK)")
                .expression_attribute_values(":created", n(claim.created_at)),
            Take::Again => update
                .update_expression(
                    "SET stripeKey = :key, leaseUntil = :lease, #ttl = :ttl, userId = :user, #gpk = :gpk, #gsk = :user",
                )
                .condition_expression("claimId = :me"),
            Take::Replace(old) => update
                .update_expression(
                    "SET claimId = :me, stripeKey = :key, leaseUntil = :lease, createdAt = :created, #ttl = :ttl, \
                     userId = :user, #gpk = :gpk, #gsk = :user",
                )
                .condition_expression("claimId = :old AND leaseUntil < :now")
                .expression_attribute_values(":created", n(claim.created_at))
                .expression_attribute_values(":old", s(*old))
                .expression_attribute_values(":now", n(now)),
        };
        let update = build(update.build())?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(self.not_live_check(user)?).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .send()
            .await
            .map_err(from_transact)?;
        Ok(())
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
        for attempt in 0..=SLOT_CONFLICT_RETRIES {
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
                Err(e) if lost_conflict(&e) && attempt < SLOT_CONFLICT_RETRIES => backoff(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend { operation: "TransactWriteItems", message: "subscription slot kept changing".into() })
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
        let [(pk, pkv), (sk, skv)] = self.slot_key(&record.user_id);
        let release = build(
            Delete::builder()
                .table_name(&self.table)
                .key(pk, pkv)
                .key(sk, skv)
                .condition_expression("claimId = :me")
                .expression_attribute_values(":me", s(claim_id))
                .build(),
        )?;
        let put = build(subscription_put(&self.table, record, now).item("claimId", s(claim_id)).build())?;
        for attempt in 0..=SLOT_CONFLICT_RETRIES {
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put.clone()).build())
                .transact_items(TransactWriteItem::builder().delete(release.clone()).build())
                .send()
                .await
                .map_err(from_transact);
            match result {
                Ok(_) => return Ok(()),
                Err(e) if e.failed_condition_at(0) || e.failed_condition_at(1) => {
                    return Err(StoreError::ConditionFailed);
                }
                // Racing creates check these items in their own transactions: try again.
                Err(e) if lost_conflict(&e) && attempt < SLOT_CONFLICT_RETRIES => backoff(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend {
            operation: "TransactWriteItems",
            message: "recording the subscription kept conflicting".into(),
        })
    }

    /// Open slot claims (running or left by a crash), a page at a time on GSI1.
    pub async fn slot_claims_page(
        &self,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<crate::Page<(UserId, SlotClaim)>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: true,
                partition: SLOT_CLAIMS,
                sort_prefix: None,
                newest_first: false,
                consistent: false,
                limit,
                cursor,
            },
            |item| {
                let user = UserId::parse(get_s(item, "userId")?)
                    .map_err(|_| StoreError::Malformed("subscription claim userId".into()))?;
                Ok((user, slot_claim_from_item(item)?))
            },
        )
        .await
    }

    /// A `slot_claims_page` cursor that resumes right after `user`'s claim.
    pub fn slot_claim_cursor_after(user: &UserId) -> Option<String> {
        let key: Item = [
            (keys::PK, s(keys::user(user.as_str()))),
            (keys::SK, s(SUBSCRIPTION_CLAIM)),
            (keys::GSI1PK, s(SLOT_CLAIMS)),
            (keys::GSI1SK, s(user.as_str())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        crate::cursor::encode(Some(&key))
    }

    /// Deletes `claim_id`'s claim only if its lease has run out (its holder is gone) and it is still
    /// that claim; `false` when it was not deleted.
    pub async fn release_expired_subscription_claim(
        &self,
        user: &UserId,
        claim_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let [(pk, pkv), (sk, skv)] = self.slot_key(user);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(pk, pkv)
            .key(sk, skv)
            .condition_expression("claimId = :me AND leaseUntil < :now")
            .expression_attribute_values(":me", s(claim_id))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result.map_err(|e| from_sdk("DeleteItem", e)) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Frees the slot after a create that certainly made nothing (Stripe refused it).
    pub async fn release_subscription_claim(&self, user: &UserId, claim_id: &str) -> Result<(), StoreError> {
        let [(pk, pkv), (sk, skv)] = self.slot_key(user);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(pk, pkv)
            .key(sk, skv)
            .condition_expression("claimId = :me")
            .expression_attribute_values(":me", s(claim_id))
            .send()
            .await;
        match result.map_err(|e| from_sdk("DeleteItem", e)) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
