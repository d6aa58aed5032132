//! Enterprise usage per organisation and month, aggregated as events happen with atomic `ADD`s.
//!
//! Each counted event leaves a marker (`USAGE_EVENT#<eventId>`) written in the same transaction as
//! the counters, so a redelivered event is counted once; the first activity of a member in a month
//! also writes `USAGE_ACTIVE#<month>#<userId>` and adds one active learner, so learners are
//! counted distinctly. Seat activations and releases add to the month inside the seat transaction
//! itself (see `licenses`).

use crate::error::{StoreError, from_sdk, from_transact};
use crate::item::{Item, opt_i64, s};
use crate::licenses::{backoff, build, lost_conflict};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use azora_domain::UserId;
use azora_domain::usage::UsageCounters;
use jiff::Timestamp;

/// `ADD` of the non-zero counters of `delta` (plus one active learner when asked) to the org's
/// month item, creating it when absent.
pub(crate) fn usage_update(
    table: &str,
    org_id: &str,
    month: &str,
    delta: &UsageCounters,
    add_active_learner: bool,
) -> Result<Update, StoreError> {
    let mut delta = *delta;
    if add_active_learner {
        delta.active_learners += 1;
    }
    let mut adds = Vec::new();
    let mut update = Update::builder()
        .table_name(table)
        .key(keys::PK, s(keys::org(org_id)))
        .key(keys::SK, s(keys::usage_month(month)))
        .expression_attribute_values(":month", s(month));
    for (i, (name, value)) in delta.fields().into_iter().enumerate() {
        if value != 0 {
            adds.push(format!("#c{i} :c{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), name)
                .expression_attribute_values(format!(":c{i}"), crate::item::n(value));
        }
    }
    let expression = if adds.is_empty() {
        "SET #month = :month".to_string()
    } else {
        format!("SET #month = :month ADD {}", adds.join(", "))
    };
    build(update.update_expression(expression).expression_attribute_names("#month", "month").build())
}

impl Store {
    /// Counts an event once: adds `delta` to the org's month and, with `learner`, counts them as an
    /// active learner of the month if they were not yet. Returns `false` when the event had been
    /// counted before (nothing written).
    pub async fn record_usage(
        &self,
        org_id: &str,
        event_id: &str,
        delta: &UsageCounters,
        learner: Option<&UserId>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let month = azora_domain::audit::month_of(at);
        let mut count_learner = learner.is_some();
        for attempt in 0..=6 {
            let mut marker = Put::builder()
                .table_name(&self.table)
                .item(keys::PK, s(keys::org(org_id)))
                .item(keys::SK, s(keys::usage_event(event_id)))
                .item("eventId", s(event_id))
                .item("month", s(&month))
                .item("at", s(at.to_string()))
                .item("delta", s(serde_json::to_string(delta).map_err(|e| StoreError::Malformed(e.to_string()))?))
                .condition_expression("attribute_not_exists(PK)");
            if let Some(user) = learner {
                marker = marker.item("userId", s(user.as_str()));
            }
            let mut items = vec![
                TransactWriteItem::builder().put(build(marker.build())?).build(),
                TransactWriteItem::builder()
                    .update(usage_update(&self.table, org_id, &month, delta, count_learner)?)
                    .build(),
            ];
            if let (Some(user), true) = (learner, count_learner) {
                let active = Put::builder()
                    .table_name(&self.table)
                    .item(keys::PK, s(keys::org(org_id)))
                    .item(keys::SK, s(keys::usage_active(&month, user.as_str())))
                    .item("userId", s(user.as_str()))
                    .item("month", s(&month))
                    .condition_expression("attribute_not_exists(PK)");
                items.push(TransactWriteItem::builder().put(build(active.build())?).build());
            }
            match self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(from_transact)
            {
                Ok(_) => return Ok(true),
                Err(e) if e.failed_condition_at(0) => return Ok(false),
                // Already an active learner this month: count the event alone.
                Err(e) if e.failed_condition_at(2) => count_learner = false,
                Err(e) if lost_conflict(&e) && attempt < 6 => backoff(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend { operation: "TransactWriteItems", message: "usage update kept conflicting".into() })
    }

    /// The org's recorded months up to and including `to` (`yyyy-mm`), oldest first.
    pub async fn usage_months(&self, org_id: &str, to: &str) -> Result<Vec<(String, UsageCounters)>, StoreError> {
        let mut months = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :first AND :last")
                .expression_attribute_values(":pk", s(keys::org(org_id)))
                .expression_attribute_values(":first", s(keys::usage_month("0000-00")))
                .expression_attribute_values(":last", s(keys::usage_month(to)))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| from_sdk("Query", e))?;
            for item in out.items() {
                let month = crate::item::get_s(item, "month")?.to_string();
                let mut bad = None;
                let counters = UsageCounters::from_fields(|name| match opt_i64(item, name) {
                    Ok(v) => v.unwrap_or(0),
                    Err(e) => {
                        bad = Some(e);
                        0
                    }
                });
                if let Some(e) = bad {
                    return Err(e);
                }
                months.push((month, counters));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(months),
            }
        }
    }
}
