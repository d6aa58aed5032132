//! Order claims: at most one open order per buyer and course. Invariant: a buyer never has two
//! payments that may both be charged for the same course. The claim (`USER#<id>` /
//! `ORDER#<courseId>`, naming the payment) is taken before the payment is written; a second
//! order of the course finds it and either refuses (the first is paid or in flight) or takes it
//! over once the first can no longer be charged (canceled, or its course refunded).

use crate::error::StoreError;
use crate::item::{Fields, s, ts};
use crate::table::{Expr, Key, Outcome, key};
use crate::{Store, keys};
use azora_domain::UserId;
use jiff::Timestamp;

pub fn order_claim(course_id: &str) -> String {
    format!("ORDER#{course_id}")
}

fn claim_key(user: &UserId, course_id: &str) -> Key {
    key(keys::user(user.as_str()), order_claim(course_id))
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
        let at = claim_key(user, course_id);
        let item = at.item([("paymentId", s(payment_id)), ("courseId", s(course_id)), ("claimedAt", ts(now))]);
        let condition = match replacing {
            None => Expr::when("attribute_not_exists(PK) OR paymentId = :pid"),
            Some(old) => {
                Expr::when("attribute_not_exists(PK) OR paymentId = :pid OR paymentId = :old").value(":old", s(old))
            }
        };
        match self.put(item, Some(condition.value(":pid", s(payment_id)))).await {
            Ok(()) => Ok(OrderClaim::Held),
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
            let theirs = Expr::when("paymentId = :pid").value(":pid", s(payment_id));
            self.delete(&claim_key(user, course_id), Some(theirs)).await.or_done()?;
        }
        Ok(())
    }

    /// The payment holding the claim, and since when.
    pub async fn order_claim_holder(
        &self,
        user: &UserId,
        course_id: &str,
    ) -> Result<Option<(String, Timestamp)>, StoreError> {
        let Some(item) = self.get_item(&claim_key(user, course_id), true).await? else { return Ok(None) };
        let f = Fields::of(&item, "orderClaim");
        let since = f.opt_ts("claimedAt").ok().flatten().unwrap_or(Timestamp::UNIX_EPOCH);
        Ok(Some((f.string("paymentId")?, since)))
    }
}
