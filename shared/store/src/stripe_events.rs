//! Webhook deliveries seen, by Stripe event id, so a redelivered event is enqueued once.

use crate::error::{StoreError, from_sdk};
use crate::item::{n, s};
use crate::{Store, keys};

const KEEP_SECONDS: i64 = 30 * 24 * 3600;

impl Store {
    /// Records the event; `false` when it was recorded before (a duplicate delivery).
    pub async fn record_stripe_event(&self, event_id: &str, event_type: &str, now: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::stripe_event(event_id)))
            .item(keys::SK, s("EVENT"))
            .item("type", s(event_type))
            .item("receivedAt", n(now))
            .item(keys::TTL, n(now + KEEP_SECONDS))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result.map_err(|e| from_sdk("PutItem", e)) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Forgets an event whose enqueueing failed, so Stripe's retry is accepted.
    pub async fn forget_stripe_event(&self, event_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::stripe_event(event_id)))
            .key(keys::SK, s("EVENT"))
            .send()
            .await
            .map_err(|e| from_sdk("DeleteItem", e))?;
        Ok(())
    }

    /// Whether a delivery of this event was recorded (and so enqueued).
    pub async fn stripe_event_recorded(&self, event_id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::stripe_event(event_id)))
            .key(keys::SK, s("EVENT"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        Ok(out.item.is_some())
    }
}
