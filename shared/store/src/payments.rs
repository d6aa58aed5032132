//! Payments: creation, state transitions guarded by the domain's state machine, the PaymentIntent
//! link, history, and fulfilment (receipt number + enrollments, exactly once).

use crate::cursor::Page;
use crate::cursor::PartitionPage;
use crate::error::{StoreError, from_sdk, from_transact};
use crate::item::{Item, get_i64, get_s, n, opt_i64, opt_s, s};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use azora_domain::payment::{OrderItem, Payment, PaymentStatus, payment_item_cash, receipt_number, refunded_items};
use azora_domain::{Currency, Money, UserId};
use jiff::Timestamp;

/// What fulfilling a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fulfilment {
    /// This call granted access and issued the receipt.
    Done { receipt_number: String },
    /// It had been fulfilled before (a duplicate event): nothing was written.
    AlreadyDone,
}

fn ts(t: Timestamp) -> AttributeValue {
    s(t.to_string())
}

fn parse_ts(item: &Item, name: &str) -> Result<Option<Timestamp>, StoreError> {
    opt_s(item, name).map(|v| v.parse().map_err(|_| StoreError::Malformed(format!("payment.{name}")))).transpose()
}

/// The statuses from which the state machine allows moving to `to`.
fn sources_of(to: PaymentStatus) -> Vec<PaymentStatus> {
    PaymentStatus::ALL.into_iter().filter(|from| from.can_become(to)).collect()
}

/// `#status IN (:s0, :s1, ...)` with its values.
fn status_in(statuses: &[PaymentStatus]) -> (String, Vec<(String, AttributeValue)>) {
    let names: Vec<String> = (0..statuses.len()).map(|i| format!(":src{i}")).collect();
    let values = names.iter().zip(statuses).map(|(n, st)| (n.clone(), s(st.as_str()))).collect();
    (format!("#status IN ({})", names.join(", ")), values)
}

impl Store {
    /// Writes a new payment; `ConditionFailed` when the id exists (a retried request).
    pub async fn create_payment(&self, p: &Payment) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(payment_item(p)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }

    pub async fn get_payment(&self, payment_id: &str) -> Result<Option<Payment>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::PAYMENT))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(payment_from_item).transpose()
    }

    /// Records the PaymentIntent on the payment and the reverse link the webhook worker uses.
    pub async fn link_payment_intent(&self, payment_id: &str, pi: &str, now: Timestamp) -> Result<(), StoreError> {
        let link = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(keys::payment_intent_link(pi)))
            .item(keys::SK, s("LINK"))
            .item("paymentId", s(payment_id))
            .condition_expression("attribute_not_exists(PK) OR paymentId = :pid")
            .expression_attribute_values(":pid", s(payment_id))
            .build()
            .map_err(|e| StoreError::Malformed(e.to_string()))?;
        let update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::PAYMENT))
            .update_expression("SET stripePaymentIntentId = :pi, updatedAt = :now")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(stripePaymentIntentId) OR stripePaymentIntentId = :pi)",
            )
            .expression_attribute_values(":pi", s(pi))
            .expression_attribute_values(":now", ts(now))
            .build()
            .map_err(|e| StoreError::Malformed(e.to_string()))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(link).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .send()
            .await
            .map_err(from_transact)?;
        Ok(())
    }

    pub async fn payment_for_intent(&self, pi: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment_intent_link(pi)))
            .key(keys::SK, s("LINK"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(|i| get_s(i, "paymentId").map(str::to_string)).transpose()
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
        let sources = sources_of(to);
        if sources.is_empty() {
            return Ok(false);
        }
        let (condition, values) = status_in(&sources);
        let mut update = "SET #status = :to, updatedAt = :now".to_string();
        if to == PaymentStatus::Succeeded {
            update.push_str(", paidAt = if_not_exists(paidAt, :now)");
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::PAYMENT))
            .update_expression(update)
            .condition_expression(format!("attribute_exists(PK) AND {condition}"))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":now", ts(now));
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A user's payments, newest first.
    pub async fn list_payments(
        &self,
        user: &UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Payment>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: true,
                partition: &keys::user_payments(user.as_str()),
                sort_prefix: None,
                newest_first: true,
                consistent: false,
                limit,
                cursor,
            },
            payment_from_item,
        )
        .await
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
            let next = current + 1;
            let number = receipt_number(year, next as u64);
            let mut items = vec![
                counter_update(&self.table, year, current)?,
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .item(keys::PK, s(keys::receipt(&number)))
                            .item(keys::SK, s("RECEIPT"))
                            .item("paymentId", s(&payment.id))
                            .condition_expression("attribute_not_exists(PK)")
                            .build()
                            .map_err(|e| StoreError::Malformed(e.to_string()))?,
                    )
                    .build(),
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .key(keys::PK, s(keys::payment(&payment.id)))
                            .key(keys::SK, s(keys::PAYMENT))
                            .update_expression("SET receiptNumber = :num, fulfilledAt = :now, updatedAt = :now")
                            .condition_expression(
                                "attribute_not_exists(fulfilledAt) AND #status IN (:s1, :s2, :s3) AND refundedAmount = :seen",
                            )
                            .expression_attribute_names("#status", "status")
                            .expression_attribute_values(":seen", n(payment.refunded))
                            .expression_attribute_values(":num", s(&number))
                            .expression_attribute_values(":now", ts(now))
                            .expression_attribute_values(":s1", s(PaymentStatus::Succeeded.as_str()))
                            .expression_attribute_values(":s2", s(PaymentStatus::PartiallyRefunded.as_str()))
                            .expression_attribute_values(":s3", s(PaymentStatus::Refunded.as_str()))
                            .build()
                            .map_err(|e| StoreError::Malformed(e.to_string()))?,
                    )
                    .build(),
            ];
            let enrollments: Vec<&String> = course_ids(&payment)
                .zip(&refunded)
                .filter(|(c, refunded)| !**refunded && !skip_enrollments.contains(c))
                .map(|(c, _)| c)
                .collect();
            for course_id in &enrollments {
                items.push(
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(&self.table)
                                .item(keys::PK, s(keys::user(payment.user_id.as_str())))
                                .item(keys::SK, s(keys::enrollment(course_id)))
                                .item("courseId", s(*course_id))
                                .item("userId", s(payment.user_id.as_str()))
                                .item("paymentId", s(&payment.id))
                                .item("enrolledAt", ts(now))
                                .condition_expression("attribute_not_exists(PK)")
                                .build()
                                .map_err(|e| StoreError::Malformed(e.to_string()))?,
                        )
                        .build(),
                );
            }
            items.extend(crate::earnings::sale_writes(&self.table, &payment, hold_seconds)?);
            match self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(from_transact)
            {
                Ok(_) => return Ok(Fulfilment::Done { receipt_number: number }),
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
        Err(StoreError::Backend { operation: "TransactWriteItems", message: "receipt counter kept changing".into() })
    }

    async fn receipt_counter(&self, year: i16) -> Result<i64, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::receipt_counter(year)))
            .key(keys::SK, s("COUNTER"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        Ok(out.item.as_ref().map(|i| get_i64(i, "value")).transpose()?.unwrap_or(0))
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
                let result = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .item(keys::PK, s(keys::user(payment.user_id.as_str())))
                    .item(keys::SK, s(keys::enrollment(course_id)))
                    .item("courseId", s(course_id))
                    .item("userId", s(payment.user_id.as_str()))
                    .item("paymentId", s(&payment.id))
                    .item("enrolledAt", ts(fulfilled_at))
                    .condition_expression("attribute_not_exists(PK)")
                    .send()
                    .await;
                match result.map_err(|e| from_sdk("PutItem", e)) {
                    Ok(_) | Err(StoreError::ConditionFailed) => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(keys::PK, s(keys::user(payment.user_id.as_str())))
                .key(keys::SK, s(keys::enrollment(course_id)))
                .condition_expression("paymentId = :pid")
                .expression_attribute_values(":pid", s(&payment.id))
                .send()
                .await;
            match result.map_err(|e| from_sdk("DeleteItem", e)) {
                Ok(_) => revoked.push(course_id.clone()),
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(revoked)
    }
}

fn course_ids(payment: &Payment) -> impl Iterator<Item = &String> {
    payment.items.iter().map(|i| match i {
        OrderItem::Course { course_id, .. } => course_id,
    })
}

/// A new payment's item.
pub(crate) fn payment_item(p: &Payment) -> Result<Item, StoreError> {
    let items = serde_json::to_string(&p.items).map_err(|e| StoreError::Malformed(e.to_string()))?;
    let mut item = Item::from([
        (keys::PK.to_string(), s(keys::payment(&p.id))),
        (keys::SK.to_string(), s(keys::PAYMENT)),
        (keys::GSI1PK.to_string(), s(keys::user_payments(p.user_id.as_str()))),
        (keys::GSI1SK.to_string(), s(format!("{}#{}", keys::sortable(p.created_at), p.id))),
        ("paymentId".to_string(), s(&p.id)),
        ("userId".to_string(), s(p.user_id.as_str())),
        ("items".to_string(), s(items)),
        ("amount".to_string(), n(p.amount.amount)),
        ("currency".to_string(), s(p.amount.currency.code())),
        ("status".to_string(), s(p.status.as_str())),
        ("refundedAmount".to_string(), n(0)),
        // What may still be refunded; reserved before calling Stripe so that concurrent
        // refunds can never exceed the charge (a condition cannot add two attributes).
        ("refundableRemaining".to_string(), n(p.amount.amount)),
        ("createdAt".to_string(), ts(p.created_at)),
        ("updatedAt".to_string(), ts(p.updated_at)),
    ]);
    if let Some(email) = &p.buyer_email {
        item.insert("buyerEmail".to_string(), s(email));
    }
    Ok(item)
}

fn counter_update(table: &str, year: i16, current: i64) -> Result<TransactWriteItem, StoreError> {
    let condition = if current == 0 { "attribute_not_exists(#value)" } else { "#value = :current" };
    let mut update = Update::builder()
        .table_name(table)
        .key(keys::PK, s(keys::receipt_counter(year)))
        .key(keys::SK, s("COUNTER"))
        .update_expression("SET #value = :next")
        .condition_expression(condition)
        .expression_attribute_names("#value", "value")
        .expression_attribute_values(":next", n(current + 1));
    if current != 0 {
        update = update.expression_attribute_values(":current", n(current));
    }
    Ok(TransactWriteItem::builder().update(update.build().map_err(|e| StoreError::Malformed(e.to_string()))?).build())
}

pub(crate) fn payment_from_item(item: &Item) -> Result<Payment, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("payment.{what}"));
    let currency = Currency::parse(get_s(item, "currency")?).map_err(|_| malformed("currency"))?;
    Ok(Payment {
        id: get_s(item, "paymentId")?.to_string(),
        user_id: UserId::parse(get_s(item, "userId")?).map_err(|_| malformed("userId"))?,
        buyer_email: opt_s(item, "buyerEmail").map(str::to_string),
        items: serde_json::from_str(get_s(item, "items")?).map_err(|_| malformed("items"))?,
        amount: Money::new(get_i64(item, "amount")?, currency),
        status: PaymentStatus::parse(get_s(item, "status")?).ok_or_else(|| malformed("status"))?,
        stripe_payment_intent_id: opt_s(item, "stripePaymentIntentId").map(str::to_string),
        refunded: opt_i64(item, "refundedAmount")?.unwrap_or(0),
        refundable: opt_i64(item, "refundableRemaining")?.unwrap_or(0),
        receipt_number: opt_s(item, "receiptNumber").map(str::to_string),
        created_at: parse_ts(item, "createdAt")?.ok_or_else(|| malformed("createdAt"))?,
        updated_at: parse_ts(item, "updatedAt")?.ok_or_else(|| malformed("updatedAt"))?,
        paid_at: parse_ts(item, "paidAt")?,
        fulfilled_at: parse_ts(item, "fulfilledAt")?,
    })
}
