//! One Stripe customer per user: `USER#<id>` / `STRIPE_CUSTOMER`.

use crate::error::StoreError;
use crate::item::{Fields, s};
use crate::table::{Key, key};
use crate::{Store, keys};
use azora_domain::UserId;

fn customer_key(user: &UserId) -> Key {
    key(keys::user(user.as_str()), keys::STRIPE_CUSTOMER)
}

impl Store {
    pub async fn get_stripe_customer(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        let item = self.get_item(&customer_key(user), false).await?;
        item.map(|i| Fields::of(&i, "customer").string("customerId")).transpose()
    }

    /// Records the user's Stripe customer unless one is recorded already; returns the one kept.
    pub async fn keep_stripe_customer(&self, user: &UserId, customer_id: &str) -> Result<String, StoreError> {
        match self.put_new(customer_key(user).item([("customerId", s(customer_id))])).await {
            Ok(()) => Ok(customer_id.to_string()),
            Err(StoreError::ConditionFailed) => {
                self.get_stripe_customer(user).await?.ok_or_else(|| StoreError::Malformed("customer vanished".into()))
            }
            Err(e) => Err(e),
        }
    }
}
