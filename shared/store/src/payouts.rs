//! Payouts to instructors: **record before transfer**.
//!
//! A payout is written as an *intent* before Stripe is called, in one transaction that
//! - creates the payout record `INSTRUCTOR#<id>` / `PAYOUT#<run>#<CUR>` (once per instructor,
//!   currency and run: `attribute_not_exists`), listing exactly the ledger entries it covers and
//!   their sum;
//! - writes its ledger entry (`kind = payout`, the negative amount) and moves that amount from the
//!   balance's `available` to `payingOut`, on condition that `available` is still what the entries
//!   were summed against (nothing moved in between);
//! - marks each covered entry `payoutId = <payout id>`, on condition that it is released and not
//!   reserved by another payout.
//!
//! Invariant: an earnings entry is carried by at most one payout, and a payout pays exactly the
//! entries it reserved, so no run (a retry, the next day's, a concurrent one) can pay an entry
//! twice, and a payout never pays more than the available balance it was reserved from.
//!
//! Then the job calls Stripe with the payout id as idempotency key and transfer group, and marks
//! the payout `paid` with the transfer id (moving `payingOut` to `paidOut` and tagging the covered
//! entries with `transferId`, so a later refund knows which transfer to reverse). A payout left
//! `pending` (a crash, Stripe unavailable, `balance_insufficient`) is completed by the next run
//! with the same key and amount, never re-reserved. A refund landing while a payout is pending or
//! in flight finds its sale reserved but not yet tagged with a transfer: its reversal is charged
//! to `available` (a negative balance that the next payout nets out), as for any refund the
//! connected account cannot return.

use crate::error::{StoreError, from_sdk, from_transact};
use crate::item::{Item, get_i64, get_s, n, opt_i64, opt_s, s};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use azora_domain::{Currency, Money, UserId};
use jiff::Timestamp;

/// Entries one payout covers at most (a transaction holds 100 items; 3 are the record, the
/// ledger entry and the balance). An instructor with more is paid the rest by the next run.
pub const MAX_ENTRIES_PER_PAYOUT: usize = 90;

const PENDING: &str = "pending";
const PAID: &str = "paid";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutStatus {
    /// Reserved; the transfer may or may not have happened (the job finds out with the key).
    Pending,
    /// The transfer exists and is recorded.
    Paid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// `payout-<instructor>-<CUR>-<run>`: also the Stripe idempotency key and transfer group.
    pub id: String,
    pub instructor_id: UserId,
    pub run: String,
    pub amount: Money,
    /// The connected account the payout goes to (fixed when reserved).
    pub account_id: String,
    pub status: PayoutStatus,
    pub transfer_id: Option<String>,
    /// The sort keys of the ledger entries it covers.
    pub entries: Vec<String>,
    /// The sort key of its own ledger entry (`kind = payout`).
    pub ledger_entry: String,
    pub created_at: Timestamp,
    /// Transfer attempts that failed, and the last failure.
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// What [`Store::reserve_payout`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// A new intent, reserved now.
    Created(Payout),
    /// This instructor, currency and run already has a payout (pending or paid).
    Exists(Payout),
    /// Nothing to pay: no released, unreserved entries with a positive sum.
    Nothing { available: i64 },
}

pub fn payout_id(instructor: &UserId, currency: Currency, run: &str) -> String {
    format!("payout-{instructor}-{}-{run}", currency.code())
}

fn record_sk(run: &str, currency: Currency) -> String {
    format!("PAYOUT#{run}#{}", currency.code())
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Malformed(e.to_string()))
}

fn payout_from_item(item: &Item) -> Result<Payout, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("payout.{what}"));
    let currency = Currency::parse(get_s(item, "currency")?).map_err(|_| malformed("currency"))?;
    let instructor_id = UserId::parse(get_s(item, "instructorId")?).map_err(|_| malformed("instructorId"))?;
    let entries = match item.get("entries") {
        Some(AttributeValue::L(list)) => {
            list.iter().map(|v| v.as_s().cloned().map_err(|_| malformed("entries"))).collect::<Result<Vec<_>, _>>()?
        }
        Some(_) => return Err(malformed("entries")),
        None => Vec::new(),
    };
    Ok(Payout {
        id: get_s(item, "payoutId")?.to_string(),
        instructor_id,
        run: get_s(item, "run")?.to_string(),
        amount: Money::new(get_i64(item, "amount")?, currency),
        account_id: get_s(item, "accountId")?.to_string(),
        status: if get_s(item, "status")? == PAID { PayoutStatus::Paid } else { PayoutStatus::Pending },
        transfer_id: opt_s(item, "transferId").map(str::to_string),
        entries,
        ledger_entry: get_s(item, "ledgerEntry")?.to_string(),
        created_at: get_s(item, "createdAt")?.parse().map_err(|_| malformed("createdAt"))?,
        attempts: opt_i64(item, "attempts")?.unwrap_or(0),
        last_error: opt_s(item, "lastError").map(str::to_string),
    })
}

/// A payout record written by the code before intents (a bare marker with a transfer id) reads
/// as paid.
fn legacy_marker(item: &Item) -> bool {
    !item.contains_key("status")
}

impl Store {
    /// This instructor's payout of `run` in `currency`, if any.
    pub async fn get_payout(
        &self,
        instructor: &UserId,
        currency: Currency,
        run: &str,
    ) -> Result<Option<Payout>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::instructor(instructor.as_str())))
            .key(keys::SK, s(record_sk(run, currency)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        match out.item {
            None => Ok(None),
            Some(item) if legacy_marker(&item) => Ok(Some(Payout {
                id: payout_id(instructor, currency, run),
                instructor_id: instructor.clone(),
                run: run.to_string(),
                amount: Money::new(opt_i64(&item, "amount")?.unwrap_or(0), currency),
                account_id: String::new(),
                status: PayoutStatus::Paid,
                transfer_id: opt_s(&item, "transferId").map(str::to_string),
                entries: Vec::new(),
                ledger_entry: String::new(),
                created_at: Timestamp::UNIX_EPOCH,
                attempts: 0,
                last_error: None,
            })),
            Some(item) => payout_from_item(&item).map(Some),
        }
    }

    /// The instructor's payouts in `currency` still pending (any run), oldest first.
    pub async fn pending_payouts(&self, instructor: &UserId, currency: Currency) -> Result<Vec<Payout>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :payout)")
                .filter_expression("#status = :pending AND currency = :cur")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":pk", s(keys::instructor(instructor.as_str())))
                .expression_attribute_values(":payout", s("PAYOUT#"))
                .expression_attribute_values(":pending", s(PENDING))
                .expression_attribute_values(":cur", s(currency.code()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| from_sdk("Query", e))?;
            for item in out.items() {
                found.push(payout_from_item(item)?);
            }
            match out.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => break,
            }
        }
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    /// Released ledger entries in `currency` that no payout carries yet, oldest first:
    /// `(sort key, amount)`. Their sum is the instructor's available balance.
    async fn unreserved_entries(
        &self,
        instructor: &UserId,
        currency: Currency,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :earning)")
                .filter_expression(
                    "attribute_exists(releasedAt) AND attribute_not_exists(payoutId) AND attribute_not_exists(transferId) AND currency = :cur AND kind <> :payout",
                )
                .expression_attribute_values(":pk", s(keys::instructor(instructor.as_str())))
                .expression_attribute_values(":earning", s("EARNING#"))
                .expression_attribute_values(":cur", s(currency.code()))
                .expression_attribute_values(":payout", s("payout"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| from_sdk("Query", e))?;
            for item in out.items() {
                entries.push((get_s(item, keys::SK)?.to_string(), get_i64(item, "amount")?));
            }
            match out.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(entries),
            }
        }
    }

    /// Reserves this run's payout of the instructor's available balance in `currency` to
    /// `account_id` (see the module documentation), or finds the one that exists.
    pub async fn reserve_payout(
        &self,
        instructor: &UserId,
        currency: Currency,
        run: &str,
        account_id: &str,
        now: Timestamp,
    ) -> Result<Reservation, StoreError> {
        let iid = instructor.as_str();
        let id = payout_id(instructor, currency, run);
        for _ in 0..8 {
            if let Some(existing) = self.get_payout(instructor, currency, run).await? {
                return Ok(Reservation::Exists(existing));
            }
            let balance = self.balance(instructor, currency).await?;
            let entries = self.unreserved_entries(instructor, currency).await?;
            let sum: i64 = entries.iter().map(|(_, a)| a).sum();
            if sum != balance.available {
                // A release or a refund landed between the two reads: read again.
                continue;
            }
            let chosen: Vec<(String, i64)> = entries.into_iter().take(MAX_ENTRIES_PER_PAYOUT).collect();
            let amount: i64 = chosen.iter().map(|(_, a)| a).sum();
            if amount <= 0 {
                return Ok(Reservation::Nothing { available: balance.available });
            }
            let ledger_entry = format!("EARNING#{}#payout#{run}#{}", keys::sortable(now), currency.code());
            let payout = Payout {
                id: id.clone(),
                instructor_id: instructor.clone(),
                run: run.to_string(),
                amount: Money::new(amount, currency),
                account_id: account_id.to_string(),
                status: PayoutStatus::Pending,
                transfer_id: None,
                entries: chosen.iter().map(|(sk, _)| sk.clone()).collect(),
                ledger_entry: ledger_entry.clone(),
                created_at: now,
                attempts: 0,
                last_error: None,
            };
            let record = Put::builder()
                .table_name(&self.table)
                .item(keys::PK, s(keys::instructor(iid)))
                .item(keys::SK, s(record_sk(run, currency)))
                .item("payoutId", s(&id))
                .item("instructorId", s(iid))
                .item("run", s(run))
                .item("currency", s(currency.code()))
                .item("amount", n(amount))
                .item("accountId", s(account_id))
                .item("status", s(PENDING))
                .item("entries", AttributeValue::L(payout.entries.iter().map(|e| s(e.as_str())).collect()))
                .item("ledgerEntry", s(&ledger_entry))
                .item("createdAt", s(now.to_string()))
                .item("attempts", n(0))
                .condition_expression("attribute_not_exists(SK)");
            let entry = Put::builder()
                .table_name(&self.table)
                .item(keys::PK, s(keys::instructor(iid)))
                .item(keys::SK, s(&ledger_entry))
                .item("kind", s("payout"))
                .item("amount", n(-amount))
                .item("gross", n(0))
                .item("currency", s(currency.code()))
                .item("reference", s(&id))
                .item("payoutId", s(&id))
                .item("at", s(now.to_string()))
                .item("releasedAt", s(now.to_string()))
                .condition_expression("attribute_not_exists(SK)");
            let move_balance = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::instructor(iid)))
                .key(keys::SK, s(keys::balance(currency.code())))
                .update_expression("ADD available :neg, payingOut :amt")
                .condition_expression("available = :expected")
                .expression_attribute_values(":neg", n(-amount))
                .expression_attribute_values(":amt", n(amount))
                .expression_attribute_values(":expected", n(balance.available));
            let mut writes = vec![
                TransactWriteItem::builder().put(build(record.build())?).build(),
                TransactWriteItem::builder().put(build(entry.build())?).build(),
                TransactWriteItem::builder().update(build(move_balance.build())?).build(),
            ];
            for (sk, _) in &chosen {
                let mark = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::instructor(iid)))
                    .key(keys::SK, s(sk))
                    .update_expression("SET payoutId = :pid")
                    .condition_expression(
                        "attribute_exists(releasedAt) AND attribute_not_exists(payoutId) AND attribute_not_exists(transferId)",
                    )
                    .expression_attribute_values(":pid", s(&id));
                writes.push(TransactWriteItem::builder().update(build(mark.build())?).build());
            }
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
                .map_err(from_transact)
            {
                Ok(_) => return Ok(Reservation::Created(payout)),
                // The record exists now (a concurrent run), the balance moved or another payout
                // took an entry: look again.
                Err(e) if e.is_condition() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend {
            operation: "TransactWriteItems",
            message: format!("payout {id}: the ledger kept changing or disagrees with the balance"),
        })
    }

    /// Marks a pending payout paid by `transfer_id`, once: the record, its ledger entry, the
    /// balance (`payingOut` → `paidOut`) and the covered entries (tagged with the transfer) in one
    /// transaction. `false` when it was already paid.
    pub async fn complete_payout(
        &self,
        payout: &Payout,
        transfer_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let iid = payout.instructor_id.as_str();
        let currency = payout.amount.currency;
        let record = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::instructor(iid)))
            .key(keys::SK, s(record_sk(&payout.run, currency)))
            .update_expression("SET #status = :paid, transferId = :t, paidAt = :now REMOVE lastError")
            .condition_expression("#status = :pending AND payoutId = :pid AND amount = :amt")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":paid", s(PAID))
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":t", s(transfer_id))
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":pid", s(&payout.id))
            .expression_attribute_values(":amt", n(payout.amount.amount));
        let entry = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::instructor(iid)))
            .key(keys::SK, s(&payout.ledger_entry))
            .update_expression("SET #ref = :t, transferId = :t")
            .expression_attribute_names("#ref", "reference")
            .condition_expression("payoutId = :pid")
            .expression_attribute_values(":t", s(transfer_id))
            .expression_attribute_values(":pid", s(&payout.id));
        let move_balance = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::instructor(iid)))
            .key(keys::SK, s(keys::balance(currency.code())))
            .update_expression("ADD payingOut :neg, paidOut :amt")
            .expression_attribute_values(":neg", n(-payout.amount.amount))
            .expression_attribute_values(":amt", n(payout.amount.amount));
        let mut writes = vec![
            TransactWriteItem::builder().update(build(record.build())?).build(),
            TransactWriteItem::builder().update(build(entry.build())?).build(),
            TransactWriteItem::builder().update(build(move_balance.build())?).build(),
        ];
        for sk in &payout.entries {
            let tag = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::instructor(iid)))
                .key(keys::SK, s(sk))
                .update_expression("SET transferId = :t")
                .condition_expression("payoutId = :pid")
                .expression_attribute_values(":t", s(transfer_id))
                .expression_attribute_values(":pid", s(&payout.id));
            writes.push(TransactWriteItem::builder().update(build(tag.build())?).build());
        }
        for _ in 0..5 {
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await
                .map_err(from_transact)
            {
                Ok(_) => return Ok(true),
                Err(e) if e.failed_condition_at(0) => return Ok(false),
                // Another run completing the same payout at the same moment: look again.
                Err(StoreError::TransactionCanceled { reasons })
                    if reasons.iter().any(|r| r == "TransactionConflict") =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend {
            operation: "TransactWriteItems",
            message: format!("payout {}: completion kept conflicting", payout.id),
        })
    }

    /// Notes a failed transfer attempt on a pending payout (it stays pending for the next run).
    pub async fn note_payout_failure(&self, payout: &Payout, error: &str, now: Timestamp) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::instructor(payout.instructor_id.as_str())))
            .key(keys::SK, s(record_sk(&payout.run, payout.amount.currency)))
            .update_expression("SET lastError = :e, lastAttemptAt = :now ADD attempts :one")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":e", s(error.chars().take(500).collect::<String>()))
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":pending", s(PENDING))
            .send()
            .await;
        match result.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
