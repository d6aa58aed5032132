//! A user's subscription item: `USER#<id>` / `SUBSCRIPTION`.

use crate::error::{StoreError, from_sdk};
use crate::item::{Item, get_bool, get_s, n, opt_i64, opt_s, s};
use crate::{Store, keys};
use azora_domain::subscription::{BillingInterval, Subscription, SubscriptionStatus};
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
