//! Claims: "do this once per key" records with a lease, used for API idempotency keys and for
//! sending each notification once.
//!
//! `claim` takes the key with a conditional put. A finished claim stores the outcome so a retry
//! replays it; an unfinished claim whose lease has run out (the owner crashed) may be taken over by
//! a retry with the same fingerprint. Claims expire through the table's TTL.

use crate::error::{StoreError, from_sdk};
use crate::item::{Item, attrs, get_i64, get_s, n, opt_s, s};
use crate::table::{Expr, Key, Outcome, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest<'a> {
    /// What the key belongs to, e.g. `POST /api/x:user_1`, so keys never collide across callers.
    pub scope: &'a str,
    pub key: &'a str,
    /// A hash of what the caller asks to do; the same key with another fingerprint is a mismatch.
    pub fingerprint: &'a str,
    /// Identifies this attempt, so only the owner can complete or release the claim.
    pub attempt: &'a str,
    pub now: i64,
    pub lease_seconds: i64,
    pub ttl_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This attempt owns the key: do the work, then `complete` or `release`.
    Acquired,
    /// The work was done before; here is what it produced.
    Completed { outcome: String },
    /// The key was used for something else.
    Mismatch,
    /// Another attempt holds the key and its lease has not run out.
    InProgress,
}

fn claim_key(scope: &str, key_: &str) -> Key {
    key(keys::claim(scope, key_), "CLAIM")
}

/// Only the attempt that holds the claim may complete or release it.
fn held_by(attempt: &str) -> Expr {
    Expr::when("#state = :in_progress AND attempt = :attempt")
        .name("#state", "state")
        .value(":in_progress", s(IN_PROGRESS))
        .value(":attempt", s(attempt))
}

impl Store {
    pub async fn claim(&self, req: &ClaimRequest<'_>) -> Result<ClaimOutcome, StoreError> {
        let at = claim_key(req.scope, req.key);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(at.item(attrs! {
                "state" => s(IN_PROGRESS), "fingerprint" => s(req.fingerprint), "attempt" => s(req.attempt),
                "leaseUntil" => n(req.now + req.lease_seconds), keys::TTL => n(req.now + req.ttl_seconds),
            })))
            .condition_expression(
                "attribute_not_exists(PK) OR (#state = :in_progress AND leaseUntil < :now AND fingerprint = :fp)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":now", n(req.now))
            .expression_attribute_values(":fp", s(req.fingerprint))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(ClaimOutcome::Acquired),
            Err(err) => {
                let existing = err.as_service_error().and_then(|e| match e {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                        c.item().cloned()
                    }
                    _ => None,
                });
                match existing {
                    Some(item) => existing_outcome(&item, req.fingerprint),
                    None => match from_sdk("PutItem", err) {
                        // Older DynamoDB versions do not return the item: read it.
                        StoreError::ConditionFailed => {
                            let item = self.get_item(&at, true).await?.ok_or_else(|| StoreError::Backend {
                                operation: "GetItem",
                                message: "claim vanished while read".into(),
                            })?;
                            existing_outcome(&item, req.fingerprint)
                        }
                        other => Err(other),
                    },
                }
            }
        }
    }

    /// Records the outcome; only the attempt that acquired the claim may do so.
    pub async fn complete_claim(&self, scope: &str, key: &str, attempt: &str, outcome: &str) -> Result<(), StoreError> {
        let expr = Expr::update("SET #state = :completed, outcome = :outcome")
            .with(held_by(attempt))
            .value(":completed", s(COMPLETED))
            .value(":outcome", s(outcome));
        self.update(&claim_key(scope, key), expr).await
    }

    /// Gives the key back after a failure, so a retry can run at once.
    pub async fn release_claim(&self, scope: &str, key: &str, attempt: &str) -> Result<(), StoreError> {
        // Someone else took over after our lease ran out: theirs to finish.
        self.delete(&claim_key(scope, key), Some(held_by(attempt))).await.or_done()
    }
}

fn existing_outcome(item: &Item, fingerprint: &str) -> Result<ClaimOutcome, StoreError> {
    if get_s(item, "fingerprint")? != fingerprint {
        return Ok(ClaimOutcome::Mismatch);
    }
    match get_s(item, "state")? {
        COMPLETED => Ok(ClaimOutcome::Completed { outcome: opt_s(item, "outcome").unwrap_or_default().to_string() }),
        _ => {
            // Validates the lease attribute's shape even though a live lease is all we report.
            get_i64(item, "leaseUntil")?;
            Ok(ClaimOutcome::InProgress)
        }
    }
}
