//! The instructors' earnings ledger and balances.
//!
//! Entries are immutable: a sale adds the instructor's share as `pending`; it becomes `available`
//! when released after the refund window (the payout job releases it); a refund adds a negative
//! entry in the bucket its sale is in; a payout moves `available` to `payingOut`, then to
//! `paidOut` once its transfer is recorded (see `payouts`). Balances are kept
//! per instructor and currency, changed only in the same transaction as the entry that explains
//! the change.

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, attrs, from_item, n, s, ts};
use crate::payments::payment_key;
use crate::reports::instructor_fields;
use crate::table::{Expr, Key, Query, kept_changing, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use azora_domain::payment::{OrderItem, Payment, instructor_share, payment_item_cash, reversal_plan};
use azora_domain::reports::InstructorCounters;
use azora_domain::{Currency, Money, UserId};
use jiff::Timestamp;
use std::collections::BTreeMap;

pub use crate::payout_accounts::PayoutAccount;

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

pub(crate) fn sale_sk(payment: &Payment, course_id: &str) -> String {
    let at = payment.paid_at.unwrap_or(payment.created_at);
    format!("EARNING#{}#sale#{}#{course_id}", keys::sortable(at), payment.id)
}

pub(crate) fn ledger_key(instructor: &str, sk: &str) -> Key {
    key(keys::instructor(instructor), sk)
}

fn balance_key(instructor: &str, currency: Currency) -> Key {
    key(keys::instructor(instructor), keys::balance(currency.code()))
}

/// An instructor's ledger entries.
fn ledger(instructor: &UserId) -> Query {
    Query::prefix(keys::instructor(instructor.as_str()), "EARNING#")
}

/// A new ledger entry of `instructor` at `sk` (entries are never overwritten); a released entry
/// is released when written.
pub(crate) fn entry_item(instructor: &str, sk: &str, e: &EarningEntry) -> Item {
    let mut item = ledger_key(instructor, sk).item(attrs! {
        "kind" => s(&e.kind), "amount" => n(e.amount.amount), "gross" => n(e.gross),
        "currency" => s(e.amount.currency.code()), "at" => ts(e.at),
    });
    let optional = [
        ("paymentId", e.payment_id.as_deref().map(s)),
        ("courseId", e.course_id.as_deref().map(s)),
        ("reference", e.reference.as_deref().map(s)),
        ("availableOn", e.available_on.map(|t| n(t.as_second()))),
        ("releasedAt", e.released.then(|| ts(e.at))),
    ];
    item.extend(optional.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))));
    item
}

/// `ADD` of every delta of `deltas` and `more` (attribute names through placeholders, so report
/// attributes like `report#2026-12#salesCount` work).
pub(crate) fn adds(deltas: &[(String, i64)], more: &[(String, i64)]) -> Expr {
    let all: Vec<&(String, i64)> = deltas.iter().chain(more).collect();
    let parts: Vec<String> = (0..all.len()).map(|i| format!("#d{i} :d{i}")).collect();
    let mut expr = Expr::update(format!("ADD {}", parts.join(", ")));
    for (i, (field, delta)) in all.into_iter().enumerate() {
        expr = expr.name(format!("#d{i}"), field.as_str()).value(format!(":d{i}"), n(*delta));
    }
    expr
}

impl Store {
    /// The writes that record a payment's sales in the ledger, for the fulfilment transaction: each
    /// item's share of the cash received for it (`azora_domain::payment::item_cash`).
    /// Each instructor's sales also count in their month of the business reports (`month`), as
    /// attributes of the balance item the transaction updates anyway (`reports::instructor_fields`).
    pub(crate) fn sale_writes(
        &self,
        payment: &Payment,
        hold_seconds: i64,
        month: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let paid_at = payment.paid_at.unwrap_or(payment.created_at);
        let available_on = Timestamp::from_second(paid_at.as_second() + hold_seconds)
            .map_err(|_| StoreError::Malformed("earning.availableOn".into()))?;
        let mut writes = Vec::new();
        let mut per_balance: BTreeMap<(String, Currency), (i64, InstructorCounters)> = BTreeMap::new();
        for (item, cash) in payment.items.iter().zip(payment_item_cash(payment)) {
            let OrderItem::Course { course_id, instructor_id, price, .. } = item;
            let share = instructor_share(cash);
            let sale = EarningEntry {
                kind: "sale".into(),
                amount: Money::new(share, price.currency),
                gross: cash,
                payment_id: Some(payment.id.clone()),
                course_id: Some(course_id.clone()),
                reference: None,
                at: paid_at,
                available_on: Some(available_on),
                released: false,
            };
            writes.push(self.tx_new(entry_item(instructor_id.as_str(), &sale_sk(payment, course_id), &sale))?);
            let stats = Expr::update(
                "ADD enrollmentCount :one, SortPopular :one, salesCount :one, revenueGross :gross, revenueInstructor :share",
            )
            .value(":one", n(1))
            .value(":gross", n(cash))
            .value(":share", n(share));
            writes.push(self.tx_update(&key(keys::course(course_id), keys::COURSE), stats)?);
            let (sum, report) = per_balance.entry((instructor_id.to_string(), price.currency)).or_default();
            *sum += share;
            report.add(&InstructorCounters {
                sales_count: 1,
                revenue_gross: cash,
                revenue_instructor: share,
                revenue_platform: cash - share,
                ..InstructorCounters::default()
            });
        }
        for ((instructor, currency), (share, report)) in per_balance {
            let deltas = [("pending".to_string(), share), ("lifetime".to_string(), share)];
            writes.push(self.balance_update_with(
                &instructor,
                currency,
                &deltas,
                &instructor_fields(month, &report),
            )?);
        }
        Ok(writes)
    }

    /// Adds `deltas` to the instructor's balance in `currency`, creating it (and its index keys)
    /// when absent.
    pub(crate) fn balance_update(
        &self,
        instructor: &str,
        currency: Currency,
        deltas: &[(&str, i64)],
    ) -> Result<TransactWriteItem, StoreError> {
        let deltas: Vec<(String, i64)> = deltas.iter().map(|(f, d)| (f.to_string(), *d)).collect();
        self.balance_update_with(instructor, currency, &deltas, &[])
    }

    /// [`Store::balance_update`] that also adds `report` (the instructor's month in the business
    /// reports, `reports::instructor_fields`).
    pub(crate) fn balance_update_with(
        &self,
        instructor: &str,
        currency: Currency,
        deltas: &[(String, i64)],
        report: &[(String, i64)],
    ) -> Result<TransactWriteItem, StoreError> {
        let expr = adds(deltas, report)
            .prefixed("SET GSI1PK = :all, GSI1SK = :me, instructorId = :iid, currency = :cur ")
            .value(":all", s(keys::INSTRUCTOR_BALANCES))
            .value(":me", s(format!("{instructor}#{}", currency.code())))
            .value(":iid", s(instructor))
            .value(":cur", s(currency.code()));
        self.tx_update(&balance_key(instructor, currency), expr)
    }

    /// Brings the instructors' ledger in line with the payment's counted refunds. Invariant: for
    /// a fulfilled payment, `reversedGross` (what the ledger has reversed) moves to
    /// `refundedAmount` (what was refunded, incl. lost disputes) by exactly one transaction per
    /// change, guarded by optimistic concurrency on `reversedGross`; the entries are keyed by the
    /// change, so a retry, a duplicate event or a concurrent caller applies it once. An unfulfilled
    /// payment has no sales yet: nothing is reversed, and the fulfilment syncs afterwards.
    /// Returns the changes applied by this call (empty when there was nothing to do).
    pub async fn sync_reversals(&self, payment_id: &str, now: Timestamp) -> Result<Vec<AppliedReversal>, StoreError> {
        for _ in 0..10 {
            let item = self.get_item(&payment_key(payment_id), true).await?.ok_or(StoreError::ConditionFailed)?;
            let payment = Payment::from_item(&item)?;
            if payment.fulfilled_at.is_none() {
                return Ok(Vec::new());
            }
            let before = Fields::of(&item, "payment").count("reversedGross")?;
            let after = payment.refunded.clamp(0, payment.amount.amount);
            if before == after {
                return Ok(Vec::new());
            }
            let plan = reversal_plan(&payment_item_cash(&payment), before, after);
            let change = format!("{payment_id}.{before}-{after}");
            let guard = Expr::update("SET reversedGross = :after")
                .only_if("reversedGross = :before OR (attribute_not_exists(reversedGross) AND :before = :zero)")
                .value(":after", n(after))
                .value(":before", n(before))
                .value(":zero", n(0));
            let mut writes = vec![self.tx_update(&payment_key(payment_id), guard)?];
            let mut per_balance: BTreeMap<(String, Currency), (i64, i64)> = BTreeMap::new();
            let mut applied = Vec::new();
            // Each instructor's refunded sales in their month of the business reports (attributes
            // of their balance item), with the change itself.
            let month = azora_domain::audit::month_of(now);
            let mut refunded_report: BTreeMap<(String, Currency), InstructorCounters> = BTreeMap::new();
            for (item, (gross, reversal)) in payment.items.iter().zip(plan) {
                if gross == 0 {
                    continue;
                }
                let OrderItem::Course { course_id, instructor_id, price, .. } = item;
                let sale_at = ledger_key(instructor_id.as_str(), &sale_sk(&payment, course_id));
                let Some(sale) = self.get_item(&sale_at, true).await? else { continue };
                let sale = Fields::of(&sale, "earning");
                let released = sale.has("releasedAt");
                applied.push(AppliedReversal {
                    key: format!("{change}.{course_id}"),
                    instructor_id: instructor_id.clone(),
                    course_id: course_id.clone(),
                    amount: Money::new(reversal, price.currency),
                    paid_out_transfer: sale.opt("transferId"),
                });
                let entry = EarningEntry {
                    kind: if reversal >= 0 { "refund" } else { "refund_undone" }.into(),
                    amount: Money::new(-reversal, price.currency),
                    gross: -gross,
                    payment_id: Some(payment_id.to_string()),
                    course_id: Some(course_id.clone()),
                    reference: Some(change.clone()),
                    at: now,
                    available_on: Some(sale.opt_secs("availableOn")?.unwrap_or(now)),
                    released,
                };
                let sk = format!("EARNING#{}#refund#{change}#{course_id}", keys::sortable(now));
                writes.push(self.tx_new(entry_item(instructor_id.as_str(), &sk, &entry))?);
                // The sale must still be in the bucket we charge the reversal to.
                let bucket = Expr::when(if released {
                    "attribute_exists(releasedAt)"
                } else {
                    "attribute_not_exists(releasedAt)"
                });
                writes.push(self.tx_check(&sale_at, bucket)?);
                let stats = Expr::update("ADD refundsGross :gross, revenueInstructor :neg")
                    .value(":gross", n(gross))
                    .value(":neg", n(-reversal));
                writes.push(self.tx_update(&key(keys::course(course_id), keys::COURSE), stats)?);
                let refunded = InstructorCounters {
                    refunds_gross: gross,
                    refunds_instructor: reversal,
                    ..InstructorCounters::default()
                };
                refunded_report.entry((instructor_id.to_string(), price.currency)).or_default().add(&refunded);
                let bucket = per_balance.entry((instructor_id.to_string(), price.currency)).or_default();
                if released {
                    bucket.1 += reversal;
                } else {
                    bucket.0 += reversal;
                }
            }
            for ((instructor, currency), (pending, available)) in per_balance {
                let report = refunded_report.remove(&(instructor.clone(), currency)).unwrap_or_default();
                let deltas = [
                    ("pending".to_string(), -pending),
                    ("available".to_string(), -available),
                    ("reversed".to_string(), pending + available),
                ];
                writes.push(self.balance_update_with(
                    &instructor,
                    currency,
                    &deltas,
                    &instructor_fields(&month, &report),
                )?);
            }
            // Layout: [0] payment guard, then per item [entry, sale check, course], then balances.
            match self.transact(writes).await {
                Ok(()) => return Ok(applied),
                // Another caller moved `reversedGross`, or the payout job released a sale: read
                // again (a change already applied then shows as nothing left to do).
                Err(StoreError::TransactionCanceled { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(kept_changing("the earnings reversal"))
    }

    /// An instructor's ledger, newest first.
    pub async fn list_earnings(
        &self,
        instructor: &UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<EarningEntry>, StoreError> {
        self.page(ledger(instructor).newest_first().limit(limit), cursor).await
    }

    pub async fn balances(&self, instructor: &UserId) -> Result<Vec<Balance>, StoreError> {
        let q = Query::prefix(keys::instructor(instructor.as_str()), "BALANCE#").consistent();
        self.query_all(&q).await?.iter().map(Balance::from_item).collect()
    }

    /// Every instructor balance (instructor × currency), a page at a time, for the payout job.
    pub async fn balances_page(&self, limit: i32, cursor: Option<&str>) -> Result<Page<Balance>, StoreError> {
        self.page(Query::gsi1(keys::INSTRUCTOR_BALANCES).limit(limit), cursor).await
    }

    pub async fn balance(&self, instructor: &UserId, currency: Currency) -> Result<Balance, StoreError> {
        Ok(self.get(&balance_key(instructor.as_str(), currency), true).await?.unwrap_or_default())
    }

    /// Moves the instructor's entries whose hold has ended from pending to available, each once.
    pub async fn release_due(
        &self,
        instructor: &UserId,
        currency: Currency,
        now: Timestamp,
    ) -> Result<u32, StoreError> {
        let due = ledger(instructor)
            .filter("attribute_not_exists(releasedAt) AND availableOn <= :now AND currency = :cur")
            .value(":now", n(now.as_second()))
            .value(":cur", s(currency.code()))
            .consistent();
        let mut released = 0;
        for item in self.query_all(&due).await? {
            let f = Fields::of(&item, "earning");
            let amount = f.i64("amount")?;
            // Each entry is released once: the balance moves with the mark.
            let mark = Expr::update("SET releasedAt = :now")
                .only_if("attribute_not_exists(releasedAt)")
                .value(":now", ts(now));
            let writes = vec![
                self.tx_update(&ledger_key(instructor.as_str(), f.str(keys::SK)?), mark)?,
                self.balance_update(instructor.as_str(), currency, &[("pending", -amount), ("available", amount)])?,
            ];
            match self.transact(writes).await {
                Ok(()) => released += 1,
                Err(e) if e.is_condition() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(released)
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
        let entry = EarningEntry {
            kind: "payout_reversal".into(),
            amount: reversal.amount,
            gross: 0,
            payment_id: None,
            course_id: Some(reversal.course_id.clone()),
            reference: Some(reversal_id.to_string()),
            at: now,
            available_on: None,
            released: true,
        };
        // Keyed by the ledger change alone, so a retry at another time finds it.
        let sk = format!("EARNING#payout_reversal#{}", reversal.key);
        let writes = vec![
            self.tx_new(entry_item(iid, &sk, &entry))?,
            self.balance_update(
                iid,
                reversal.amount.currency,
                &[("available", reversal.amount.amount), ("paidOut", -reversal.amount.amount)],
            )?,
        ];
        match self.transact(writes).await {
            Err(e) if e.failed_condition_at(0) => Ok(()),
            other => other,
        }
    }
}

from_item! { Balance as "balance", |f| {
    instructor_id: f.opt("instructorId").unwrap_or_default(), currency: f.string("currency")?,
    pending: f.count("pending")?, available: f.count("available")?, paid_out: f.count("paidOut")?,
    paying_out: f.count("payingOut")?, reversed: f.count("reversed")?, lifetime: f.count("lifetime")?,
} }

from_item! { EarningEntry as "earning", |f| {
    kind: f.string("kind")?, amount: f.money("amount", "currency")?, gross: f.count("gross")?,
    payment_id: f.opt("paymentId"), course_id: f.opt("courseId"), reference: f.opt("reference"), at: f.ts("at")?,
    available_on: f.opt_i64("availableOn")?.and_then(|t| Timestamp::from_second(t).ok()),
    released: f.has("releasedAt"),
} }
