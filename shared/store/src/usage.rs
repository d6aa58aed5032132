//! Enterprise usage per organisation and month, aggregated as events happen with atomic `ADD`s.
//!
//! Each counted event leaves a marker (`USAGE_EVENT#<eventId>`) written in the same transaction as
//! the counters, so a redelivered event is counted once; the first activity of a member in a month
//! also writes `USAGE_ACTIVE#<month>#<userId>` and adds one active learner, so learners are
//! counted distinctly. Seat activations and releases add to the month inside the seat transaction
//! itself (see `licenses`).

use crate::error::StoreError;
use crate::item::{Fields, json, n, s, ts};
use crate::table::{Expr, Query, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use azora_domain::UserId;
use azora_domain::usage::UsageCounters;
use jiff::Timestamp;

/// `ADD` of the non-zero counters of `delta` (plus one active learner when asked) to the org's
/// month item, creating it when absent.
pub(crate) fn usage_update(
    store: &Store,
    org_id: &str,
    month: &str,
    delta: &UsageCounters,
    add_active_learner: bool,
) -> Result<TransactWriteItem, StoreError> {
    let mut delta = *delta;
    if add_active_learner {
        delta.active_learners += 1;
    }
    let mut adds = Vec::new();
    let mut expr = Expr::default().name("#month", "month").value(":month", s(month));
    for (i, (name, value)) in delta.fields().into_iter().enumerate() {
        if value != 0 {
            adds.push(format!("#c{i} :c{i}"));
            expr = expr.name(format!("#c{i}"), name).value(format!(":c{i}"), n(value));
        }
    }
    let expression = if adds.is_empty() {
        "SET #month = :month".to_string()
    } else {
        format!("SET #month = :month ADD {}", adds.join(", "))
    };
    store.tx_update(&key(keys::org(org_id), keys::usage_month(month)), Expr::update(expression).with(expr))
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
        let mut marker = key(keys::org(org_id), keys::usage_event(event_id)).item([
            ("eventId", s(event_id)),
            ("month", s(&month)),
            ("at", ts(at)),
            ("delta", json(delta)?),
        ]);
        if let Some(user) = learner {
            marker.insert("userId".into(), s(user.as_str()));
        }
        // [0] the event's marker (counted once), [1] the counters, [2] the learner's first
        // activity this month (counted once per month).
        let mut items =
            vec![self.tx_new(marker.clone())?, usage_update(self, org_id, &month, delta, learner.is_some())?];
        if let Some(user) = learner {
            let active = key(keys::org(org_id), keys::usage_active(&month, user.as_str()))
                .item([("userId", s(user.as_str())), ("month", s(&month))]);
            items.push(self.tx_new(active)?);
        }
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if e.failed_condition_at(0) => Ok(false),
            // Already an active learner this month: count the event alone.
            Err(e) if e.failed_condition_at(2) => {
                let items = vec![self.tx_new(marker)?, usage_update(self, org_id, &month, delta, false)?];
                match self.transact(items).await {
                    Ok(()) => Ok(true),
                    Err(e) if e.failed_condition_at(0) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The org's recorded months up to and including `to` (`yyyy-mm`), oldest first.
    pub async fn usage_months(&self, org_id: &str, to: &str) -> Result<Vec<(String, UsageCounters)>, StoreError> {
        let q = Query::partition(keys::org(org_id))
            .sort_key("SK BETWEEN :first AND :sk", s(keys::usage_month(to)))
            .value(":first", s(keys::usage_month("0000-00")))
            .consistent();
        let mut months = Vec::new();
        for item in self.query_all(&q).await? {
            let f = Fields::of(&item, "usage");
            let mut bad = None;
            let counters = UsageCounters::from_fields(|name| match f.opt_i64(name) {
                Ok(v) => v.unwrap_or(0),
                Err(e) => {
                    bad = Some(e);
                    0
                }
            });
            if let Some(e) = bad {
                return Err(e);
            }
            months.push((f.string("month")?, counters));
        }
        Ok(months)
    }
}
