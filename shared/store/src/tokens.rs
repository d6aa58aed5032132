//! The token ledger: accounts, immutable entries, once-per-user source keys, vouchers and Pro
//! credits.
//!
//! Every balance change is one `TransactWriteItems`:
//! `[0]` the account put, conditional on the version read (optimistic concurrency),
//! `[1]` the source-key put, conditional on `attribute_not_exists` (a source applies once, ever),
//! `[2]` the ledger entry put at `LEDGER#<new version>` (never overwritten),
//! then what the entry pays for or moves (leaderboard scores, a voucher, a Pro credit).
//! A changed version, or a transaction conflict, retries the whole read-decide-write with
//! exponential backoff and full jitter; the balance check happens on the version read, so the
//! balance can never go below zero however many redemptions race.

use crate::cursor::{self, Page};
use crate::error::{StoreError, from_sdk, from_transact};
use crate::item::{Item, get_i64, get_s, n, opt_i64, opt_s, s};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use azora_domain::ids::new_id;
use azora_domain::leaderboard::{shard_of, sort_key, week_end, week_id};
use azora_domain::payment::Payment;
use azora_domain::streak::Streak;
use azora_domain::tokens::{LedgerEntry, LedgerKind, LedgerRefusal, TokenAccount, Voucher, VoucherStatus};
use azora_domain::{Currency, Money, UserId};
use jiff::Timestamp;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Attempts of the read-decide-write loop before giving up with a 503.
const MAX_ATTEMPTS: u32 = 100;
/// Weekly score items expire this long after their week ended.
const WEEK_SCORE_TTL_DAYS: i64 = 90;

/// What the caller wants written for one entry, decided from the account as read.
#[derive(Debug, Clone)]
pub struct EntryPlan {
    pub kind: LedgerKind,
    pub delta: i64,
    pub reason: String,
    pub details: serde_json::Value,
    /// The account after the entry (from `TokenAccount::apply`, plus streak/time zone/email).
    pub after: TokenAccount,
    /// What else this entry pays for, written in the same transaction.
    pub effect: Effect,
}

impl EntryPlan {
    /// A plain entry: `delta` of `kind` on the account as read, nothing else written.
    pub fn simple(
        account: &TokenAccount,
        kind: LedgerKind,
        delta: i64,
        reason: &str,
        at: Timestamp,
    ) -> Result<EntryPlan, LedgerRefusal> {
        Ok(EntryPlan {
            kind,
            delta,
            reason: reason.to_string(),
            details: serde_json::Value::Null,
            after: account.apply(kind, delta, at)?,
            effect: Effect::None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    /// A new voucher (redeeming a course voucher).
    Voucher(Voucher),
    /// Extend the Pro credit by `days`: from its current end, or from now when it has none or it
    /// ended (read in the same attempt, written conditionally on what was read).
    ProCredit {
        days: u32,
    },
}

/// Why an entry was not written.
#[derive(Debug)]
pub enum LedgerError {
    /// The domain refused it (insufficient balance...).
    Refused(LedgerRefusal),
    Store(StoreError),
}

impl From<StoreError> for LedgerError {
    fn from(e: StoreError) -> Self {
        LedgerError::Store(e)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Written now. `pro_credit_until` is the new end of the Pro credit for `Effect::ProCredit`.
    Written { entry: LedgerEntry, account: Box<TokenAccount>, effect: Box<Effect>, pro_credit_until: Option<Timestamp> },
    /// The source key was used before; this is the entry it produced.
    Duplicate { entry: Option<LedgerEntry> },
}

/// A Pro month bought with tokens: Pro features until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProCredit {
    pub until: Timestamp,
}

pub(crate) fn pro_credit_from_item(item: &Item) -> Result<ProCredit, StoreError> {
    let until =
        Timestamp::from_second(get_i64(item, "until")?).map_err(|_| StoreError::Malformed("proCredit.until".into()))?;
    Ok(ProCredit { until })
}

/// A voucher's use on a payment, as recorded on the payment item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentVoucher {
    pub voucher_id: String,
    pub discount: Money,
    /// The items' list total before the discount.
    pub list_amount: i64,
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Malformed(e.to_string()))
}

fn ts(t: Timestamp) -> AttributeValue {
    s(t.to_string())
}

/// Full-jitter exponential backoff: a random delay in `[0, min(250, 5 × 2^attempt)]` ms.
pub(crate) async fn backoff(attempt: u32) {
    let cap = 5u64.saturating_mul(1 << attempt.min(10)).min(250);
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    tokio::time::sleep(Duration::from_millis(random % (cap + 1))).await;
}

/// Whether a cancelled transaction should simply be retried (a changed version or a conflict).
fn retryable(reasons: &[String]) -> bool {
    reasons.iter().any(|r| r == "ConditionalCheckFailed" || r == "TransactionConflict")
}

impl Store {
    /// The user's account (a new user has the default, version 0).
    pub async fn token_account(&self, user: &UserId) -> Result<TokenAccount, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::TOKENS))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(account_from_item).transpose().map(Option::unwrap_or_default)
    }

    /// Writes one ledger entry for `user` under `source_key`, deciding it from the account as read
    /// with `plan` (called again on every retry). A used source key is `Applied::Duplicate`.
    pub async fn apply_entry<F>(
        &self,
        user: &UserId,
        source_key: &str,
        at: Timestamp,
        plan: F,
    ) -> Result<Applied, LedgerError>
    where
        F: Fn(&TokenAccount) -> Result<EntryPlan, LedgerRefusal>,
    {
        for attempt in 0..MAX_ATTEMPTS {
            let before = self.token_account(user).await?;
            let plan = match plan(&before) {
                Ok(p) => p,
                Err(refusal) => {
                    // A refused entry may still be a duplicate (e.g. a replayed redemption after
                    // the balance was spent): the source key wins.
                    if let Some(entry) = self.entry_for_source(user, source_key).await? {
                        return Ok(Applied::Duplicate { entry: Some(entry) });
                    }
                    return Err(LedgerError::Refused(refusal));
                }
            };
            let seq = before.version + 1;
            let entry = LedgerEntry {
                id: new_id("tle"),
                user_id: user.clone(),
                seq,
                delta: plan.delta,
                kind: plan.kind,
                reason: plan.reason.clone(),
                source_key: source_key.to_string(),
                balance_after: plan.after.balance,
                created_at: at,
                details: plan.details.clone(),
            };
            let mut after = plan.after.clone();
            after.version = seq;
            let mut writes = vec![
                account_put(&self.table, user, &before, &after, at)?,
                source_put(&self.table, user, source_key, &entry)?,
                entry_put(&self.table, &entry)?,
            ];
            if plan.kind == LedgerKind::Award {
                writes.extend(score_puts(&self.table, user, &after, at)?);
            }
            let credit = match plan.effect {
                Effect::ProCredit { days } => {
                    let previous = self.pro_credit(user).await?.map(|c| c.until);
                    let from = previous.filter(|p| *p > at).unwrap_or(at);
                    let until = from + jiff::SignedDuration::from_hours(24 * i64::from(days));
                    // Stored in whole seconds; keep the value returned equal to what is stored.
                    Some((previous, Timestamp::from_second(until.as_second()).unwrap_or(until)))
                }
                _ => None,
            };
            writes.extend(effect_writes(&self.table, user, &plan.effect, credit, at)?);
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
                .map_err(from_transact)
            {
                Ok(_) => {
                    return Ok(Applied::Written {
                        entry,
                        account: Box::new(after),
                        effect: Box::new(plan.effect),
                        pro_credit_until: credit.map(|(_, until)| until),
                    });
                }
                Err(e) if e.failed_condition_at(1) => {
                    return Ok(Applied::Duplicate { entry: self.entry_for_source(user, source_key).await? });
                }
                Err(StoreError::TransactionCanceled { reasons }) if retryable(&reasons) => {
                    tracing::debug!(attempt, ?reasons, "ledger write raced; retrying");
                    backoff(attempt).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(LedgerError::Store(StoreError::Backend {
            operation: "TransactWriteItems",
            message: format!("the token account kept changing ({MAX_ATTEMPTS} attempts)"),
        }))
    }

    /// The entry a source key produced, if it was used.
    pub async fn entry_for_source(&self, user: &UserId, source_key: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let pk = keys::user(user.as_str());
        let source = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(&pk))
            .key(keys::SK, s(keys::source(source_key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?
            .item;
        let Some(source) = source else { return Ok(None) };
        let seq = get_i64(&source, "seq")?;
        let entry = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(&pk))
            .key(keys::SK, s(keys::ledger(seq as u64)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?
            .item;
        entry.as_ref().map(entry_from_item).transpose()
    }

    /// The user's ledger, newest first.
    pub async fn token_history(
        &self,
        user: &UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        let pk = keys::user(user.as_str());
        let start = cursor.map(|c| cursor::decode(c, keys::PK, &pk)).transpose()?;
        if start
            .as_ref()
            .is_some_and(|k| !matches!(k.get(keys::SK), Some(AttributeValue::S(sk)) if sk.starts_with("LEDGER#")))
        {
            return Err(StoreError::InvalidCursor);
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :ledger)")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":ledger", s("LEDGER#"))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| from_sdk("Query", e))?;
        let items = out.items().iter().map(entry_from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor: cursor::encode(out.last_evaluated_key()) })
    }

    /// Every entry of the user's ledger, oldest first (tests and digests; a ledger is read in
    /// pages of 1 MB).
    pub async fn all_ledger_entries(&self, user: &UserId) -> Result<Vec<LedgerEntry>, StoreError> {
        self.ledger_entries_between(user, None, None).await
    }

    /// The user's entries created in `[from, to)`, oldest first. Reads newest first from the end
    /// and stops at `from`, so a digest of the last window reads only that window.
    pub async fn ledger_entries_between(
        &self,
        user: &UserId,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        'pages: loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :ledger)")
                .expression_attribute_values(":pk", s(keys::user(user.as_str())))
                .expression_attribute_values(":ledger", s("LEDGER#"))
                .scan_index_forward(false)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| from_sdk("Query", e))?;
            for item in page.items() {
                let entry = entry_from_item(item)?;
                if from.is_some_and(|f| entry.created_at < f) {
                    break 'pages;
                }
                if to.is_none_or(|t| entry.created_at < t) {
                    out.push(entry);
                }
            }
            match page.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => break,
            }
        }
        out.reverse();
        Ok(out)
    }

    pub async fn get_voucher(&self, user: &UserId, voucher_id: &str) -> Result<Option<Voucher>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::voucher(voucher_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(voucher_from_item).transpose()
    }

    /// The user's vouchers (at most 100, newest ids last).
    pub async fn list_vouchers(&self, user: &UserId) -> Result<Vec<Voucher>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :v)")
            .expression_attribute_values(":pk", s(keys::user(user.as_str())))
            .expression_attribute_values(":v", s("VOUCHER#"))
            .limit(100)
            .send()
            .await
            .map_err(|e| from_sdk("Query", e))?;
        out.items().iter().map(voucher_from_item).collect()
    }

    pub async fn pro_credit(&self, user: &UserId) -> Result<Option<ProCredit>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::PRO_CREDIT))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(pro_credit_from_item).transpose()
    }

    /// Creates a payment that uses `voucher`, and marks the voucher used by it, atomically: the
    /// voucher moves `available → used` at most once. `ConditionFailed` when the payment exists
    /// (a retried request); `TransactionCanceled` with item 1 failed when the voucher is not
    /// available (used, or not the buyer's).
    pub async fn create_payment_with_voucher(
        &self,
        payment: &Payment,
        voucher: &Voucher,
        discount: Money,
        list_amount: i64,
    ) -> Result<(), StoreError> {
        let mut item = crate::payments::payment_item(payment)?;
        item.insert("voucherId".into(), s(&voucher.id));
        item.insert("voucherDiscount".into(), n(discount.amount));
        item.insert("listAmount".into(), n(list_amount));
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?;
        let use_voucher = build(
            Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::user(payment.user_id.as_str())))
                .key(keys::SK, s(keys::voucher(&voucher.id)))
                .update_expression("SET #status = :used, paymentId = :pid, usedAt = :now")
                .condition_expression("#status = :available AND currency = :cur")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":used", s(VoucherStatus::Used.as_str()))
                .expression_attribute_values(":available", s(VoucherStatus::Available.as_str()))
                .expression_attribute_values(":cur", s(payment.amount.currency.code()))
                .expression_attribute_values(":pid", s(&payment.id))
                .expression_attribute_values(":now", ts(payment.created_at))
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(use_voucher).build())
            .send()
            .await
            .map_err(from_transact);
        match result {
            Err(e) if e.failed_condition_at(0) => Err(StoreError::ConditionFailed),
            other => other.map(|_| ()),
        }
    }

    /// Makes a voucher available again if `payment_id` still holds it (that payment was canceled
    /// and can never be charged). `false` when it does not.
    pub async fn release_voucher(&self, user: &UserId, voucher_id: &str, payment_id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::voucher(voucher_id)))
            .update_expression("SET #status = :available REMOVE paymentId, usedAt")
            .condition_expression("#status = :used AND paymentId = :pid")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":used", s(VoucherStatus::Used.as_str()))
            .expression_attribute_values(":available", s(VoucherStatus::Available.as_str()))
            .expression_attribute_values(":pid", s(payment_id))
            .send()
            .await;
        match result.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The voucher a payment used, if any.
    pub async fn payment_voucher(&self, payment_id: &str) -> Result<Option<PaymentVoucher>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::payment(payment_id)))
            .key(keys::SK, s(keys::PAYMENT))
            .projection_expression("voucherId, voucherDiscount, listAmount, currency")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        let Some(item) = out.item else { return Ok(None) };
        let Some(voucher_id) = opt_s(&item, "voucherId") else { return Ok(None) };
        let currency =
            Currency::parse(get_s(&item, "currency")?).map_err(|_| StoreError::Malformed("payment.currency".into()))?;
        Ok(Some(PaymentVoucher {
            voucher_id: voucher_id.to_string(),
            discount: Money::new(get_i64(&item, "voucherDiscount")?, currency),
            list_amount: get_i64(&item, "listAmount")?,
        }))
    }
}

fn account_put(
    table: &str,
    user: &UserId,
    before: &TokenAccount,
    after: &TokenAccount,
    at: Timestamp,
) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder()
        .table_name(table)
        .item(keys::PK, s(keys::user(user.as_str())))
        .item(keys::SK, s(keys::TOKENS))
        .item("userId", s(user.as_str()))
        .item("version", n(after.version))
        .item("balance", n(after.balance))
        .item("lifetimeEarned", n(after.lifetime_earned))
        .item("lifetimeRedeemed", n(after.lifetime_redeemed))
        .item("streakCurrent", n(after.streak.current))
        .item("streakLongest", n(after.streak.longest))
        .item("weekEarned", n(after.week_earned))
        .item("updatedAt", ts(at));
    if let Some(day) = after.streak.last_day {
        put = put.item("streakLastDay", s(day.to_string()));
    }
    if let Some(week) = &after.week_id {
        put = put.item("weekId", s(week));
    }
    if let Some(tz) = &after.time_zone {
        put = put.item("timeZone", s(tz));
    }
    if let Some(email) = &after.email {
        put = put.item("email", s(email));
    }
    put = if before.version == 0 {
        put.condition_expression("attribute_not_exists(PK)")
    } else {
        put.condition_expression("version = :v").expression_attribute_values(":v", n(before.version))
    };
    Ok(TransactWriteItem::builder().put(build(put.build())?).build())
}

fn source_put(
    table: &str,
    user: &UserId,
    source_key: &str,
    entry: &LedgerEntry,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .item(keys::PK, s(keys::user(user.as_str())))
        .item(keys::SK, s(keys::source(source_key)))
        .item("seq", n(entry.seq))
        .item("entryId", s(&entry.id))
        .item("createdAt", ts(entry.created_at))
        .condition_expression("attribute_not_exists(PK)");
    Ok(TransactWriteItem::builder().put(build(put.build())?).build())
}

fn entry_put(table: &str, e: &LedgerEntry) -> Result<TransactWriteItem, StoreError> {
    let details = serde_json::to_string(&e.details).map_err(|err| StoreError::Malformed(err.to_string()))?;
    let put = Put::builder()
        .table_name(table)
        .item(keys::PK, s(keys::user(e.user_id.as_str())))
        .item(keys::SK, s(keys::ledger(e.seq)))
        .item("entryId", s(&e.id))
        .item("userId", s(e.user_id.as_str()))
        .item("seq", n(e.seq))
        .item("delta", n(e.delta))
        .item("kind", s(e.kind.as_str()))
        .item("reason", s(&e.reason))
        .item("sourceKey", s(&e.source_key))
        .item("balanceAfter", n(e.balance_after))
        .item("createdAt", ts(e.created_at))
        .item("details", s(details))
        .condition_expression("attribute_not_exists(PK)");
    Ok(TransactWriteItem::builder().put(build(put.build())?).build())
}

/// The user's all-time and current-week score items, set to the exact totals of `after`.
fn score_puts(
    table: &str,
    user: &UserId,
    after: &TokenAccount,
    at: Timestamp,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let week = week_id(at);
    let expires = week_end(at).as_second() + WEEK_SCORE_TTL_DAYS * 24 * 3600;
    [("all".to_string(), after.lifetime_earned, None), (week, after.earned_in_week_of(at), Some(expires))]
        .into_iter()
        .map(|(period, score, ttl)| {
            let item = score_item(user.as_str(), &period, score, at, ttl);
            Ok(TransactWriteItem::builder()
                .put(build(Put::builder().table_name(table).set_item(Some(item)).build())?)
                .build())
        })
        .collect()
}

/// A leaderboard score item (also written by the bench and tests in bulk).
pub fn score_item(user_id: &str, period_id: &str, score: i64, reached_at: Timestamp, expires_at: Option<i64>) -> Item {
    let mut item = Item::from([
        (keys::PK.to_string(), s(keys::user(user_id))),
        (keys::SK.to_string(), s(keys::score(period_id))),
        (keys::LB_PK.to_string(), s(keys::leaderboard_shard(period_id, shard_of(user_id)))),
        (keys::LB_SCORE.to_string(), n(sort_key(score, reached_at))),
        ("score".to_string(), n(score)),
        ("updatedAt".to_string(), ts(reached_at)),
    ]);
    if let Some(t) = expires_at {
        item.insert(keys::TTL.to_string(), n(t));
    }
    item
}

fn effect_writes(
    table: &str,
    user: &UserId,
    effect: &Effect,
    credit: Option<(Option<Timestamp>, Timestamp)>,
    at: Timestamp,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let pk = s(keys::user(user.as_str()));
    match effect {
        Effect::None => Ok(vec![]),
        Effect::Voucher(v) => {
            let put = Put::builder()
                .table_name(table)
                .item(keys::PK, pk)
                .item(keys::SK, s(keys::voucher(&v.id)))
                .item("voucherId", s(&v.id))
                .item("userId", s(user.as_str()))
                .item("rewardId", s(&v.reward_id))
                .item("discountAmount", n(v.discount.amount))
                .item("currency", s(v.discount.currency.code()))
                .item("cost", n(v.cost))
                .item("status", s(v.status.as_str()))
                .item("createdAt", ts(v.created_at))
                .condition_expression("attribute_not_exists(PK)");
            Ok(vec![TransactWriteItem::builder().put(build(put.build())?).build()])
        }
        Effect::ProCredit { .. } => {
            let Some((previous, until)) = credit else { return Ok(vec![]) };
            let mut put = Put::builder()
                .table_name(table)
                .item(keys::PK, pk)
                .item(keys::SK, s(keys::PRO_CREDIT))
                .item("until", n(until.as_second()))
                .item("updatedAt", ts(at));
            put = match previous {
                None => put.condition_expression("attribute_not_exists(PK)"),
                Some(prev) => put
                    .condition_expression("#until = :prev")
                    .expression_attribute_names("#until", "until")
                    .expression_attribute_values(":prev", n(prev.as_second())),
            };
            Ok(vec![TransactWriteItem::builder().put(build(put.build())?).build()])
        }
    }
}

pub(crate) fn account_from_item(item: &Item) -> Result<TokenAccount, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("tokens.{what}"));
    let u32_of = |name: &str| -> Result<u32, StoreError> {
        u32::try_from(opt_i64(item, name)?.unwrap_or(0)).map_err(|_| malformed(name))
    };
    Ok(TokenAccount {
        version: u64::try_from(get_i64(item, "version")?).map_err(|_| malformed("version"))?,
        balance: get_i64(item, "balance")?,
        lifetime_earned: opt_i64(item, "lifetimeEarned")?.unwrap_or(0),
        lifetime_redeemed: opt_i64(item, "lifetimeRedeemed")?.unwrap_or(0),
        streak: Streak {
            current: u32_of("streakCurrent")?,
            longest: u32_of("streakLongest")?,
            last_day: opt_s(item, "streakLastDay")
                .map(|d| d.parse().map_err(|_| malformed("streakLastDay")))
                .transpose()?,
        },
        week_id: opt_s(item, "weekId").map(str::to_string),
        week_earned: opt_i64(item, "weekEarned")?.unwrap_or(0),
        time_zone: opt_s(item, "timeZone").map(str::to_string),
        email: opt_s(item, "email").map(str::to_string),
    })
}

pub(crate) fn entry_from_item(item: &Item) -> Result<LedgerEntry, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("ledger.{what}"));
    Ok(LedgerEntry {
        id: get_s(item, "entryId")?.to_string(),
        user_id: UserId::parse(get_s(item, "userId")?).map_err(|_| malformed("userId"))?,
        seq: u64::try_from(get_i64(item, "seq")?).map_err(|_| malformed("seq"))?,
        delta: get_i64(item, "delta")?,
        kind: LedgerKind::parse(get_s(item, "kind")?).ok_or_else(|| malformed("kind"))?,
        reason: get_s(item, "reason")?.to_string(),
        source_key: get_s(item, "sourceKey")?.to_string(),
        balance_after: get_i64(item, "balanceAfter")?,
        created_at: get_s(item, "createdAt")?.parse().map_err(|_| malformed("createdAt"))?,
        details: opt_s(item, "details")
            .map(|d| serde_json::from_str(d).map_err(|_| malformed("details")))
            .transpose()?
            .unwrap_or(serde_json::Value::Null),
    })
}

fn voucher_from_item(item: &Item) -> Result<Voucher, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("voucher.{what}"));
    let currency = Currency::parse(get_s(item, "currency")?).map_err(|_| malformed("currency"))?;
    Ok(Voucher {
        id: get_s(item, "voucherId")?.to_string(),
        user_id: UserId::parse(get_s(item, "userId")?).map_err(|_| malformed("userId"))?,
        reward_id: get_s(item, "rewardId")?.to_string(),
        discount: Money::new(get_i64(item, "discountAmount")?, currency),
        cost: get_i64(item, "cost")?,
        status: VoucherStatus::parse(get_s(item, "status")?).ok_or_else(|| malformed("status"))?,
        payment_id: opt_s(item, "paymentId").map(str::to_string),
        created_at: get_s(item, "createdAt")?.parse().map_err(|_| malformed("createdAt"))?,
    })
}
