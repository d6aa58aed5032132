//! Order claims: at most one open order per buyer and course. Invariant: a buyer never has two
//! payments that may both be charged for the same course. The claim (`USER#<id>` /
//! `ORDER#<courseId>`, naming the payment) is taken before the payment is written; a second
//! order of the course finds it and either refuses (the first is paid or in flight) or takes it
//! over once the first can no longer be charged (canceled, or its course refunded).

use crate::error::{StoreError, from_sdk};
use crate::item::{get_s, opt_s, s};
use crate::{Store, keys};
use azora_domain::UserId;
use jiff::Timestamp;

pub fn order_claim(course_id: &str) -> String {
    format!("ORDER#{course_id}")
}

/// What taking a course's order claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderClaim {
    /// This payment holds the claim (taken now, or before by the same payment).
    Held,
    /// Another payment holds it, since then.
    HeldBy { payment_id: String, since: Timestamp },
}

impl Store {
    /// Takes the claim on `course_id` for `payment_id` if it is free, already this payment's, or
    /// (with `replacing`) still held by that payment.
    pub async fn claim_order(
        &self,
        user: &UserId,
        course_id: &str,
        payment_id: &str,
        replacing: Option<&str>,
        now: Timestamp,
    ) -> Result<OrderClaim, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::user(user.as_str())))
            .item(keys::SK, s(order_claim(course_id)))
            .item("paymentId", s(payment_id))
            .item("courseId", s(course_id))
            .item("claimedAt", s(now.to_string()))
            .expression_attribute_values(":pid", s(payment_id));
        put = match replacing {
            None => put.condition_expression("attribute_not_exists(PK) OR paymentId = :pid"),
            Some(old) => put
                .condition_expression("attribute_not_exists(PK) OR paymentId = :pid OR paymentId = :old")
                .expression_attribute_values(":old", s(old)),
        };
        match put.send().await.map_err(|e| from_sdk("PutItem", e)) {
            Ok(_) => Ok(OrderClaim::Held),
            Err(StoreError::ConditionFailed) => match self.order_claim_holder(user, course_id).await? {
                Some((holder, _)) if holder == payment_id => Ok(OrderClaim::Held),
                Some((holder, since)) => Ok(OrderClaim::HeldBy { payment_id: holder, since }),
                // Released meanwhile: try again once more from the start.
                None => Box::pin(self.claim_order(user, course_id, payment_id, None, now)).await,
            },
            Err(e) => Err(e),
        }
    }

    /// Gives back the claims a payment took, when the payment could not be written after all.
    pub async fn release_order_claims(
        &self,
        user: &UserId,
        course_ids: &[String],
        payment_id: &str,
    ) -> Result<(), StoreError> {
        for course_id in course_ids {
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(keys::PK, s(keys::user(user.as_str())))
                .key(keys::SK, s(order_claim(course_id)))
                .condition_expression("paymentId = :pid")
                .expression_attribute_values(":pid", s(payment_id))
                .send()
                .await;
            match result.map_err(|e| from_sdk("DeleteItem", e)) {
                Ok(_) | Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The payment holding the claim, and since when.
    pub async fn order_claim_holder(
        &self,
        user: &UserId,
        course_id: &str,
    ) -> Result<Option<(String, Timestamp)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(order_claim(course_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item
            .as_ref()
            .map(|i| {
                let since = opt_s(i, "claimedAt").and_then(|t| t.parse().ok()).unwrap_or(Timestamp::UNIX_EPOCH);
                get_s(i, "paymentId").map(|p| (p.to_string(), since))
            })
            .transpose()
    }
}
