//! Webhook deliveries seen, by Stripe event id, so a redelivered event is enqueued once.

use crate::error::StoreError;
use crate::item::{n, s};
use crate::table::{Key, Outcome, key};
use crate::{Store, keys};

const KEEP_SECONDS: i64 = 30 * 24 * 3600;

fn event_key(event_id: &str) -> Key {
    key(keys::stripe_event(event_id), "EVENT")
}

impl Store {
    /// Records the event; `false` when it was recorded before (a duplicate delivery).
    pub async fn record_stripe_event(&self, event_id: &str, event_type: &str, now: i64) -> Result<bool, StoreError> {
        let item = event_key(event_id).item([
            ("type", s(event_type)),
            ("receivedAt", n(now)),
            (keys::TTL, n(now + KEEP_SECONDS)),
        ]);
        self.put_new(item).await.applied()
    }

    /// Forgets an event whose enqueueing failed, so Stripe's retry is accepted.
    pub async fn forget_stripe_event(&self, event_id: &str) -> Result<(), StoreError> {
        self.delete(&event_key(event_id), None).await
    }

    /// Whether a delivery of this event was recorded (and so enqueued).
    pub async fn stripe_event_recorded(&self, event_id: &str) -> Result<bool, StoreError> {
        Ok(self.get_item(&event_key(event_id), true).await?.is_some())
    }
}
