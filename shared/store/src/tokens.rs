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

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, ToItem, attrs, from_item, get_s, json, n, opt_s, s, ts};
use crate::table::{Expr, Key, Query, backoff, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use azora_domain::UserId;
use azora_domain::ids::new_id;
use azora_domain::leaderboard::{shard_of, sort_key, week_end, week_id};
use azora_domain::streak::Streak;
use azora_domain::tokens::{LedgerEntry, LedgerKind, LedgerRefusal, TokenAccount, Voucher};
use jiff::Timestamp;

pub use crate::vouchers::PaymentVoucher;

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

impl FromItem for ProCredit {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Ok(ProCredit { until: Fields::of(item, "proCredit").secs("until")? })
    }
}

fn account_key(user: &UserId) -> Key {
    key(keys::user(user.as_str()), keys::TOKENS)
}

fn source_key_of(user: &UserId, source_key: &str) -> Key {
    key(keys::user(user.as_str()), keys::source(source_key))
}

fn pro_credit_key(user: &UserId) -> Key {
    key(keys::user(user.as_str()), keys::PRO_CREDIT)
}

/// Whether a cancelled transaction should simply be retried (a changed version or a conflict).
fn retryable(reasons: &[String]) -> bool {
    reasons.iter().any(|r| r == "ConditionalCheckFailed" || r == "TransactionConflict")
}

impl Store {
    /// The user's account (a new user has the default, version 0).
    pub async fn token_account(&self, user: &UserId) -> Result<TokenAccount, StoreError> {
        Ok(self.get(&account_key(user), true).await?.unwrap_or_default())
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
                self.account_put(user, &before, &after, at)?,
                self.tx_new(source_item(user, source_key, &entry))?,
                self.tx_new(entry.to_item()?)?,
            ];
            if plan.kind == LedgerKind::Award {
                writes.extend(self.score_puts(user, &after, at)?);
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
            writes.extend(self.effect_writes(user, &plan.effect, credit, at)?);
            // A transaction lost to a concurrent one is sent again by `transact`; a changed
            // version (another entry got in first) is decided again from a fresh read.
            match self.transact(writes).await {
                Ok(()) => {
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
        Err(LedgerError::Store(crate::table::kept_changing(&format!("the token account ({MAX_ATTEMPTS} attempts)"))))
    }

    /// The entry a source key produced, if it was used.
    pub async fn entry_for_source(&self, user: &UserId, source_key: &str) -> Result<Option<LedgerEntry>, StoreError> {
        let Some(source) = self.get_item(&source_key_of(user, source_key), true).await? else { return Ok(None) };
        let seq = Fields::of(&source, "source").i64("seq")?;
        self.get(&key(keys::user(user.as_str()), keys::ledger(seq as u64)), true).await
    }

    /// The user's ledger, newest first.
    pub async fn token_history(
        &self,
        user: &UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<LedgerEntry>, StoreError> {
        self.page(ledger(user).newest_first().limit(limit), cursor).await
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
        let q = ledger(user).newest_first().consistent();
        let mut out = Vec::new();
        let mut start = None;
        'pages: loop {
            let (items, next) = self.query_page(&q, start).await?;
            for item in &items {
                let entry = LedgerEntry::from_item(item)?;
                if from.is_some_and(|f| entry.created_at < f) {
                    break 'pages;
                }
                if to.is_none_or(|t| entry.created_at < t) {
                    out.push(entry);
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        out.reverse();
        Ok(out)
    }

    pub async fn pro_credit(&self, user: &UserId) -> Result<Option<ProCredit>, StoreError> {
        self.get(&pro_credit_key(user), true).await
    }

    /// [`Store::token_account`] and [`Store::pro_credit`] in one `BatchGetItem` (the wallet shows both).
    pub async fn account_and_pro_credit(&self, user: &UserId) -> Result<(TokenAccount, Option<ProCredit>), StoreError> {
        let items = self.batch_get(vec![account_key(user), pro_credit_key(user)], true).await?;
        let (mut account, mut credit) = (TokenAccount::default(), None);
        for item in &items {
            match get_s(item, keys::SK)? {
                keys::TOKENS => account = TokenAccount::from_item(item)?,
                keys::PRO_CREDIT => credit = Some(ProCredit::from_item(item)?),
                _ => {}
            }
        }
        Ok((account, credit))
    }
}

/// The user's ledger entries.
fn ledger(user: &UserId) -> Query {
    Query::prefix(keys::user(user.as_str()), "LEDGER#")
}

/// `[1]` of every ledger transaction: a source applies once per user, ever.
fn source_item(user: &UserId, source_key: &str, entry: &LedgerEntry) -> Item {
    source_key_of(user, source_key).item([
        ("seq", n(entry.seq)),
        ("entryId", s(&entry.id)),
        ("createdAt", ts(entry.created_at)),
    ])
}

impl Store {
    /// `[0]` of every ledger transaction: the account as decided, conditional on the version read
    /// (optimistic concurrency; a new account must not exist yet).
    fn account_put(
        &self,
        user: &UserId,
        before: &TokenAccount,
        after: &TokenAccount,
        at: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = account_key(user).item(attrs! {
            "userId" => s(user.as_str()), "version" => n(after.version), "balance" => n(after.balance),
            "lifetimeEarned" => n(after.lifetime_earned), "lifetimeRedeemed" => n(after.lifetime_redeemed),
            "streakCurrent" => n(after.streak.current), "streakLongest" => n(after.streak.longest),
            "weekEarned" => n(after.week_earned), "updatedAt" => ts(at),
        });
        let optional = [
            ("streakLastDay", after.streak.last_day.map(|d| d.to_string())),
            ("weekId", after.week_id.clone()),
            ("timeZone", after.time_zone.clone()),
            ("email", after.email.clone()),
        ];
        item.extend(optional.into_iter().filter_map(|(k, v)| Some((k.to_string(), s(v?)))));
        let condition = if before.version == 0 {
            Expr::absent()
        } else {
            Expr::when("version = :v").value(":v", n(before.version))
        };
        self.tx_put(item, Some(condition))
    }

    /// The user's all-time and current-week score items, set to the exact totals of `after`.
    fn score_puts(
        &self,
        user: &UserId,
        after: &TokenAccount,
        at: Timestamp,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let week = week_id(at);
        let expires = week_end(at).as_second() + WEEK_SCORE_TTL_DAYS * 24 * 3600;
        [("all".to_string(), after.lifetime_earned, None), (week, after.earned_in_week_of(at), Some(expires))]
            .into_iter()
            .map(|(period, score, ttl)| self.tx_put(score_item(user.as_str(), &period, score, at, ttl), None))
            .collect()
    }

    fn effect_writes(
        &self,
        user: &UserId,
        effect: &Effect,
        credit: Option<(Option<Timestamp>, Timestamp)>,
        at: Timestamp,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        match effect {
            Effect::None => Ok(vec![]),
            Effect::Voucher(v) => Ok(vec![self.tx_new(v.to_item()?)?]),
            Effect::ProCredit { .. } => {
                let Some((previous, until)) = credit else { return Ok(vec![]) };
                let item = pro_credit_key(user).item([("until", n(until.as_second())), ("updatedAt", ts(at))]);
                // Extended from the end read in this attempt, never from a stale one.
                let condition = match previous {
                    None => Expr::absent(),
                    Some(prev) => {
                        Expr::when("#until = :prev").name("#until", "until").value(":prev", n(prev.as_second()))
                    }
                };
                Ok(vec![self.tx_put(item, Some(condition))?])
            }
        }
    }
}

/// A leaderboard score item (also written by the bench and tests in bulk).
pub fn score_item(user_id: &str, period_id: &str, score: i64, reached_at: Timestamp, expires_at: Option<i64>) -> Item {
    let mut item = key(keys::user(user_id), keys::score(period_id)).item([
        (keys::LB_PK, s(keys::leaderboard_shard(period_id, shard_of(user_id)))),
        (keys::LB_SCORE, n(sort_key(score, reached_at))),
        ("score", n(score)),
        ("updatedAt", ts(reached_at)),
    ]);
    if let Some(t) = expires_at {
        item.insert(keys::TTL.to_string(), n(t));
    }
    item
}

impl FromItem for TokenAccount {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let f = Fields::of(item, "tokens");
        let u32_of = |name: &str| -> Result<u32, StoreError> { u32::try_from(f.count(name)?).map_err(|_| f.bad(name)) };
        Ok(TokenAccount {
            version: u64::try_from(f.i64("version")?).map_err(|_| f.bad("version"))?,
            balance: f.i64("balance")?,
            lifetime_earned: f.count("lifetimeEarned")?,
            lifetime_redeemed: f.count("lifetimeRedeemed")?,
            streak: Streak {
                current: u32_of("streakCurrent")?,
                longest: u32_of("streakLongest")?,
                last_day: opt_s(item, "streakLastDay")
                    .map(|d| d.parse().map_err(|_| f.bad("streakLastDay")))
                    .transpose()?,
            },
            week_id: f.opt("weekId"),
            week_earned: f.count("weekEarned")?,
            time_zone: f.opt("timeZone"),
            email: f.opt("email"),
        })
    }
}

impl ToItem for LedgerEntry {
    /// `[2]` of every ledger transaction, at `LEDGER#<new version>` (never overwritten).
    fn to_item(&self) -> Result<Item, StoreError> {
        Ok(key(keys::user(self.user_id.as_str()), keys::ledger(self.seq)).item(attrs! {
            "entryId" => s(&self.id), "userId" => s(self.user_id.as_str()), "seq" => n(self.seq),
            "delta" => n(self.delta), "kind" => s(self.kind.as_str()), "reason" => s(&self.reason),
            "sourceKey" => s(&self.source_key), "balanceAfter" => n(self.balance_after),
            "createdAt" => ts(self.created_at), "details" => json(&self.details)?,
        }))
    }
}

from_item! { LedgerEntry as "ledger", |f| {
    id: f.string("entryId")?, user_id: f.user("userId")?,
    seq: u64::try_from(f.i64("seq")?).map_err(|_| f.bad("seq"))?, delta: f.i64("delta")?,
    kind: f.named("kind", LedgerKind::parse)?, reason: f.string("reason")?, source_key: f.string("sourceKey")?,
    balance_after: f.i64("balanceAfter")?, created_at: f.ts("createdAt")?,
    details: f.opt_json("details")?.unwrap_or(serde_json::Value::Null),
} }
