//! Fixed-window rate limiting with a DynamoDB counter per caller and window.
//!
//! One conditional `ADD` per request: the counter grows only while below the limit, so a caller
//! over the limit costs one failed condition and no further writes. Counters expire through the
//! table's TTL shortly after their window.

use crate::error::StoreError;
use crate::item::{n, opt_i64};
use crate::table::{Expr, Key, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::ReturnValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed {
        remaining: u32,
    },
    /// Over the limit until the window ends, `retry_after_seconds` from now (at least 1).
    Limited {
        retry_after_seconds: u64,
    },
}

/// The window containing `now` (Unix seconds): its start and end.
/// The counter item of `caller` under `scope` for the window containing `now`, and the window's end.
fn window(scope: &str, caller: &str, window_seconds: i64, now: i64) -> (Key, i64) {
    let window_seconds = window_seconds.max(1);
    let start = now - now.rem_euclid(window_seconds);
    (key(keys::rate_window(scope, caller, start), "RATE"), start + window_seconds)
}

fn allowed(limit: u32, hits: i64) -> RateDecision {
    RateDecision::Allowed { remaining: u32::try_from(i64::from(limit) - hits).unwrap_or(0) }
}

fn limited(window_end: i64, now: i64) -> RateDecision {
    RateDecision::Limited { retry_after_seconds: u64::try_from(window_end - now).unwrap_or(1).max(1) }
}

impl Store {
    /// Whether `caller` may still be counted under `scope` in the window containing `now`, without
    /// counting: for budgets of failures, which are known only after the attempt they limit.
    pub async fn peek_rate_limit(
        &self,
        scope: &str,
        caller: &str,
        limit: u32,
        window_seconds: i64,
        now: i64,
    ) -> Result<RateDecision, StoreError> {
        let (window, window_end) = window(scope, caller, window_seconds, now);
        let hits = match self.get_item(&window, true).await? {
            Some(item) => opt_i64(&item, "hits")?.unwrap_or(0),
            None => 0,
        };
        Ok(if hits < i64::from(limit) { allowed(limit, hits) } else { limited(window_end, now) })
    }

    /// Counts one request of `caller` under `scope` in the window containing `now` (Unix seconds).
    pub async fn hit_rate_limit(
        &self,
        scope: &str,
        caller: &str,
        limit: u32,
        window_seconds: i64,
        now: i64,
    ) -> Result<RateDecision, StoreError> {
        let (window, window_end) = window(scope, caller, window_seconds, now);
        let expr = Expr::update("ADD hits :one SET #ttl = :ttl")
            .only_if("attribute_not_exists(hits) OR hits < :limit")
            .name("#ttl", keys::TTL)
            .value(":one", n(1))
            .value(":limit", n(limit))
            .value(":ttl", n(window_end + 60));
        match self.update_returning(&window, expr, ReturnValue::UpdatedNew).await {
            Ok(attributes) => {
                let hits =
                    attributes.as_ref().and_then(|a| opt_i64(a, "hits").ok().flatten()).unwrap_or(i64::from(limit));
                Ok(allowed(limit, hits))
            }
            Err(StoreError::ConditionFailed) => Ok(limited(window_end, now)),
            Err(e) => Err(e),
        }
    }
}
