//! Fixed-window rate limiting with a DynamoDB counter per caller and window.
//!
//! One conditional `ADD` per request: the counter grows only while below the limit, so a caller
//! over the limit costs one failed condition and no further writes. Counters expire through the
//! table's TTL shortly after their window.

use crate::error::{StoreError, from_sdk};
use crate::item::{n, s};
use crate::{Store, keys};

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

impl Store {
    /// Counts one request of `caller` under `scope` in the window containing `now` (Unix seconds).
    pub async fn hit_rate_limit(
        &self,
        scope: &str,
        caller: &str,
        limit: u32,
        window_seconds: i64,
        now: i64,
    ) -> Result<RateDecision, StoreError> {
        let window_seconds = window_seconds.max(1);
        let window_start = now - now.rem_euclid(window_seconds);
        let window_end = window_start + window_seconds;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::rate_window(scope, caller, window_start)))
            .key(keys::SK, s("RATE"))
            .update_expression("ADD hits :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(hits) OR hits < :limit")
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":ttl", n(window_end + 60))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match result.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(out) => {
                let hits = out
                    .attributes
                    .as_ref()
                    .and_then(|a| crate::item::opt_i64(a, "hits").ok().flatten())
                    .unwrap_or(i64::from(limit));
                Ok(RateDecision::Allowed { remaining: u32::try_from(i64::from(limit) - hits).unwrap_or(0) })
            }
            Err(StoreError::ConditionFailed) => {
                Ok(RateDecision::Limited { retry_after_seconds: u64::try_from(window_end - now).unwrap_or(1).max(1) })
            }
            Err(e) => Err(e),
        }
    }
}
