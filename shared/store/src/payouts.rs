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

use crate::earnings::{EarningEntry, entry_item, ledger_key};
use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, ToItem, attrs, n, s, ts};
use crate::table::{Expr, Key, Outcome, Query, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::AttributeValue;
use azora_domain::reports::{InstructorCounters, ReportCounters};
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

fn payout_key(instructor: &str, run: &str, currency: Currency) -> Key {
    key(keys::instructor(instructor), record_sk(run, currency))
}

impl ToItem for Payout {
    fn to_item(&self) -> Result<Item, StoreError> {
        let currency = self.amount.currency;
        Ok(payout_key(self.instructor_id.as_str(), &self.run, currency).item(attrs! {
            "payoutId" => s(&self.id), "instructorId" => s(self.instructor_id.as_str()), "run" => s(&self.run),
            "currency" => s(currency.code()), "amount" => n(self.amount.amount), "accountId" => s(&self.account_id),
            "status" => s(if self.status == PayoutStatus::Paid { PAID } else { PENDING }),
            "entries" => AttributeValue::L(self.entries.iter().map(|e| s(e.as_str())).collect()),
            "ledgerEntry" => s(&self.ledger_entry), "createdAt" => ts(self.created_at),
            "attempts" => n(self.attempts),
        }))
    }
}

impl FromItem for Payout {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let f = Fields::of(item, "payout");
        let entries = match item.get("entries") {
            Some(AttributeValue::L(list)) => {
                list.iter().map(|v| v.as_s().cloned().map_err(|_| f.bad("entries"))).collect::<Result<Vec<_>, _>>()?
            }
            Some(_) => return Err(f.bad("entries")),
            None => Vec::new(),
        };
        Ok(Payout {
            id: f.string("payoutId")?,
            instructor_id: f.user("instructorId")?,
            run: f.string("run")?,
            amount: f.money("amount", "currency")?,
            account_id: f.string("accountId")?,
            status: if f.str("status")? == PAID { PayoutStatus::Paid } else { PayoutStatus::Pending },
            transfer_id: f.opt("transferId"),
            entries,
            ledger_entry: f.string("ledgerEntry")?,
            created_at: f.ts("createdAt")?,
            attempts: f.count("attempts")?,
            last_error: f.opt("lastError"),
        })
    }
}

/// The sort key and amount of a ledger entry a payout may carry.
struct Unreserved(String, i64);

impl FromItem for Unreserved {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let f = Fields::of(item, "earning");
        Ok(Unreserved(f.string(keys::SK)?, f.i64("amount")?))
    }
}

/// The instructor's ledger entries.
fn ledger(instructor: &UserId) -> Query {
    Query::prefix(keys::instructor(instructor.as_str()), "EARNING#")
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
        match self.get_item(&payout_key(instructor.as_str(), run, currency), true).await? {
            None => Ok(None),
            Some(item) if legacy_marker(&item) => Ok(Some(Payout {
                id: payout_id(instructor, currency, run),
                instructor_id: instructor.clone(),
                run: run.to_string(),
                amount: Money::new(Fields::of(&item, "payout").count("amount")?, currency),
                account_id: String::new(),
                status: PayoutStatus::Paid,
                transfer_id: Fields::of(&item, "payout").opt("transferId"),
                entries: Vec::new(),
                ledger_entry: String::new(),
                created_at: Timestamp::UNIX_EPOCH,
                attempts: 0,
                last_error: None,
            })),
            Some(item) => Payout::from_item(&item).map(Some),
        }
    }

    /// The instructor's payouts in `currency` still pending (any run), oldest first.
    pub async fn pending_payouts(&self, instructor: &UserId, currency: Currency) -> Result<Vec<Payout>, StoreError> {
        let q = Query::prefix(keys::instructor(instructor.as_str()), "PAYOUT#")
            .filter("#status = :pending AND currency = :cur")
            .name("#status", "status")
            .value(":pending", s(PENDING))
            .value(":cur", s(currency.code()))
            .consistent();
        let mut found: Vec<Payout> =
            self.query_all(&q).await?.iter().map(Payout::from_item).collect::<Result<_, _>>()?;
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
        let q = ledger(instructor)
            .filter(
                "attribute_exists(releasedAt) AND attribute_not_exists(payoutId) AND attribute_not_exists(transferId) AND currency = :cur AND kind <> :payout",
            )
            .value(":cur", s(currency.code()))
            .value(":payout", s("payout"))
            .consistent();
        self.query_all(&q).await?.iter().map(|i| Unreserved::from_item(i).map(|Unreserved(sk, a)| (sk, a))).collect()
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
            let entry = EarningEntry {
                kind: "payout".into(),
                amount: Money::new(-amount, currency),
                gross: 0,
                payment_id: None,
                course_id: None,
                reference: Some(id.clone()),
                at: now,
                available_on: None,
                released: true,
            };
            let mut entry = entry_item(iid, &ledger_entry, &entry);
            entry.insert("payoutId".into(), s(&id));
            // Nothing moved since the entries were summed against `available`.
            let move_balance = Expr::update("ADD available :neg, payingOut :amt")
                .only_if("available = :expected")
                .value(":neg", n(-amount))
                .value(":amt", n(amount))
                .value(":expected", n(balance.available));
            let mut writes = vec![
                self.tx_new(payout.to_item()?)?,
                self.tx_new(entry)?,
                self.tx_update(&key(keys::instructor(iid), keys::balance(currency.code())), move_balance)?,
            ];
            for (sk, _) in &chosen {
                // An entry is carried by at most one payout.
                let mark = Expr::update("SET payoutId = :pid")
                    .only_if(
                        "attribute_exists(releasedAt) AND attribute_not_exists(payoutId) AND attribute_not_exists(transferId)",
                    )
                    .value(":pid", s(&id));
                writes.push(self.tx_update(&ledger_key(iid, sk), mark)?);
            }
            match self.transact(writes).await {
                Ok(()) => return Ok(Reservation::Created(payout)),
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
        let record = Expr::update("SET #status = :paid, transferId = :t, paidAt = :now REMOVE lastError")
            .only_if("#status = :pending AND payoutId = :pid AND amount = :amt")
            .status()
            .value(":paid", s(PAID))
            .value(":pending", s(PENDING))
            .value(":t", s(transfer_id))
            .value(":now", ts(now))
            .value(":pid", s(&payout.id))
            .value(":amt", n(payout.amount.amount));
        // Only entries this payout reserved are tagged with its transfer.
        let tag = |update: &str| {
            Expr::update(update).only_if("payoutId = :pid").value(":t", s(transfer_id)).value(":pid", s(&payout.id))
        };
        // With the instructor's month in the business reports (attributes of the balance item).
        let paid_out = InstructorCounters {
            payouts_count: 1,
            payouts_amount: payout.amount.amount,
            ..InstructorCounters::default()
        };
        let month = azora_domain::audit::month_of(now);
        let move_balance = crate::earnings::adds(
            &[("payingOut".to_string(), -payout.amount.amount), ("paidOut".to_string(), payout.amount.amount)],
            &crate::reports::instructor_fields(&month, &paid_out),
        );
        let mut writes = vec![
            self.tx_update(&payout_key(iid, &payout.run, currency), record)?,
            self.tx_update(
                &ledger_key(iid, &payout.ledger_entry),
                tag("SET #ref = :t, transferId = :t").name("#ref", "reference"),
            )?,
            self.tx_update(&key(keys::instructor(iid), keys::balance(currency.code())), move_balance)?,
        ];
        for sk in &payout.entries {
            writes.push(self.tx_update(&ledger_key(iid, sk), tag("SET transferId = :t"))?);
        }
        // The payout in the business reports (the month it is paid), with the record's condition.
        let paid =
            ReportCounters { payouts_count: 1, payouts_amount: payout.amount.amount, ..ReportCounters::default() };
        writes.extend(self.report_writes(now, currency, &paid)?);
        // Another run completing the same payout at the same moment is a conflict `transact`
        // sends again; then the record is paid and the answer is `false`.
        match self.transact(writes).await {
            Ok(()) => {
                crate::reports::committed(now, currency, &paid);
                Ok(true)
            }
            Err(e) if e.failed_condition_at(0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Notes a failed transfer attempt on a pending payout (it stays pending for the next run).
    pub async fn note_payout_failure(&self, payout: &Payout, error: &str, now: Timestamp) -> Result<(), StoreError> {
        let expr = Expr::update("SET lastError = :e, lastAttemptAt = :now ADD attempts :one")
            .only_if("#status = :pending")
            .status()
            .value(":e", s(error.chars().take(500).collect::<String>()))
            .value(":now", ts(now))
            .value(":one", n(1))
            .value(":pending", s(PENDING));
        let at = payout_key(payout.instructor_id.as_str(), &payout.run, payout.amount.currency);
        self.update(&at, expr).await.or_done()
    }
}
