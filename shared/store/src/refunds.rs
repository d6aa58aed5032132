//! Refunds: reserve the amount on the payment before asking Stripe (so concurrent requests can
//! never refund more than was charged), then complete or release the reservation.

use crate::error::{StoreError, from_sdk, from_transact};
use crate::item::{Item, get_i64, get_s, n, opt_s, s};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use azora_domain::payment::{PaymentStatus, Refund, RefundStatus};
use azora_domain::{Currency, Money};
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    /// A refund with this id exists already (a retried request): continue with it.
    Exists(Refund),
    /// Less than the amount remains refundable, or the payment is not refundable.
    Refused,
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Malformed(e.to_string()))
}

impl Store {
    pub async fn reserve_refund(&self, refund: &Refund) -> Result<Reservation, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(keys::payment(&refund.payment_id)))
            .item(keys::SK, s(keys::refund(&refund.id)))
            .item("refundId", s(&refund.id))
            .item("paymentId", s(&refund.payment_id))
            .item("amount", n(refund.amount.amount))
            .item("currency", s(refund.amount.currency.code()))
            .item("status", s(RefundStatus::Pending.as_str()))
            .item("requestedBy", s(&refund.requested_by))
            .item("createdAt", s(refund.created_at.to_string()))
            .item(keys::GSI1PK, s(keys::REFUNDS_PENDING))
            .item(keys::GSI1SK, s(work_sort_key(refund.created_at, &refund.payment_id, &refund.id)))
            .condition_expression("attribute_not_exists(SK)");
        if let Some(reason) = &refund.reason {
            put = put.item("reason", s(reason));
        }
        let reserve = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(&refund.payment_id)))
            .key(keys::SK, s(keys::PAYMENT))
            .update_expression("SET refundableRemaining = refundableRemaining - :amt")
            .condition_expression("refundableRemaining >= :amt AND #status IN (:ok1, :ok2)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":amt", n(refund.amount.amount))
            .expression_attribute_values(":ok1", s(PaymentStatus::Succeeded.as_str()))
            .expression_attribute_values(":ok2", s(PaymentStatus::PartiallyRefunded.as_str()));
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(build(put.build())?).build())
            .transact_items(TransactWriteItem::builder().update(build(reserve.build())?).build())
            .send()
            .await
            .map_err(from_transact);
        match result {
            Ok(_) => Ok(Reservation::Reserved),
            Err(e) if e.failed_condition_at(0) => match self.get_refund(&refund.payment_id, &refund.id).await? {
                Some(existing) => Ok(Reservation::Exists(existing)),
                None => Err(e),
            },
            Err(e) if e.failed_condition_at(1) => Ok(Reservation::Refused),
            Err(e) => Err(e),
        }
    }

    /// Marks a pending refund succeeded and counts it on the payment. Returns `false` when it was
    /// not pending (completed by the other path: the API call or the webhook).
    pub async fn complete_refund(
        &self,
        payment_id: &str,
        refund_id: &str,
        stripe_refund_id: &str,
        amount: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mark = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::refund(refund_id)))
            .update_expression(
                "SET #status = :succeeded, stripeRefundId = :re, completedAt = :now, GSI1PK = :due, GSI1SK = :due_sk",
            )
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":due", s(keys::REFUNDS_EFFECTS_DUE))
            .expression_attribute_values(":due_sk", s(work_sort_key(now, payment_id, refund_id)))
            .expression_attribute_values(":succeeded", s(RefundStatus::Succeeded.as_str()))
            .expression_attribute_values(":pending", s(RefundStatus::Pending.as_str()))
            .expression_attribute_values(":re", s(stripe_refund_id))
            .expression_attribute_values(":now", s(now.to_string()));
        let count = self.count_refund(payment_id, amount, now, false)?;
        let mark = TransactWriteItem::builder().update(build(mark.build())?).build();
        // Not pending any more: the other path (API call or webhook) completed it.
        self.apply_counted_refund(payment_id, mark, count, now, |e| e.failed_condition_at(0)).await
    }

    /// Records money given back outside our API, once per Stripe id: a refund made in the Stripe
    /// dashboard (`source` "stripe") or a lost dispute ("dispute"). Returns `false` when it was
    /// recorded before or exceeds what remains.
    pub async fn record_external_refund(
        &self,
        payment_id: &str,
        stripe_refund_id: &str,
        amount: Money,
        source: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(keys::payment(payment_id)))
            .item(keys::SK, s(keys::refund(stripe_refund_id)))
            .item("refundId", s(stripe_refund_id))
            .item("paymentId", s(payment_id))
            .item("amount", n(amount.amount))
            .item("currency", s(amount.currency.code()))
            .item("status", s(RefundStatus::Succeeded.as_str()))
            .item("stripeRefundId", s(stripe_refund_id))
            .item("requestedBy", s(source))
            .item("createdAt", s(now.to_string()))
            .item(keys::GSI1PK, s(keys::REFUNDS_EFFECTS_DUE))
            .item(keys::GSI1SK, s(work_sort_key(now, payment_id, stripe_refund_id)))
            .condition_expression("attribute_not_exists(SK)");
        let count = self.count_refund(payment_id, amount.amount, now, true)?;
        let record = TransactWriteItem::builder().put(build(put.build())?).build();
        // Recorded before, or more than remains refundable.
        self.apply_counted_refund(payment_id, record, count, now, |e| {
            e.failed_condition_at(0) || e.failed_condition_at(1)
        })
        .await
    }

    /// Writes a refund's record together with its count on the payment, then marks the payment
    /// fully refunded when it is. `already` says which cancellations mean "nothing to do".
    async fn apply_counted_refund(
        &self,
        payment_id: &str,
        record: TransactWriteItem,
        count: TransactWriteItem,
        now: Timestamp,
        already: impl Fn(&StoreError) -> bool,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .transact_write_items()
            .transact_items(record)
            .transact_items(count)
            .send()
            .await
            .map_err(from_transact);
        match result {
            Ok(_) => {
                self.mark_fully_refunded(payment_id, now).await?;
                Ok(true)
            }
            Err(e) if already(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A counted refund that failed afterwards (Stripe's `refund.updated` to `failed`): it is
    /// marked failed and no longer counts on the payment, in one transaction guarded by the
    /// refunded total it saw, and its effects are due again (the ledger and access move back).
    /// Returns `false` when it was not counted (unknown, pending, or failed already).
    pub async fn uncount_refund(&self, payment_id: &str, refund_id: &str, now: Timestamp) -> Result<bool, StoreError> {
        for _ in 0..10 {
            let Some(refund) = self.get_refund(payment_id, refund_id).await? else { return Ok(false) };
            if refund.status != RefundStatus::Succeeded {
                return Ok(false);
            }
            let Some(payment) = self.get_payment(payment_id).await? else { return Ok(false) };
            let refunded = payment.refunded - refund.amount.amount;
            let status = if refunded <= 0 { PaymentStatus::Succeeded } else { PaymentStatus::PartiallyRefunded };
            let mark = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::payment(payment_id)))
                .key(keys::SK, s(keys::refund(refund_id)))
                .update_expression("SET #status = :failed, GSI1PK = :due, GSI1SK = :due_sk REMOVE effectsAppliedAt")
                .condition_expression("#status = :succeeded")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":failed", s(RefundStatus::Failed.as_str()))
                .expression_attribute_values(":succeeded", s(RefundStatus::Succeeded.as_str()))
                .expression_attribute_values(":due", s(keys::REFUNDS_EFFECTS_DUE))
                .expression_attribute_values(":due_sk", s(work_sort_key(now, payment_id, refund_id)));
            let uncount = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::payment(payment_id)))
                .key(keys::SK, s(keys::PAYMENT))
                .update_expression(
                    "SET refundedAmount = :refunded, refundableRemaining = refundableRemaining + :amt, #status = :st, updatedAt = :now",
                )
                .condition_expression("refundedAmount = :seen")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":refunded", n(refunded))
                .expression_attribute_values(":amt", n(refund.amount.amount))
                .expression_attribute_values(":st", s(status.as_str()))
                .expression_attribute_values(":seen", n(payment.refunded))
                .expression_attribute_values(":now", s(now.to_string()));
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(build(mark.build())?).build())
                .transact_items(TransactWriteItem::builder().update(build(uncount.build())?).build())
                .send()
                .await
                .map_err(from_transact);
            match result {
                Ok(_) => return Ok(true),
                Err(e) if e.is_condition() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend { operation: "TransactWriteItems", message: "refund kept changing".into() })
    }

    /// Gives a reservation back after Stripe refused the refund.
    pub async fn fail_refund(&self, payment_id: &str, refund_id: &str, amount: i64) -> Result<(), StoreError> {
        let mark = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::refund(refund_id)))
            .update_expression("SET #status = :failed REMOVE GSI1PK, GSI1SK")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":failed", s(RefundStatus::Failed.as_str()))
            .expression_attribute_values(":pending", s(RefundStatus::Pending.as_str()));
        let release = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::PAYMENT))
            .update_expression("SET refundableRemaining = refundableRemaining + :amt")
            .expression_attribute_values(":amt", n(amount));
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(build(mark.build())?).build())
            .transact_items(TransactWriteItem::builder().update(build(release.build())?).build())
            .send()
            .await
            .map_err(from_transact);
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.failed_condition_at(0) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Adds a refund to the payment's refunded total; `reserve` also takes it from what remains
    /// refundable (for refunds that were not reserved through our API).
    fn count_refund(
        &self,
        payment_id: &str,
        amount: i64,
        now: Timestamp,
        reserve: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::PAYMENT))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":amt", n(amount))
            .expression_attribute_values(":partial", s(PaymentStatus::PartiallyRefunded.as_str()))
            .expression_attribute_values(":ok1", s(PaymentStatus::Succeeded.as_str()))
            .expression_attribute_values(":now", s(now.to_string()));
        update = match reserve {
            false => update
                .update_expression("SET refundedAmount = refundedAmount + :amt, #status = :partial, updatedAt = :now")
                .condition_expression("#status IN (:ok1, :partial)"),
            true => update
                .update_expression(
                    "SET refundedAmount = refundedAmount + :amt, refundableRemaining = refundableRemaining - :amt, #status = :partial, updatedAt = :now",
                )
                .condition_expression("#status IN (:ok1, :partial) AND refundableRemaining >= :amt"),
        };
        Ok(TransactWriteItem::builder().update(build(update.build())?).build())
    }

    async fn mark_fully_refunded(&self, payment_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::PAYMENT))
            .update_expression("SET #status = :refunded, updatedAt = :now")
            .condition_expression("refundedAmount >= amount AND #status = :partial")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":refunded", s(PaymentStatus::Refunded.as_str()))
            .expression_attribute_values(":partial", s(PaymentStatus::PartiallyRefunded.as_str()))
            .expression_attribute_values(":now", s(now.to_string()))
            .send()
            .await;
        match result.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The refund's effects (ledger, access, tokens, email) are all applied: it leaves the
    /// reconcile job's list. Idempotent.
    pub async fn refund_effects_applied(
        &self,
        payment_id: &str,
        refund_id: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::refund(refund_id)))
            .update_expression("SET effectsAppliedAt = :now REMOVE GSI1PK, GSI1SK")
            .condition_expression("attribute_exists(SK) AND attribute_not_exists(effectsAppliedAt)")
            .expression_attribute_values(":now", s(now.to_string()))
            .send()
            .await;
        match result.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Refunds whose work is unfinished, oldest first: `pending` ones still waiting for Stripe's
    /// answer, or counted ones whose effects are still due. Returns (payment id, refund id).
    pub async fn unfinished_refunds(
        &self,
        pending: bool,
        limit: i32,
    ) -> Result<Vec<(String, String, Timestamp)>, StoreError> {
        let partition = if pending { keys::REFUNDS_PENDING } else { keys::REFUNDS_EFFECTS_DUE };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("GSI1PK = :p")
            .expression_attribute_values(":p", s(partition))
            .limit(limit)
            .send()
            .await
            .map_err(|e| from_sdk("Query", e))?;
        out.items()
            .iter()
            .map(|item| {
                let at =
                    get_s(item, "createdAt")?.parse().map_err(|_| StoreError::Malformed("refund.createdAt".into()))?;
                Ok((get_s(item, "paymentId")?.to_string(), get_s(item, "refundId")?.to_string(), at))
            })
            .collect()
    }

    pub async fn get_refund(&self, payment_id: &str, refund_id: &str) -> Result<Option<Refund>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::refund(refund_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(refund_from_item).transpose()
    }

    /// A payment's refunds, oldest first.
    pub async fn list_refunds(&self, payment_id: &str) -> Result<Vec<Refund>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :refund)")
            .expression_attribute_values(":pk", s(keys::payment(payment_id)))
            .expression_attribute_values(":refund", s("REFUND#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("Query", e))?;
        let mut refunds: Vec<Refund> = out.items().iter().map(refund_from_item).collect::<Result<_, _>>()?;
        refunds.sort_by_key(|r| r.created_at);
        Ok(refunds)
    }
}

/// Oldest first within a work partition.
fn work_sort_key(at: Timestamp, payment_id: &str, refund_id: &str) -> String {
    format!("{}#{payment_id}#{refund_id}", keys::sortable(at))
}

fn refund_from_item(item: &Item) -> Result<Refund, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("refund.{what}"));
    Ok(Refund {
        id: get_s(item, "refundId")?.to_string(),
        payment_id: get_s(item, "paymentId")?.to_string(),
        amount: Money::new(
            get_i64(item, "amount")?,
            Currency::parse(get_s(item, "currency")?).map_err(|_| malformed("currency"))?,
        ),
        status: RefundStatus::parse(get_s(item, "status")?).ok_or_else(|| malformed("status"))?,
        reason: opt_s(item, "reason").map(str::to_string),
        stripe_refund_id: opt_s(item, "stripeRefundId").map(str::to_string),
        requested_by: get_s(item, "requestedBy")?.to_string(),
        created_at: get_s(item, "createdAt")?.parse().map_err(|_| malformed("createdAt"))?,
        effects_applied: item.contains_key("effectsAppliedAt"),
    })
}
