//! Business report aggregates (`azora_domain::reports`): counters per month and currency
//! (`REPORT#<month>` / `TOTALS#<CUR>`), the running MRR per currency (`REPORT#MRR` / `<CUR>`), and
//! each instructor's months as `report#<month>#<counter>` attributes of their balance item (which
//! every sale, reversal and payout transaction updates already, so the instructors' reports add no
//! item to a transaction: DynamoDB allows 100).
//!
//! Every counter moves by an atomic `ADD` written **in the same transaction as the event it
//! counts** (a fulfilment, a counted refund, a payout marked paid, a subscription state applied,
//! ...), so an event the existing conditions refuse (a duplicate, a retry, a stale state) counts
//! nothing, and a transaction that fails counts nothing. Events that had no transaction of their
//! own (a subscription invoice's attempt, an opened dispute) are counted with a marker
//! (`REPORT_EVENT#<key>`) written in the same transaction as the counters, once per key. Nothing
//! here reads an aggregate to write it back.
//!
//! Each committed set of counters is also handed to the report sink (the API's telemetry installs
//! one that prints a CloudWatch EMF line; see [`set_sink`]).

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, n, s, ts};
use crate::table::{Expr, Key, Query, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use azora_domain::Currency;
use azora_domain::audit::month_of;
use azora_domain::payment::{Payment, instructor_share, payment_item_cash};
use azora_domain::reports::{InstructorCounters, ReportCounters};
use jiff::Timestamp;
use std::sync::OnceLock;

/// The running MRR per currency: `REPORT#MRR` / `<CUR>`.
const MRR_PK: &str = "REPORT#MRR";

fn totals_key(month: &str, currency: Currency) -> Key {
    key(keys::report_month(month), format!("TOTALS#{}", currency.code()))
}

fn mrr_key(currency: Currency) -> Key {
    key(MRR_PK, currency.code())
}

/// Receives every set of counters a committed transaction added: (event time, currency, counters).
pub type ReportSink = fn(Timestamp, Currency, &ReportCounters);

static SINK: OnceLock<ReportSink> = OnceLock::new();

/// Installs the sink of committed counters (once; later calls do nothing).
pub fn set_sink(sink: ReportSink) {
    let _ = SINK.set(sink);
}

/// Hands counters that were just committed to the sink, if one is installed.
pub(crate) fn committed(at: Timestamp, currency: Currency, counters: &ReportCounters) {
    if let Some(sink) = SINK.get()
        && !counters.is_zero()
    {
        sink(at, currency, counters);
    }
}

/// `SET` of the item's own attributes and `ADD` of the non-zero counters; `None` when all are zero.
fn add_counters(fields: Vec<(&'static str, i64)>, attrs: Vec<(&'static str, String)>) -> Option<Expr> {
    let mut adds = Vec::new();
    let mut sets = Vec::new();
    let mut expr = Expr::default();
    for (i, (name, value)) in fields.into_iter().enumerate() {
        if value != 0 {
            adds.push(format!("#c{i} :c{i}"));
            expr = expr.name(format!("#c{i}"), name).value(format!(":c{i}"), n(value));
        }
    }
    if adds.is_empty() {
        return None;
    }
    for (i, (name, value)) in attrs.into_iter().enumerate() {
        sets.push(format!("#a{i} = :a{i}"));
        expr = expr.name(format!("#a{i}"), name).value(format!(":a{i}"), s(value));
    }
    let mut expression = String::new();
    if !sets.is_empty() {
        expression.push_str(&format!("SET {} ", sets.join(", ")));
    }
    expression.push_str(&format!("ADD {}", adds.join(", ")));
    Some(Expr::update(expression).with(expr))
}

/// A fulfilled payment's sale: one successful payment, its cash as gross revenue split between
/// the instructors (`floor(70 %)` of each item's cash) and the platform (the rest).
pub(crate) fn sale_totals(payment: &Payment) -> ReportCounters {
    let mut totals = ReportCounters { payments_succeeded: 1, ..ReportCounters::default() };
    for cash in payment_item_cash(payment) {
        let share = instructor_share(cash);
        totals.revenue_gross += cash;
        totals.revenue_instructor += share;
        totals.revenue_platform += cash - share;
    }
    totals
}

/// One instructor's month counters as attributes of their balance item (`INSTRUCTOR#<id>` /
/// `BALANCE#<CUR>`): `report#<month>#<counter>` for each non-zero counter, and
/// `report#<month>#events` (the month had activity), to `ADD` in the update the transaction
/// already makes to that item. So an event adds no item to its transaction for the instructors'
/// reports (a fulfilment of 20 courses by 20 instructors stays within DynamoDB's 100 actions).
pub(crate) fn instructor_fields(month: &str, counters: &InstructorCounters) -> Vec<(String, i64)> {
    let mut fields: Vec<(String, i64)> = counters
        .fields()
        .into_iter()
        .filter(|(_, v)| *v != 0)
        .map(|(name, v)| (instructor_attr(month, name), v))
        .collect();
    if !fields.is_empty() {
        fields.push((instructor_attr(month, "events"), 1));
    }
    fields
}

fn instructor_attr(month: &str, name: &str) -> String {
    format!("report#{month}#{name}")
}

/// A refund counted (`sign` 1) or uncounted after failing (`sign` −1): a lost dispute counts as
/// such, anything else as a refund.
pub(crate) fn refund_counters(amount: i64, dispute: bool, sign: i64) -> ReportCounters {
    let mut c = ReportCounters::default();
    if dispute {
        c.disputes_lost = sign;
        c.disputes_lost_amount = sign * amount;
    } else {
        c.refunds_count = sign;
        c.refunds_amount = sign * amount;
    }
    c
}

impl Store {
    /// The writes that add `totals` to the reports of `at`'s month (UTC) in `currency`: the
    /// month's totals item and the running MRR (by `mrr_change`). Empty when all are zero.
    pub(crate) fn report_writes(
        &self,
        at: Timestamp,
        currency: Currency,
        totals: &ReportCounters,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let month = month_of(at);
        let mut writes = Vec::new();
        let own = vec![("month", month.clone()), ("currency", currency.code().to_string()), ("kind", "totals".into())];
        if let Some(expr) = add_counters(totals.fields(), own) {
            writes.push(self.tx_update(&totals_key(&month, currency), expr)?);
        }
        if totals.mrr_change != 0 {
            let expr = Expr::update("SET currency = :cur ADD mrr :d")
                .value(":cur", s(currency.code()))
                .value(":d", n(totals.mrr_change));
            writes.push(self.tx_update(&mrr_key(currency), expr)?);
        }
        Ok(writes)
    }

    /// Counts an event that has no transaction of its own, once per `event_key`: a marker and the
    /// counters in one transaction. `false` when it was counted before (nothing written).
    pub async fn record_report_event(
        &self,
        event_key: &str,
        at: Timestamp,
        currency: Currency,
        totals: &ReportCounters,
    ) -> Result<bool, StoreError> {
        let marker = key(keys::report_event(event_key), "REPORT_EVENT").item([
            ("month", s(month_of(at))),
            ("currency", s(currency.code())),
            ("at", ts(at)),
        ]);
        let mut writes = vec![self.tx_new(marker)?];
        writes.extend(self.report_writes(at, currency, totals)?);
        match self.transact(writes).await {
            Ok(()) => {
                committed(at, currency, totals);
                Ok(true)
            }
            Err(e) if e.failed_condition_at(0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The totals of `months` in every currency with any: (month, currency, counters), in the
    /// order of `months`, then currency. One `BatchGetItem` per 100 keys, never a scan.
    pub async fn report_months(
        &self,
        months: &[String],
    ) -> Result<Vec<(String, Currency, ReportCounters)>, StoreError> {
        let wanted: Vec<Key> =
            months.iter().flat_map(|m| Currency::ALL.into_iter().map(move |c| totals_key(m, c))).collect();
        let mut found = Vec::new();
        for item in self.batch_get(wanted, true).await? {
            let f = Fields::of(&item, "report");
            let currency = Currency::parse(f.str("currency")?).map_err(|_| f.bad("currency"))?;
            found.push((f.string("month")?, currency, counters_of(&item, |get| ReportCounters::from_fields(get))?));
        }
        found.sort_by(|a, b| {
            let pos = |m: &str| months.iter().position(|x| x == m);
            pos(&a.0).cmp(&pos(&b.0)).then(a.1.code().cmp(b.1.code()))
        });
        Ok(found)
    }

    /// The running MRR per currency (currencies that never had a subscription are absent).
    pub async fn mrr_now(&self) -> Result<Vec<(Currency, i64)>, StoreError> {
        let wanted = Currency::ALL.into_iter().map(mrr_key).collect();
        let mut found = Vec::new();
        for item in self.batch_get(wanted, true).await? {
            let f = Fields::of(&item, "mrr");
            let currency = Currency::parse(f.str("currency")?).map_err(|_| f.bad("currency"))?;
            found.push((currency, f.count("mrr")?));
        }
        found.sort_by(|a, b| a.0.code().cmp(b.0.code()));
        Ok(found)
    }

    /// The instructors' reports of a month, a page at a time: the balance items (on GSI1,
    /// `INSTRUCTOR_BALANCES`, by instructor id and currency) that had activity in the month. The
    /// filter is applied after `limit`, so a page may hold fewer items (follow `nextCursor`).
    pub async fn instructor_reports(
        &self,
        month: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<InstructorReport>, StoreError> {
        let events = instructor_attr(month, "events");
        let q = Query::gsi1(keys::INSTRUCTOR_BALANCES)
            .filter("attribute_exists(#events)")
            .name("#events", &events)
            .limit(limit);
        let page: Page<Raw> = self.page(q, cursor).await?;
        let items = page
            .items
            .iter()
            .map(|Raw(item)| {
                let f = Fields::of(item, "instructorReport");
                Ok(InstructorReport {
                    instructor_id: f.string("instructorId")?,
                    currency: Currency::parse(f.str("currency")?).map_err(|_| f.bad("currency"))?,
                    counters: counters_of(item, |get| {
                        InstructorCounters::from_fields(|name| get(&instructor_attr(month, name)))
                    })?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page { items, next_cursor: page.next_cursor })
    }
}

/// An item as read.
struct Raw(Item);

impl FromItem for Raw {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Ok(Raw(item.clone()))
    }
}

fn counters_of<T>(item: &Item, from: impl FnOnce(&mut dyn FnMut(&str) -> i64) -> T) -> Result<T, StoreError> {
    let f = Fields::of(item, "report");
    let mut bad = None;
    let counters = from(&mut |name| match f.opt_i64(name) {
        Ok(v) => v.unwrap_or(0),
        Err(e) => {
            bad = Some(e);
            0
        }
    });
    match bad {
        Some(e) => Err(e),
        None => Ok(counters),
    }
}

/// One instructor's month in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructorReport {
    pub instructor_id: String,
    pub currency: Currency,
    pub counters: InstructorCounters,
}
