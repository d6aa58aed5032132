//! Payments: creation, state transitions guarded by the domain's state machine, the PaymentIntent
//! link, history, and fulfilment (receipt number + enrollments, exactly once).

use crate::cursor::Page;
use crate::enrollments::{Enrollment, enrollment_key};
use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, ToItem, from_item, json, n, s, ts};
use crate::table::{Expr, Key, Outcome, Query, kept_changing, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use azora_domain::UserId;
use azora_domain::payment::{OrderItem, Payment, PaymentStatus, payment_item_cash, receipt_number, refunded_items};
use azora_domain::receipt::PaymentCard;
use azora_domain::reports::ReportCounters;
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fulfilment {
    /// This call granted access and issued the receipt.
    Done { receipt_number: String },
    /// It had been fulfilled before (a duplicate event): nothing was written.
    AlreadyDone,
}

pub(crate) fn payment_key(payment_id: &str) -> Key {
    key(keys::payment(payment_id), keys::PAYMENT)
}

fn link_key(pi: &str) -> Key {
    key(keys::payment_intent_link(pi), "LINK")
}

/// The statuses from which the state machine allows moving to `to`.
fn sources_of(to: PaymentStatus) -> Vec<PaymentStatus> {
    PaymentStatus::ALL.into_iter().filter(|from| from.can_become(to)).collect()
}

/// The payment a PaymentIntent link names.
struct PaymentIntentLink(String);

impl FromItem for PaymentIntentLink {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Fields::of(item, "link").string("paymentId").map(PaymentIntentLink)
    }
}

impl Store {
    /// Writes a new payment; `ConditionFailed` when the id exists (a retried request).
    pub async fn create_payment(&self, p: &Payment) -> Result<(), StoreError> {
        self.put_new(p.to_item()?).await
    }

    pub async fn get_payment(&self, payment_id: &str) -> Result<Option<Payment>, StoreError> {
        self.get(&payment_key(payment_id), true).await
    }

    /// Records the PaymentIntent on the payment and the reverse link the webhook worker uses.
    pub async fn link_payment_intent(&self, payment_id: &str, pi: &str, now: Timestamp) -> Result<(), StoreError> {
        // One intent links one payment, and a payment keeps the first intent linked to it.
        let link = link_key(pi).item([("paymentId", s(payment_id))]);
        let same_payment = Expr::when("attribute_not_exists(PK) OR paymentId = :pid").value(":pid", s(payment_id));
        let update = Expr::update("SET stripePaymentIntentId = :pi, updatedAt = :now")
            .only_if(
                "attribute_exists(PK) AND (attribute_not_exists(stripePaymentIntentId) OR stripePaymentIntentId = :pi)",
            )
            .value(":pi", s(pi))
            .value(":now", ts(now));
        self.transact(vec![self.tx_put(link, Some(same_payment))?, self.tx_update(&payment_key(payment_id), update)?])
            .await
    }

    pub async fn payment_for_intent(&self, pi: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get(&link_key(pi), true).await?.map(|PaymentIntentLink(id)| id))
    }

    /// The payment a PaymentIntent was linked to when we created it, if any.
    pub async fn linked_payment(&self, pi: &str) -> Result<Option<Payment>, StoreError> {
        match self.payment_for_intent(pi).await? {
            Some(payment_id) => self.get_payment(&payment_id).await,
            None => Ok(None),
        }
    }

    /// Moves the payment to `to` if the state machine allows it from its current status.
    /// Returns `false` (and writes nothing) when it does not: a stale or duplicate event.
    pub async fn transition_payment(
        &self,
        payment_id: &str,
        to: PaymentStatus,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let more = if to == PaymentStatus::Succeeded { ", paidAt = if_not_exists(paidAt, :now)" } else { "" };
        let Some(expr) = Expr::status_move(to.as_str(), sources_of(to).into_iter().map(|st| st.as_str()), now, more)
        else {
            return Ok(false);
        };
        if to != PaymentStatus::Failed {
            return self.update(&payment_key(payment_id), expr).await.applied();
        }
        // A failed attempt counts in the business reports, in the same transaction as the move
        // (a duplicate event finds the payment failed already and counts nothing).
        let Some(payment) = self.get_payment(payment_id).await? else { return Ok(false) };
        let failed = ReportCounters { payments_failed: 1, ..ReportCounters::default() };
        let mut writes = vec![self.tx_update(&payment_key(payment_id), expr)?];
        writes.extend(self.report_writes(now, payment.amount.currency, &failed)?);
        match self.transact(writes).await {
            Ok(()) => {
                crate::reports::committed(now, payment.amount.currency, &failed);
                Ok(true)
            }
            Err(e) if e.failed_condition_at(0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Records the card the payment was charged to (for its receipt), once: a duplicate event or a
    /// concurrent fulfilment finds it recorded and writes nothing. Returns whether this call wrote it.
    pub async fn record_payment_card(&self, payment_id: &str, card: &PaymentCard) -> Result<bool, StoreError> {
        let expr = Expr::update("SET paymentCard = :card")
            .only_if("attribute_exists(PK) AND attribute_not_exists(paymentCard)")
            .value(":card", json(card)?);
        self.update(&payment_key(payment_id), expr).await.applied()
    }

    /// A user's payments, newest first.
    pub async fn list_payments(
        &self,
        user: &UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Payment>, StoreError> {
        self.page(Query::gsi1(keys::user_payments(user.as_str())).newest_first().limit(limit), cursor).await
    }

    /// Grants access and issues the receipt, once: assigns the next gap-free receipt number of
    /// the year, marks the payment fulfilled and writes an enrollment per course not refunded
    /// already, in one transaction guarded by the refunded total it saw (a refund counted
    /// meanwhile makes it read again). A duplicate event finds the payment fulfilled and changes
    /// nothing. The instructors' shares go into their ledgers as pending for `hold_seconds` (the
    /// refund window), in the same transaction; refunds counted before the fulfilment are
    /// reversed after it by `sync_reversals`.
    pub async fn fulfil_payment(
        &self,
        payment: &Payment,
        now: Timestamp,
        hold_seconds: i64,
    ) -> Result<Fulfilment, StoreError> {
        let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
        let mut skip_enrollments: Vec<String> = Vec::new();
        let mut payment = payment.clone();
        for _ in 0..20 {
            if let Some(fresh) = self.get_payment(&payment.id).await? {
                payment = fresh;
            }
            if payment.fulfilled_at.is_some() {
                return Ok(Fulfilment::AlreadyDone);
            }
            let refunded = refunded_items(&payment_item_cash(&payment), payment.refunded);
            let current = self.receipt_counter(year).await?;
            let number = receipt_number(year, (current + 1) as u64);
            let receipt = key(keys::receipt(&number), "RECEIPT").item([("paymentId", s(&payment.id))]);
            let fulfil = Expr::update("SET receiptNumber = :num, fulfilledAt = :now, updatedAt = :now")
                .only_if("attribute_not_exists(fulfilledAt) AND #status IN (:s1, :s2, :s3) AND refundedAmount = :seen")
                .status()
                .value(":seen", n(payment.refunded))
                .value(":num", s(&number))
                .value(":now", ts(now))
                .value(":s1", s(PaymentStatus::Succeeded.as_str()))
                .value(":s2", s(PaymentStatus::PartiallyRefunded.as_str()))
                .value(":s3", s(PaymentStatus::Refunded.as_str()));
            // Layout: [0] the counter, [1] the number (used once), [2] the payment, then one
            // enrollment per course, then the instructors' sales.
            let mut items = vec![
                self.counter_update(year, current)?,
                self.tx_new(receipt)?,
                self.tx_update(&payment_key(&payment.id), fulfil)?,
            ];
            let enrollments: Vec<&String> = course_ids(&payment)
                .zip(&refunded)
                .filter(|(c, refunded)| !**refunded && !skip_enrollments.contains(c))
                .map(|(c, _)| c)
                .collect();
            for course_id in &enrollments {
                items.push(self.tx_new(enrollment_of(&payment, course_id, now).to_item()?)?);
            }
            // The month's sale in the business reports, in the same transaction (counted once):
            // the totals, and each instructor's month on their balance (see `sale_writes`).
            let sold_at = payment.paid_at.unwrap_or(now);
            let month = azora_domain::audit::month_of(sold_at);
            items.extend(self.sale_writes(&payment, hold_seconds, &month)?);
            let sale = crate::reports::sale_totals(&payment);
            items.extend(self.report_writes(sold_at, payment.amount.currency, &sale)?);
            match self.transact(items).await {
                Ok(()) => {
                    crate::reports::committed(sold_at, payment.amount.currency, &sale);
                    return Ok(Fulfilment::Done { receipt_number: number });
                }
                // Fulfilled meanwhile, or a refund was counted meanwhile: read again.
                Err(e) if e.failed_condition_at(2) => continue,
                // Another payment took this number first: read the counter again.
                Err(e) if e.failed_condition_at(0) || e.failed_condition_at(1) => continue,
                Err(e) => {
                    // The user already owns a course of this order (bought twice concurrently):
                    // keep their access as it is and fulfil the rest.
                    let owned: Vec<String> = enrollments
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| e.failed_condition_at(3 + i))
                        .map(|(_, c)| (*c).clone())
                        .collect();
                    if owned.is_empty() {
                        return Err(e);
                    }
                    tracing::warn!(payment_id = %payment.id, courses = ?owned, "course already owned; fulfilment skips its enrollment");
                    skip_enrollments.extend(owned);
                }
            }
        }
        Err(kept_changing("the receipt counter"))
    }

    async fn receipt_counter(&self, year: i16) -> Result<i64, StoreError> {
        let item = self.get_item(&key(keys::receipt_counter(year), "COUNTER"), true).await?;
        Ok(item.map(|i| Fields::of(&i, "counter").i64("value")).transpose()?.unwrap_or(0))
    }

    /// The receipt counter moves from `current` to the next number, guarded by `current` (gap-free).
    fn counter_update(&self, year: i16, current: i64) -> Result<TransactWriteItem, StoreError> {
        let expr = Expr::update("SET #value = :next").name("#value", "value").value(":next", n(current + 1));
        let expr = if current == 0 {
            expr.only_if("attribute_not_exists(#value)")
        } else {
            expr.only_if("#value = :current").value(":current", n(current))
        };
        self.tx_update(&key(keys::receipt_counter(year), "COUNTER"), expr)
    }

    /// Makes the buyer's access match the payment. Invariant: an item of a payment grants access
    /// exactly while the payment is fulfilled and the item is not refunded
    /// (`azora_domain::payment::refunded_items`). Grants are conditional puts and revocations
    /// conditional deletes of this payment's enrollment only, so every call is idempotent and
    /// never touches access that came from elsewhere. Returns the courses revoked by this call.
    pub async fn sync_access(&self, payment_id: &str) -> Result<Vec<String>, StoreError> {
        let Some(payment) = self.get_payment(payment_id).await? else { return Ok(Vec::new()) };
        let Some(fulfilled_at) = payment.fulfilled_at else { return Ok(Vec::new()) };
        let refunded = refunded_items(&payment_item_cash(&payment), payment.refunded);
        let mut revoked = Vec::new();
        for (course_id, refunded) in course_ids(&payment).zip(refunded) {
            if !refunded {
                self.put_new(enrollment_of(&payment, course_id, fulfilled_at).to_item()?).await.or_done()?;
                continue;
            }
            let this_payment = Expr::when("paymentId = :pid").value(":pid", s(&payment.id));
            if self.delete(&enrollment_key(&payment.user_id, course_id), Some(this_payment)).await.applied()? {
                revoked.push(course_id.clone());
            }
        }
        Ok(revoked)
    }
}

fn enrollment_of(payment: &Payment, course_id: &str, at: Timestamp) -> Enrollment {
    Enrollment {
        user_id: payment.user_id.clone(),
        course_id: course_id.to_string(),
        payment_id: Some(payment.id.clone()),
        enrolled_at: at,
    }
}

fn course_ids(payment: &Payment) -> impl Iterator<Item = &String> {
    payment.items.iter().map(|i| match i {
        OrderItem::Course { course_id, .. } => course_id,
    })
}

impl ToItem for Payment {
    fn to_item(&self) -> Result<Item, StoreError> {
        let mut item = payment_key(&self.id).item([
            (keys::GSI1PK, s(keys::user_payments(self.user_id.as_str()))),
            (keys::GSI1SK, s(format!("{}#{}", keys::sortable(self.created_at), self.id))),
            ("paymentId", s(&self.id)),
            ("userId", s(self.user_id.as_str())),
            ("items", json(&self.items)?),
            ("amount", n(self.amount.amount)),
            ("currency", s(self.amount.currency.code())),
            ("status", s(self.status.as_str())),
            ("refundedAmount", n(0)),
            // What may still be refunded; reserved before calling Stripe so that concurrent
            // refunds can never exceed the charge (a condition cannot add two attributes).
            ("refundableRemaining", n(self.amount.amount)),
            ("createdAt", ts(self.created_at)),
            ("updatedAt", ts(self.updated_at)),
        ]);
        if let Some(email) = &self.buyer_email {
            item.insert("buyerEmail".to_string(), s(email));
        }
        if let Some(name) = &self.buyer_name {
            item.insert("buyerName".to_string(), s(name));
        }
        if let Some(rate) = self.tax_rate_bps {
            item.insert("taxRateBps".to_string(), n(rate));
        }
        if let Some(card) = &self.card {
            item.insert("paymentCard".to_string(), json(card)?);
        }
        Ok(item)
    }
}

from_item! { Payment as "payment", |f| {
    id: f.string("paymentId")?, user_id: f.user("userId")?, buyer_email: f.opt("buyerEmail"), items: f.json("items")?,
    buyer_name: f.opt("buyerName"), tax_rate_bps: f.opt_i64("taxRateBps")?.and_then(|r| u32::try_from(r).ok()),
    card: f.opt_json("paymentCard")?,
    amount: f.money("amount", "currency")?, status: f.named("status", PaymentStatus::parse)?,
    stripe_payment_intent_id: f.opt("stripePaymentIntentId"), refunded: f.count("refundedAmount")?,
    refundable: f.count("refundableRemaining")?, receipt_number: f.opt("receiptNumber"),
    created_at: f.ts("createdAt")?, updated_at: f.ts("updatedAt")?, paid_at: f.opt_ts("paidAt")?,
    fulfilled_at: f.opt_ts("fulfilledAt")?,
} }
