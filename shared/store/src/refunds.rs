//! Refunds: reserve the amount on the payment before asking Stripe (so concurrent requests can
//! never refund more than was charged), then complete or release the reservation.

use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, ToItem, attrs, from_item, n, s, ts};
use crate::payments::payment_key;
use crate::reports::refund_counters;
use crate::table::{Expr, Key, Outcome, Query, kept_changing, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use azora_domain::Money;
use azora_domain::payment::{PaymentStatus, Refund, RefundStatus};
use azora_domain::reports::ReportCounters;
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    /// A refund with this id exists already (a retried request): continue with it.
    Exists(Refund),
    /// Less than the amount remains refundable, or the payment is not refundable.
    Refused,
}

fn refund_key(payment_id: &str, refund_id: &str) -> Key {
    key(keys::payment(payment_id), keys::refund(refund_id))
}

/// Oldest first within a work partition.
fn work_sort_key(at: Timestamp, payment_id: &str, refund_id: &str) -> String {
    format!("{}#{payment_id}#{refund_id}", keys::sortable(at))
}

/// A refund's unfinished work for the reconcile job: `pending` ones still wait for Stripe's
/// answer, counted ones for their effects (the index keys go when the work is done).
fn work_index(status: RefundStatus) -> Option<&'static str> {
    match status {
        RefundStatus::Pending => Some(keys::REFUNDS_PENDING),
        RefundStatus::Succeeded => Some(keys::REFUNDS_EFFECTS_DUE),
        RefundStatus::Failed => None,
    }
}

impl ToItem for Refund {
    fn to_item(&self) -> Result<Item, StoreError> {
        let mut item = refund_key(&self.payment_id, &self.id).item(attrs! {
            "refundId" => s(&self.id), "paymentId" => s(&self.payment_id), "amount" => n(self.amount.amount),
            "currency" => s(self.amount.currency.code()), "status" => s(self.status.as_str()),
            "requestedBy" => s(&self.requested_by), "createdAt" => ts(self.created_at),
        });
        let optional = [("reason", &self.reason), ("stripeRefundId", &self.stripe_refund_id)];
        item.extend(optional.into_iter().filter_map(|(k, v)| Some((k.to_string(), s(v.as_deref()?)))));
        if let Some(partition) = work_index(self.status).filter(|_| !self.effects_applied) {
            item.insert(keys::GSI1PK.into(), s(partition));
            item.insert(keys::GSI1SK.into(), s(work_sort_key(self.created_at, &self.payment_id, &self.id)));
        }
        Ok(item)
    }
}

from_item! { Refund as "refund", |f| {
    id: f.string("refundId")?, payment_id: f.string("paymentId")?, amount: f.money("amount", "currency")?,
    status: f.named("status", RefundStatus::parse)?, reason: f.opt("reason"),
    stripe_refund_id: f.opt("stripeRefundId"), requested_by: f.string("requestedBy")?, created_at: f.ts("createdAt")?,
    effects_applied: f.has("effectsAppliedAt"),
} }

/// An unfinished refund as its work index lists it.
struct RefundWork(String, String, Timestamp);

impl FromItem for RefundWork {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let f = Fields::of(item, "refund");
        Ok(RefundWork(f.string("paymentId")?, f.string("refundId")?, f.ts("createdAt")?))
    }
}

/// A refund's status moves `from` → `to` (and nothing else touches it meanwhile).
fn refund_status(from: RefundStatus, to: RefundStatus, update: &str) -> Expr {
    Expr::update(update)
        .only_if("#status = :from")
        .status()
        .value(":from", s(from.as_str()))
        .value(":to", s(to.as_str()))
}

/// What a counted (or uncounted) refund adds to the business reports.
struct Counted {
    at: Timestamp,
    currency: azora_domain::Currency,
    counters: ReportCounters,
}

impl Counted {
    fn new(amount: Money, dispute: bool, sign: i64, at: Timestamp) -> Self {
        Counted { at, currency: amount.currency, counters: refund_counters(amount.amount, dispute, sign) }
    }
}

impl Store {
    pub async fn reserve_refund(&self, refund: &Refund) -> Result<Reservation, StoreError> {
        let record = Refund { status: RefundStatus::Pending, stripe_refund_id: None, ..refund.clone() };
        let reserve = Expr::update("SET refundableRemaining = refundableRemaining - :amt")
            .only_if("refundableRemaining >= :amt AND #status IN (:ok1, :ok2)")
            .status()
            .value(":amt", n(refund.amount.amount))
            .value(":ok1", s(PaymentStatus::Succeeded.as_str()))
            .value(":ok2", s(PaymentStatus::PartiallyRefunded.as_str()));
        let writes = vec![self.tx_new(record.to_item()?)?, self.tx_update(&payment_key(&refund.payment_id), reserve)?];
        match self.transact(writes).await {
            Ok(()) => Ok(Reservation::Reserved),
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
        amount: Money,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mark = refund_status(
            RefundStatus::Pending,
            RefundStatus::Succeeded,
            "SET #status = :to, stripeRefundId = :re, completedAt = :now, GSI1PK = :due, GSI1SK = :due_sk",
        )
        .value(":due", s(keys::REFUNDS_EFFECTS_DUE))
        .value(":due_sk", s(work_sort_key(now, payment_id, refund_id)))
        .value(":re", s(stripe_refund_id))
        .value(":now", ts(now));
        let mark = self.tx_update(&refund_key(payment_id, refund_id), mark)?;
        let count = self.count_refund(payment_id, amount.amount, now, false)?;
        let counted = Counted::new(amount, false, 1, now);
        let mut writes = vec![mark, count];
        writes.extend(self.report_writes(now, amount.currency, &counted.counters)?);
        // Not pending any more: the other path (API call or webhook) completed it.
        self.apply_counted_refund(payment_id, writes, &counted, |e| e.failed_condition_at(0)).await
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
        let record = Refund {
            id: stripe_refund_id.to_string(),
            payment_id: payment_id.to_string(),
            amount,
            status: RefundStatus::Succeeded,
            reason: None,
            stripe_refund_id: Some(stripe_refund_id.to_string()),
            requested_by: source.to_string(),
            created_at: now,
            effects_applied: false,
        };
        let counted = Counted::new(amount, source == "dispute", 1, now);
        let mut writes =
            vec![self.tx_new(record.to_item()?)?, self.count_refund(payment_id, amount.amount, now, true)?];
        writes.extend(self.report_writes(now, amount.currency, &counted.counters)?);
        // Recorded before, or more than remains refundable.
        self.apply_counted_refund(payment_id, writes, &counted, |e| {
            e.failed_condition_at(0) || e.failed_condition_at(1)
        })
        .await
    }

    /// Writes a refund's record together with its count on the payment, then marks the payment
    /// fully refunded when it is. `already` says which cancellations mean "nothing to do".
    async fn apply_counted_refund(
        &self,
        payment_id: &str,
        writes: Vec<TransactWriteItem>,
        counted: &Counted,
        already: impl Fn(&StoreError) -> bool,
    ) -> Result<bool, StoreError> {
        match self.transact(writes).await {
            Ok(()) => {
                crate::reports::committed(counted.at, counted.currency, &counted.counters);
                self.mark_fully_refunded(payment_id, counted.at).await?;
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
            let mark = refund_status(
                RefundStatus::Succeeded,
                RefundStatus::Failed,
                "SET #status = :to, GSI1PK = :due, GSI1SK = :due_sk REMOVE effectsAppliedAt",
            )
            .value(":due", s(keys::REFUNDS_EFFECTS_DUE))
            .value(":due_sk", s(work_sort_key(now, payment_id, refund_id)));
            let uncount = Expr::update(
                "SET refundedAmount = :refunded, refundableRemaining = refundableRemaining + :amt, #status = :st, updatedAt = :now",
            )
            .only_if("refundedAmount = :seen")
            .status()
            .value(":refunded", n(refunded))
            .value(":amt", n(refund.amount.amount))
            .value(":st", s(status.as_str()))
            .value(":seen", n(payment.refunded))
            .value(":now", ts(now));
            // The business reports take it back in the month the failure is learned.
            let uncounted = Counted::new(refund.amount, refund.requested_by == "dispute", -1, now);
            let mut writes = vec![
                self.tx_update(&refund_key(payment_id, refund_id), mark)?,
                self.tx_update(&payment_key(payment_id), uncount)?,
            ];
            writes.extend(self.report_writes(now, refund.amount.currency, &uncounted.counters)?);
            match self.transact(writes).await {
                Ok(()) => {
                    crate::reports::committed(now, refund.amount.currency, &uncounted.counters);
                    return Ok(true);
                }
                Err(e) if e.is_condition() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(kept_changing("the refund"))
    }

    /// Gives a reservation back after Stripe refused the refund.
    pub async fn fail_refund(&self, payment_id: &str, refund_id: &str, amount: i64) -> Result<(), StoreError> {
        let mark =
            refund_status(RefundStatus::Pending, RefundStatus::Failed, "SET #status = :to REMOVE GSI1PK, GSI1SK");
        let release = Expr::update("SET refundableRemaining = refundableRemaining + :amt").value(":amt", n(amount));
        let writes = vec![
            self.tx_update(&refund_key(payment_id, refund_id), mark)?,
            self.tx_update(&payment_key(payment_id), release)?,
        ];
        match self.transact(writes).await {
            Err(e) if e.failed_condition_at(0) => Ok(()),
            other => other,
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
        let expr = match reserve {
            false => Expr::update("SET refundedAmount = refundedAmount + :amt, #status = :partial, updatedAt = :now")
                .only_if("#status IN (:ok1, :partial)"),
            true => Expr::update(
                "SET refundedAmount = refundedAmount + :amt, refundableRemaining = refundableRemaining - :amt, #status = :partial, updatedAt = :now",
            )
            .only_if("#status IN (:ok1, :partial) AND refundableRemaining >= :amt"),
        };
        let expr = expr
            .status()
            .value(":amt", n(amount))
            .value(":partial", s(PaymentStatus::PartiallyRefunded.as_str()))
            .value(":ok1", s(PaymentStatus::Succeeded.as_str()))
            .value(":now", ts(now));
        self.tx_update(&payment_key(payment_id), expr)
    }

    async fn mark_fully_refunded(&self, payment_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let expr = Expr::update("SET #status = :refunded, updatedAt = :now")
            .only_if("refundedAmount >= amount AND #status = :partial")
            .status()
            .value(":refunded", s(PaymentStatus::Refunded.as_str()))
            .value(":partial", s(PaymentStatus::PartiallyRefunded.as_str()))
            .value(":now", ts(now));
        self.update(&payment_key(payment_id), expr).await.or_done()
    }

    /// The refund's effects (ledger, access, tokens, email) are all applied: it leaves the
    /// reconcile job's list. Idempotent.
    pub async fn refund_effects_applied(
        &self,
        payment_id: &str,
        refund_id: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let expr = Expr::update("SET effectsAppliedAt = :now REMOVE GSI1PK, GSI1SK")
            .only_if("attribute_exists(SK) AND attribute_not_exists(effectsAppliedAt)")
            .value(":now", ts(now));
        self.update(&refund_key(payment_id, refund_id), expr).await.or_done()
    }

    /// Refunds whose work is unfinished, oldest first: `pending` ones still waiting for Stripe's
    /// answer, or counted ones whose effects are still due. Returns (payment id, refund id).
    pub async fn unfinished_refunds(
        &self,
        pending: bool,
        limit: i32,
    ) -> Result<Vec<(String, String, Timestamp)>, StoreError> {
        let partition = if pending { keys::REFUNDS_PENDING } else { keys::REFUNDS_EFFECTS_DUE };
        let (items, _) = self.query_page(&Query::gsi1(partition).limit(limit), None).await?;
        items.iter().map(|i| RefundWork::from_item(i).map(|RefundWork(p, r, at)| (p, r, at))).collect()
    }

    pub async fn get_refund(&self, payment_id: &str, refund_id: &str) -> Result<Option<Refund>, StoreError> {
        self.get(&refund_key(payment_id, refund_id), true).await
    }

    /// A payment's refunds, oldest first.
    pub async fn list_refunds(&self, payment_id: &str) -> Result<Vec<Refund>, StoreError> {
        let q = Query::prefix(keys::payment(payment_id), "REFUND#").consistent();
        let mut refunds: Vec<Refund> =
            self.query_all(&q).await?.iter().map(Refund::from_item).collect::<Result<_, _>>()?;
        refunds.sort_by_key(|r| r.created_at);
        Ok(refunds)
    }
}
