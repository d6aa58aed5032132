//! The sandbox's state: every Stripe object by id (as the JSON Stripe would answer), the events,
//! the idempotency cache, the request log and the webhook configuration.
//!
//! Objects of all resources share one map keyed by id; an object's type is its `object` field.
//! A resource that needs hidden state (not part of Stripe's JSON) keeps it in
//! [`StoredObject::internal`]. Objects created under a `Stripe-Account` header belong to that
//! account and are invisible to the platform and to other accounts, as on Stripe.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::records::{DeliveryAttempt, RecordedRequest, SandboxConfig};

/// The Stripe API version async-stripe 1.0.0-rc.10 pins; every object is rendered in it.
pub const API_VERSION: &str = "2026-09-30.endive";

#[derive(Debug, Clone)]
pub struct StoredObject {
    /// Insertion order, for lists (newest first).
    pub seq: u64,
    /// The connected account (`Stripe-Account`) that owns the object; `None` for the platform.
    pub account: Option<String>,
    pub value: Value,
    /// Hidden per-object state of the sandbox (never rendered).
    pub internal: Map<String, Value>,
}

/// Who caused an event: the API request (`request.id`, `request.idempotency_key`) or nothing
/// (asynchronous transitions such as a completed 3-D Secure challenge).
#[derive(Debug, Clone, Default)]
pub struct EventSource {
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub account: Option<String>,
    /// The event's `created`, exactly, for objects that live on a test clock (their time is the
    /// clock's frozen time); `None`: the sandbox clock, strictly increasing across events.
    pub at: Option<i64>,
}

impl EventSource {
    /// The same source with events dated `at` (a test clock's time) when given.
    pub fn at(&self, at: Option<i64>) -> EventSource {
        EventSource { at, ..self.clone() }
    }
}

/// A saved idempotent result.
#[derive(Debug, Clone)]
pub struct IdempotentResult {
    pub fingerprint: String,
    pub status: u16,
    pub body: Value,
    pub request_id: String,
}

#[derive(Debug)]
pub struct Store {
    objects: HashMap<String, StoredObject>,
    /// Ids by object type, in insertion order (an object keeps its type for life).
    by_kind: HashMap<String, Vec<String>>,
    seq: u64,
    events: Vec<Value>,
    event_index: HashMap<String, usize>,
    event_accounts: Vec<Option<String>>,
    last_event_created: i64,
    /// Keyed by (secret key [+ `/` + Stripe-Account], idempotency key).
    pub idempotency: HashMap<(String, String), IdempotentResult>,
    pub requests: Vec<RecordedRequest>,
    pub deliveries: Vec<DeliveryAttempt>,
    pub config: SandboxConfig,
    /// Ids of events created since the server last handed them to the delivery worker.
    outbox: Vec<String>,
    /// Seconds the sandbox clock runs ahead of the real one (`POST /_sandbox/clock/advance`).
    clock_offset: i64,
    /// TXT records served by the DNS-over-HTTPS stand-in (`crate::dns`), by lower-case name.
    pub dns_txt: HashMap<String, Vec<String>>,
}

pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Store {
    pub fn new(config: SandboxConfig) -> Self {
        Self {
            objects: HashMap::new(),
            by_kind: HashMap::new(),
            seq: 0,
            events: Vec::new(),
            event_index: HashMap::new(),
            event_accounts: Vec::new(),
            last_event_created: 0,
            idempotency: HashMap::new(),
            requests: Vec::new(),
            deliveries: Vec::new(),
            config,
            outbox: Vec::new(),
            clock_offset: 0,
            dns_txt: HashMap::new(),
        }
    }

    /// Forgets every object, event, request, delivery and idempotent result; keeps the config.
    pub fn reset(&mut self) {
        let config = self.config.clone();
        *self = Store::new(config);
    }

    /// The sandbox's clock (unix seconds): real time plus the offset the control API advanced it
    /// by. Objects on a test clock use the clock's `frozen_time` instead (see `billing`).
    pub fn now(&self) -> i64 {
        unix_now() + self.clock_offset
    }

    /// How far the sandbox clock runs ahead of real time.
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset
    }

    /// Moves the sandbox clock forward so that [`Store::now`] is at least `to`.
    pub fn advance_clock_to(&mut self, to: i64) {
        let ahead = to - unix_now();
        if ahead > self.clock_offset {
            self.clock_offset = ahead;
        }
    }

    /// The ids of every stored object of `kind` (any account), oldest first.
    pub fn ids_of_kind(&self, kind: &str) -> Vec<String> {
        self.by_kind.get(kind).cloned().unwrap_or_default()
    }

    /// Inserts or replaces the object with the value's `id`.
    pub fn put(&mut self, value: Value, account: Option<&str>) -> ApiResult<()> {
        let id = value
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::internal("object without an id"))?
            .to_string();
        match self.objects.get_mut(&id) {
            Some(existing) => existing.value = value,
            None => {
                self.seq += 1;
                let kind = value.get("object").and_then(Value::as_str).unwrap_or("").to_string();
                self.by_kind.entry(kind).or_default().push(id.clone());
                self.objects.insert(
                    id,
                    StoredObject { seq: self.seq, account: account.map(str::to_string), value, internal: Map::new() },
                );
            }
        }
        Ok(())
    }

    pub fn stored(&self, id: &str) -> Option<&StoredObject> {
        self.objects.get(id)
    }

    pub fn stored_mut(&mut self, id: &str) -> Option<&mut StoredObject> {
        self.objects.get_mut(id)
    }

    /// The object `id` of type `kind`, visible to `account`.
    pub fn find(&self, kind: &str, id: &str, account: Option<&str>) -> Option<&Value> {
        self.objects
            .get(id)
            .filter(|o| o.account.as_deref() == account)
            .map(|o| &o.value)
            .filter(|v| v.get("object").and_then(Value::as_str) == Some(kind))
    }

    /// Any object with this id visible to `account` (for `expand`).
    pub fn find_any(&self, id: &str, account: Option<&str>) -> Option<&Value> {
        self.objects.get(id).filter(|o| o.account.as_deref() == account).map(|o| &o.value)
    }

    /// Objects of `kind` visible to `account`, newest first.
    pub fn list(&self, kind: &str, account: Option<&str>) -> Vec<&Value> {
        let mut items: Vec<&StoredObject> = self
            .objects
            .values()
            .filter(|o| o.account.as_deref() == account)
            .filter(|o| o.value.get("object").and_then(Value::as_str) == Some(kind))
            .filter(|o| o.value.get("deleted") != Some(&Value::Bool(true)))
            .collect();
        items.sort_by_key(|o| std::cmp::Reverse(o.seq));
        items.into_iter().map(|o| &o.value).collect()
    }

    /// Records an event about `object` (a snapshot is taken now) and queues it for delivery.
    pub fn emit(
        &mut self,
        source: &EventSource,
        event_type: &str,
        object: &Value,
        previous_attributes: Option<Value>,
    ) -> String {
        let created = match source.at {
            Some(at) => at,
            None => {
                let created = self.now().max(self.last_event_created + 1);
                self.last_event_created = created;
                created
            }
        };
        let id = ids::new_id("evt");
        let mut data = Map::new();
        data.insert("object".into(), object.clone());
        if let Some(previous) = previous_attributes {
            data.insert("previous_attributes".into(), previous);
        }
        let pending = i64::from(self.config.auto_deliver && self.config.webhook_url.is_some());
        let mut event = json!({
            "id": id,
            "object": "event",
            "api_version": API_VERSION,
            "created": created,
            "data": data,
            "livemode": false,
            "pending_webhooks": pending,
            "request": {
                "id": source.request_id,
                "idempotency_key": source.idempotency_key,
            },
            "type": event_type,
        });
        if let (Some(account), Some(obj)) = (&source.account, event.as_object_mut()) {
            obj.insert("account".into(), Value::String(account.clone()));
        }
        self.event_index.insert(id.clone(), self.events.len());
        self.events.push(event);
        self.event_accounts.push(source.account.clone());
        self.outbox.push(id.clone());
        id
    }

    /// Every event, oldest first.
    pub fn events(&self) -> &[Value] {
        &self.events
    }

    pub fn event(&self, id: &str) -> Option<&Value> {
        self.event_index.get(id).and_then(|&i| self.events.get(i))
    }

    /// Events visible to `account`, newest first.
    pub fn events_for(&self, account: Option<&str>) -> Vec<&Value> {
        self.events
            .iter()
            .zip(&self.event_accounts)
            .rev()
            .filter(|(_, a)| a.as_deref() == account)
            .map(|(e, _)| e)
            .collect()
    }

    pub fn event_for(&self, id: &str, account: Option<&str>) -> Option<&Value> {
        let i = *self.event_index.get(id)?;
        if self.event_accounts.get(i).map(Option::as_deref) == Some(account) { self.events.get(i) } else { None }
    }

    /// A successful automatic delivery lowers the event's `pending_webhooks`.
    pub fn mark_delivered(&mut self, id: &str) {
        if let Some(event) = self.event_index.get(id).and_then(|&i| self.events.get_mut(i))
            && let Some(pending) = event.get("pending_webhooks").and_then(Value::as_i64)
            && pending > 0
        {
            event["pending_webhooks"] = json!(pending - 1);
        }
    }

    /// Logs a request; a long-running sandbox keeps the newest [`LOG_LIMIT`].
    pub fn record_request(&mut self, request: RecordedRequest) {
        self.requests.push(request);
        trim(&mut self.requests);
    }

    /// Logs a delivery attempt; a long-running sandbox keeps the newest [`LOG_LIMIT`].
    pub fn record_delivery(&mut self, attempt: DeliveryAttempt) {
        self.deliveries.push(attempt);
        trim(&mut self.deliveries);
    }

    pub fn take_outbox(&mut self) -> Vec<String> {
        std::mem::take(&mut self.outbox)
    }
}

/// How many requests and delivery attempts the logs keep.
pub const LOG_LIMIT: usize = 10_000;

fn trim<T>(log: &mut Vec<T>) {
    // Trim in batches so a full log does not shift on every entry.
    if log.len() > LOG_LIMIT + LOG_LIMIT / 10 {
        let excess = log.len() - LOG_LIMIT;
        log.drain(..excess);
    }
}

/// `previous_attributes` of an `*.updated` event: the old values of the top-level fields that
/// changed (`None` when nothing changed).
pub fn previous_attributes(old: &Value, new: &Value) -> Option<Value> {
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return None;
    };
    let changed: Map<String, Value> =
        old.iter().filter(|(k, v)| new.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if changed.is_empty() { None } else { Some(Value::Object(changed)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SandboxConfig {
        SandboxConfig {
            webhook_url: None,
            webhook_secret: "whsec_x".into(),
            auto_deliver: true,
            retry_delays_ms: vec![],
            available_after_seconds: 0,
            invoice_retry_days: vec![3, 2, 2],
            invoice_retry_end: "past_due".into(),
        }
    }

    #[test]
    fn event_times_strictly_increase() {
        let mut store = Store::new(config());
        let source = EventSource::default();
        let ids: Vec<String> = (0..5).map(|_| store.emit(&source, "customer.created", &json!({}), None)).collect();
        let times: Vec<i64> = ids.iter().filter_map(|id| store.event(id).and_then(|e| e["created"].as_i64())).collect();
        assert_eq!(times.len(), 5);
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
        assert_eq!(store.take_outbox(), ids);
    }

    #[test]
    fn objects_are_scoped_to_accounts() {
        let mut store = Store::new(config());
        let _ = store.put(json!({"id": "cus_1", "object": "customer"}), Some("acct_1"));
        assert!(store.find("customer", "cus_1", None).is_none());
        assert!(store.find("customer", "cus_1", Some("acct_1")).is_some());
        assert!(store.find("charge", "cus_1", Some("acct_1")).is_none());
    }

    #[test]
    fn previous_attributes_lists_changed_fields() {
        let old = json!({"a": 1, "b": {"x": 1}, "c": 3});
        let new = json!({"a": 1, "b": {"x": 2}, "c": 4});
        assert_eq!(previous_attributes(&old, &new), Some(json!({"b": {"x": 1}, "c": 3})));
        assert_eq!(previous_attributes(&old, &old), None);
    }
}
