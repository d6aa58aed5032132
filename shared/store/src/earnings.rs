//! The instructors' earnings ledger and balances.
//!
//! Entries are immutable: a sale adds the instructor's share as `pending`; it becomes `available`
//! when released after the refund window (the payout job releases it); a refund adds a negative
//! entry in the bucket its sale is in; a payout moves `available` to `payingOut`, then to
//! `paidOut` once its transfer is recorded (see `payouts`). Balances are kept
//! per instructor and currency, changed only in the same transaction as the entry that explains
//! the change.

use crate::cursor::Page;
use crate::cursor::PartitionPage;
use crate::error::{StoreError, from_sdk, from_transact};
use crate::item::{Item, get_i64, get_s, n, opt_i64, opt_s, s};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
use azora_domain::payment::{OrderItem, Payment, instructor_share, payment_item_cash, reversal_plan};
use azora_domain::{Currency, Money, UserId};
use jiff::Timestamp;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningEntry {
    pub kind: String,
    /// The instructor's signed amount.
    pub amount: Money,
    /// The customer-facing gross (sale price, or refunded part of it).
    pub gross: i64,
    pub payment_id: Option<String>,
    pub course_id: Option<String>,
    pub reference: Option<String>,
    pub at: Timestamp,
    pub available_on: Option<Timestamp>,
    pub released: bool,
}

/// One item's reversal, as applied to the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedReversal {
    /// Names this ledger change for good (payment, refunded totals before and after, course):
    /// the idempotency key of whatever follows from it.
    pub key: String,
    pub instructor_id: UserId,
    pub course_id: String,
    /// Taken back from the instructor (negative: given back, when a counted refund was undone).
    pub amount: Money,
    /// The payout transfer that carried the sale, when it was paid out already.
    pub paid_out_transfer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutAccount {
    pub account_id: String,
    pub payouts_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Balance {
    pub instructor_id: String,
    pub currency: String,
    pub pending: i64,
    pub available: i64,
    pub paid_out: i64,
    /// Reserved by a payout whose transfer is not recorded yet (see `payouts`).
    pub paying_out: i64,
    pub reversed: i64,
    pub lifetime: i64,
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Malformed(e.to_string()))
}

pub(crate) fn sale_sk(payment: &Payment, course_id: &str) -> String {
    let at = payment.paid_at.unwrap_or(payment.created_at);
    format!("EARNING#{}#sale#{}#{course_id}", keys::sortable(at), payment.id)
}

/// The writes that record a payment's sales in the ledger, for the fulfilment transaction: each
/// item's share of the cash received for it (`azora_domain::payment::item_cash`).
pub(crate) fn sale_writes(
    table: &str,
    payment: &Payment,
    hold_seconds: i64,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let paid_at = payment.paid_at.unwrap_or(payment.created_at);
    let available_on = paid_at.as_second() + hold_seconds;
    let mut writes = Vec::new();
    let mut per_balance: BTreeMap<(String, Currency), i64> = BTreeMap::new();
    for (item, cash) in payment.items.iter().zip(payment_item_cash(payment)) {
        let OrderItem::Course { course_id, instructor_id, price, .. } = item;
        let share = instructor_share(cash);
        writes.push(
            TransactWriteItem::builder()
                .put(build(
                    Put::builder()
                        .table_name(table)
                        .item(keys::PK, s(keys::instructor(instructor_id.as_str())))
                        .item(keys::SK, s(sale_sk(payment, course_id)))
                        .item("kind", s("sale"))
                        .item("amount", n(share))
                        .item("gross", n(cash))
                        .item("currency", s(price.currency.code()))
                        .item("paymentId", s(&payment.id))
                        .item("courseId", s(course_id))
                        .item("at", s(paid_at.to_string()))
                        .item("availableOn", n(available_on))
                        .condition_expression("attribute_not_exists(SK)")
                        .build(),
                )?)
                .build(),
        );
        writes.push(
            TransactWriteItem::builder()
                .update(build(
                    Update::builder()
                        .table_name(table)
                        .key(keys::PK, s(keys::course(course_id)))
                        .key(keys::SK, s(keys::COURSE))
                        .update_expression(
                            "ADD enrollmentCount :one, SortPopular :one, salesCount :one, revenueGross :gross, revenueInstructor :share",
                        )
                        .expression_attribute_values(":one", n(1))
                        .expression_attribute_values(":gross", n(cash))
                        .expression_attribute_values(":share", n(share))
                        .build(),
                )?)
                .build(),
        );
        *per_balance.entry((instructor_id.to_string(), price.currency)).or_default() += share;
    }
    for ((instructor, currency), share) in per_balance {
        writes.push(balance_update(table, &instructor, currency, &[("pending", share), ("lifetime", share)])?);
    }
    Ok(writes)
}

fn balance_update(
    table: &str,
    instructor: &str,
    currency: Currency,
    deltas: &[(&str, i64)],
) -> Result<TransactWriteItem, StoreError> {
    let adds: Vec<String> = deltas.iter().enumerate().map(|(i, (field, _))| format!("{field} :d{i}")).collect();
    let mut update = Update::builder()
        .table_name(table)
        .key(keys::PK, s(keys::instructor(instructor)))
        .key(keys::SK, s(keys::balance(currency.code())))
        .update_expression(format!(
            "SET GSI1PK = :all, GSI1SK = :me, instructorId = :iid, currency = :cur ADD {}",
            adds.join(", ")
        ))
        .expression_attribute_values(":all", s(keys::INSTRUCTOR_BALANCES))
        .expression_attribute_values(":me", s(format!("{instructor}#{}", currency.code())))
        .expression_attribute_values(":iid", s(instructor))
        .expression_attribute_values(":cur", s(currency.code()));
    for (i, (_, delta)) in deltas.iter().enumerate() {
        update = update.expression_attribute_values(format!(":d{i}"), n(*delta));
    }
    Ok(TransactWriteItem::builder().update(build(update.build())?).build())
}

impl Store {
    /// Brings the instructors' ledger in line with the payment's counted refunds. Invariant: for
    /// a fulfilled payment, `reversedGross` (what the ledger has reversed) moves to
    /// `refundedAmount` (what was refunded, incl. lost disputes) by exactly one transaction per
    /// change, guarded by optimistic concurrency on `reversedGross`; the entries are keyed by the
    /// change, so a retry, a duplicate event or a concurrent caller applies it once. An unfulfilled
    /// payment has no sales yet: nothing is reversed, and the fulfilment syncs afterwards.
    /// Returns the changes applied by this call (empty when there was nothing to do).
    pub async fn sync_reversals(&self, payment_id: &str, now: Timestamp) -> Result<Vec<AppliedReversal>, StoreError> {
        for _ in 0..10 {
            let item = self
                .client
                .get_item()
                .table_name(&self.table)
                .key(keys::PK, s(keys::payment(payment_id)))
                .key(keys::SK, s(keys::PAYMENT))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| from_sdk("GetItem", e))?
                .item
                .ok_or(StoreError::ConditionFailed)?;
            let payment = crate::payments::payment_from_item(&item)?;
            if payment.fulfilled_at.is_none() {
                return Ok(Vec::new());
            }
            let before = opt_i64(&item, "reversedGross")?.unwrap_or(0);
            let after = payment.refunded.clamp(0, payment.amount.amount);
            if before == after {
                return Ok(Vec::new());
            }
            let plan = reversal_plan(&payment_item_cash(&payment), before, after);
            let change = format!("{payment_id}.{before}-{after}");
            let mut writes = vec![
                TransactWriteItem::builder()
                    .update(build(
                        Update::builder()
                            .table_name(&self.table)
                            .key(keys::PK, s(keys::payment(payment_id)))
                            .key(keys::SK, s(keys::PAYMENT))
                            .update_expression("SET reversedGross = :after")
                            .condition_expression(
                                "reversedGross = :before OR (attribute_not_exists(reversedGross) AND :before = :zero)",
                            )
                            .expression_attribute_values(":after", n(after))
                            .expression_attribute_values(":before", n(before))
                            .expression_attribute_values(":zero", n(0))
                            .build(),
                    )?)
                    .build(),
            ];
            let mut per_balance: BTreeMap<(String, Currency), (i64, i64)> = BTreeMap::new();
            let mut applied = Vec::new();
            for (item, (gross, reversal)) in payment.items.iter().zip(plan) {
                if gross == 0 {
                    continue;
                }
                let OrderItem::Course { course_id, instructor_id, price, .. } = item;
                let sale_key = sale_sk(&payment, course_id);
                let sale = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::instructor(instructor_id.as_str())))
                    .key(keys::SK, s(&sale_key))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| from_sdk("GetItem", e))?
                    .item;
                let Some(sale) = sale else { continue };
                let released = sale.contains_key("releasedAt");
                applied.push(AppliedReversal {
                    key: format!("{change}.{course_id}"),
                    instructor_id: instructor_id.clone(),
                    course_id: course_id.clone(),
                    amount: Money::new(reversal, price.currency),
                    paid_out_transfer: opt_s(&sale, "transferId").map(str::to_string),
                });
                let available_on = opt_i64(&sale, "availableOn")?.unwrap_or(now.as_second());
                let mut entry = Put::builder()
                    .table_name(&self.table)
                    .item(keys::PK, s(keys::instructor(instructor_id.as_str())))
                    .item(keys::SK, s(format!("EARNING#{}#refund#{change}#{course_id}", keys::sortable(now))))
                    .item("kind", s(if reversal >= 0 { "refund" } else { "refund_undone" }))
                    .item("amount", n(-reversal))
                    .item("gross", n(-gross))
                    .item("currency", s(price.currency.code()))
                    .item("paymentId", s(payment_id))
                    .item("courseId", s(course_id))
                    .item("reference", s(&change))
                    .item("at", s(now.to_string()))
                    .item("availableOn", n(available_on))
                    .condition_expression("attribute_not_exists(SK)");
                if released {
                    entry = entry.item("releasedAt", s(now.to_string()));
                }
                writes.push(TransactWriteItem::builder().put(build(entry.build())?).build());
                // The sale must still be in the bucket we charge the reversal to.
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::instructor(instructor_id.as_str())))
                    .key(keys::SK, s(&sale_key))
                    .condition_expression(if released {
                        "attribute_exists(releasedAt)"
                    } else {
                        "attribute_not_exists(releasedAt)"
                    });
                writes.push(TransactWriteItem::builder().condition_check(build(check.build())?).build());
                writes.push(
                    TransactWriteItem::builder()
                        .update(build(
                            Update::builder()
                                .table_name(&self.table)
                                .key(keys::PK, s(keys::course(course_id)))
                                .key(keys::SK, s(keys::COURSE))
                                .update_expression("ADD refundsGross :gross, revenueInstructor :neg")
                                .expression_attribute_values(":gross", n(gross))
                                .expression_attribute_values(":neg", n(-reversal))
                                .build(),
                        )?)
                        .build(),
                );
                let bucket = per_balance.entry((instructor_id.to_string(), price.currency)).or_default();
                if released {
                    bucket.1 += reversal;
                } else {
                    bucket.0 += reversal;
                }
            }
            for ((instructor, currency), (pending, available)) in per_balance {
                writes.push(balance_update(
                    &self.table,
                    &instructor,
                    currency,
                    &[("pending", -pending), ("available", -available), ("reversed", pending + available)],
                )?);
            }
            // Layout: [0] payment guard, then per item [entry, sale check, course], then balances.
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
                .map_err(from_transact)
            {
                Ok(_) => return Ok(applied),
                // Another caller moved `reversedGross`, or the payout job released a sale: read
                // again (a change already applied then shows as nothing left to do).
                Err(StoreError::TransactionCanceled { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend {
            operation: "TransactWriteItems",
            message: "earnings reversal kept conflicting".into(),
        })
    }

    /// An instructor's ledger, newest first.
    pub async fn list_earnings(
        &self,
        instructor: &UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<EarningEntry>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: false,
                partition: &keys::instructor(instructor.as_str()),
                sort_prefix: Some("EARNING#"),
                newest_first: true,
                consistent: false,
                limit,
                cursor,
            },
            entry_from_item,
        )
        .await
    }

    pub async fn balances(&self, instructor: &UserId) -> Result<Vec<Balance>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :balance)")
            .expression_attribute_values(":pk", s(keys::instructor(instructor.as_str())))
            .expression_attribute_values(":balance", s("BALANCE#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("Query", e))?;
        out.items().iter().map(balance_from_item).collect()
    }
}

pub(crate) fn balance_from_item(item: &Item) -> Result<Balance, StoreError> {
    Ok(Balance {
        instructor_id: opt_s(item, "instructorId").map(str::to_string).unwrap_or_default(),
        currency: get_s(item, "currency")?.to_string(),
        pending: opt_i64(item, "pending")?.unwrap_or(0),
        available: opt_i64(item, "available")?.unwrap_or(0),
        paid_out: opt_i64(item, "paidOut")?.unwrap_or(0),
        paying_out: opt_i64(item, "payingOut")?.unwrap_or(0),
        reversed: opt_i64(item, "reversed")?.unwrap_or(0),
        lifetime: opt_i64(item, "lifetime")?.unwrap_or(0),
    })
}

pub(crate) fn entry_from_item(item: &Item) -> Result<EarningEntry, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("earning.{what}"));
    let currency = Currency::parse(get_s(item, "currency")?).map_err(|_| malformed("currency"))?;
    Ok(EarningEntry {
        kind: get_s(item, "kind")?.to_string(),
        amount: Money::new(get_i64(item, "amount")?, currency),
        gross: opt_i64(item, "gross")?.unwrap_or(0),
        payment_id: opt_s(item, "paymentId").map(str::to_string),
        course_id: opt_s(item, "courseId").map(str::to_string),
        reference: opt_s(item, "reference").map(str::to_string),
        at: get_s(item, "at")?.parse().map_err(|_| malformed("at"))?,
        available_on: opt_i64(item, "availableOn")?.and_then(|t| Timestamp::from_second(t).ok()),
        released: item.contains_key("releasedAt"),
    })
}

impl Store {
    pub async fn payout_account(&self, instructor: &UserId) -> Result<Option<PayoutAccount>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(instructor.as_str())))
            .key(keys::SK, s("PAYOUT_ACCOUNT"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item
            .as_ref()
            .map(|i| {
                Ok(PayoutAccount {
                    account_id: get_s(i, "accountId")?.to_string(),
                    payouts_enabled: crate::item::get_bool(i, "payoutsEnabled"),
                })
            })
            .transpose()
    }

    /// Records the instructor's connected account unless one exists; returns the one kept.
    pub async fn keep_payout_account(
        &self,
        instructor: &UserId,
        account_id: &str,
    ) -> Result<PayoutAccount, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::user(instructor.as_str())))
            .item(keys::SK, s("PAYOUT_ACCOUNT"))
            .item("accountId", s(account_id))
            .item("payoutsEnabled", crate::item::b(false))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match put.map_err(|e| from_sdk("PutItem", e)) {
            Ok(_) => Ok(PayoutAccount { account_id: account_id.to_string(), payouts_enabled: false }),
            Err(StoreError::ConditionFailed) => self
                .payout_account(instructor)
                .await?
                .ok_or_else(|| StoreError::Malformed("payout account vanished".into())),
            Err(e) => Err(e),
        }
    }

    /// `account.updated`: follow Stripe's `payouts_enabled` for the instructor's own account.
    pub async fn set_payouts_enabled(
        &self,
        instructor: &UserId,
        account_id: &str,
        enabled: bool,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(instructor.as_str())))
            .key(keys::SK, s("PAYOUT_ACCOUNT"))
            .update_expression("SET payoutsEnabled = :on")
            .condition_expression("accountId = :acc")
            .expression_attribute_values(":on", crate::item::b(enabled))
            .expression_attribute_values(":acc", s(account_id))
            .send()
            .await;
        match result.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every instructor balance (instructor × currency), a page at a time, for the payout job.
    pub async fn balances_page(&self, limit: i32, cursor: Option<&str>) -> Result<Page<Balance>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: true,
                partition: keys::INSTRUCTOR_BALANCES,
                sort_prefix: None,
                newest_first: false,
                consistent: false,
                limit,
                cursor,
            },
            balance_from_item,
        )
        .await
    }

    pub async fn balance(&self, instructor: &UserId, currency: Currency) -> Result<Balance, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::instructor(instructor.as_str())))
            .key(keys::SK, s(keys::balance(currency.code())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        Ok(out.item.as_ref().map(balance_from_item).transpose()?.unwrap_or_default())
    }

    /// Moves the instructor's entries whose hold has ended from pending to available, each once.
    pub async fn release_due(
        &self,
        instructor: &UserId,
        currency: Currency,
        now: Timestamp,
    ) -> Result<u32, StoreError> {
        let mut released = 0;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :earning)")
                .filter_expression("attribute_not_exists(releasedAt) AND availableOn <= :now AND currency = :cur")
                .expression_attribute_values(":pk", s(keys::instructor(instructor.as_str())))
                .expression_attribute_values(":earning", s("EARNING#"))
                .expression_attribute_values(":now", n(now.as_second()))
                .expression_attribute_values(":cur", s(currency.code()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| from_sdk("Query", e))?;
            for item in out.items() {
                let sk = get_s(item, keys::SK)?.to_string();
                let amount = get_i64(item, "amount")?;
                let mark = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::instructor(instructor.as_str())))
                    .key(keys::SK, s(sk))
                    .update_expression("SET releasedAt = :now")
                    .condition_expression("attribute_not_exists(releasedAt)")
                    .expression_attribute_values(":now", s(now.to_string()));
                let result = self
                    .client
                    .transact_write_items()
                    .transact_items(TransactWriteItem::builder().update(build(mark.build())?).build())
                    .transact_items(balance_update(
                        &self.table,
                        instructor.as_str(),
                        currency,
                        &[("pending", -amount), ("available", amount)],
                    )?)
                    .send()
                    .await
                    .map_err(from_transact);
                match result {
                    Ok(_) => released += 1,
                    Err(e) if e.is_condition() => {}
                    Err(e) => return Err(e),
                }
            }
            match out.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(released),
            }
        }
    }

    // Payouts themselves (record before transfer) live in `payouts`.

    /// Money taken back from a connected account after a refund: it no longer counts as paid out.
    pub async fn record_transfer_reversal(
        &self,
        reversal: &AppliedReversal,
        reversal_id: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let iid = reversal.instructor_id.as_str();
        let entry = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(keys::instructor(iid)))
            .item(
                keys::SK,
                // Keyed by the ledger change alone, so a retry at another time finds it.
                s(format!("EARNING#payout_reversal#{}", reversal.key)),
            )
            .item("kind", s("payout_reversal"))
            .item("amount", n(reversal.amount.amount))
            .item("gross", n(0))
            .item("currency", s(reversal.amount.currency.code()))
            .item("courseId", s(&reversal.course_id))
            .item("reference", s(reversal_id))
            .item("at", s(now.to_string()))
            .item("releasedAt", s(now.to_string()))
            .condition_expression("attribute_not_exists(SK)");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(build(entry.build())?).build())
            .transact_items(balance_update(
                &self.table,
                iid,
                reversal.amount.currency,
                &[("available", reversal.amount.amount), ("paidOut", -reversal.amount.amount)],
            )?)
            .send()
            .await
            .map_err(from_transact);
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.failed_condition_at(0) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
