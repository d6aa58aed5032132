//! Leaderboards: sharded score items read through the keys-only `Leaderboard` index, statistics
//! snapshots for percentile bands, profiles (display name, privacy), follows and classes.
//!
//! Score items are written by the ledger transaction (`tokens`). Reading the top N is one parallel
//! round of `SHARDS` queries — each shard's top N by `LbScore` descending — merged in memory;
//! nothing here scans the table.

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{FromItem, Item, attrs, from_item, get_s, json, n, s, ts};
use crate::table::{Expr, Key, Query, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use azora_domain::UserId;
use azora_domain::leaderboard::{EXACT_RANK_LIMIT, SHARDS, STATS_SAMPLE_SHARDS, StatsSnapshot};
use futures::future::join_all;
use jiff::Timestamp;
use std::collections::HashMap;

/// The top of a board and what reading it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Top {
    /// (user id, sort key), unsorted: rank them with `azora_domain::leaderboard::rank`.
    pub entries: Vec<(String, i128)>,
    /// DynamoDB requests made (one query per shard, plus continuation pages if any).
    pub requests: u32,
}

/// Where a caller stands on a board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerRank {
    /// Exact: 1 + the number of users strictly ahead (fewer than `EXACT_RANK_LIMIT`).
    Exact(u64),
    /// Outside the top `EXACT_RANK_LIMIT`: the band from the latest snapshot (`None` before the
    /// first stats run).
    Band { snapshot: Option<StatsSnapshot> },
}

/// A user's leaderboard profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub display_name: Option<String>,
    pub hide_from_leaderboards: bool,
    pub follow_count: u32,
}

/// What asking to follow someone did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowRequestOutcome {
    Requested,
    AlreadyRequested,
    AlreadyFollowing,
}

/// Someone asking to follow the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowRequest {
    pub requester: String,
    pub requested_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowOutcome {
    Followed,
    AlreadyFollowing,
    /// There was no request to accept.
    NoRequest,
    LimitReached,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    pub id: String,
    pub owner_id: UserId,
    pub name: String,
    /// Members joined by consent (the owner is not one unless they joined).
    pub member_count: u32,
    /// What a learner enters to join; the owner shares it. Classes made before join codes have none.
    pub join_code: Option<String>,
    pub created_at: Timestamp,
}

/// A class on a user's own list: one they created or joined, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassListing {
    pub class_id: String,
    pub since: Timestamp,
}

/// What joining a class did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    Joined,
    AlreadyMember,
    Full,
}

fn user_of_pk(item: &Item) -> Result<String, StoreError> {
    get_s(item, keys::PK)?
        .strip_prefix("USER#")
        .map(str::to_string)
        .ok_or_else(|| StoreError::Malformed("score item PK".into()))
}

fn key_of(item: &Item) -> Result<i128, StoreError> {
    match item.get(keys::LB_SCORE) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| StoreError::Malformed("LbScore".into())),
        _ => Err(StoreError::Malformed("missing LbScore".into())),
    }
}

/// One shard of a period's board on the keys-only `Leaderboard` index.
fn shard(period_id: &str, shard: u32) -> Query {
    Query::on(Some(keys::LEADERBOARD), keys::LB_PK, keys::leaderboard_shard(period_id, shard))
}

fn stats_key(period_id: &str) -> Key {
    key(keys::leaderboard_stats(period_id), "STATS")
}

fn profile_key(user: &str) -> Key {
    key(keys::user(user), keys::PROFILE)
}

from_item! { StatsSnapshot as "stats", |f| {
    computed_at: f.ts("computedAt")?,
    sample_size: u64::try_from(f.i64("sampleSize")?).map_err(|_| f.bad("sampleSize"))?,
    estimated_total: u64::try_from(f.i64("estimatedTotal")?).map_err(|_| f.bad("estimatedTotal"))?,
    cuts: f.json("cuts")?,
} }

from_item! { Profile as "profile", |f| {
    display_name: f.opt("displayName"), hide_from_leaderboards: f.bool("hideFromLeaderboards"),
    follow_count: u32::try_from(f.count("followCount")?.max(0)).unwrap_or(0),
} }

from_item! { FollowRequest as "follow request", |f| {
    requester: f.string("userId")?, requested_at: f.ts("requestedAt")?,
} }

from_item! { ClassListing as "class listing", |f| {
    class_id: f.string("classId")?, since: f.ts("since")?,
} }

/// Puts the class on `user`'s own list (the first time wins `since`; owning and joining the same
/// class lists it once).
fn list_class_for(user: &UserId, class_id: &str, now: Timestamp) -> (Key, Expr) {
    let expr = Expr::update("SET classId = :class, since = if_not_exists(since, :now)")
        .value(":class", s(class_id))
        .value(":now", ts(now));
    (key(keys::user(user.as_str()), keys::user_class(class_id)), expr)
}

from_item! { Class as "class", |f| {
    id: f.string("classId")?, owner_id: f.user("ownerId")?, name: f.string("name")?,
    member_count: f.u32("memberCount")?, join_code: f.opt("joinCode"), created_at: f.ts("createdAt")?,
} }

impl Store {
    /// Each shard's top `limit` for the period, in one parallel round of queries.
    pub async fn leaderboard_top(&self, period_id: &str, limit: usize) -> Result<Top, StoreError> {
        let limit = i32::try_from(limit.clamp(1, 1000)).unwrap_or(100);
        let queries: Vec<Query> = (0..SHARDS).map(|i| shard(period_id, i).newest_first().limit(limit)).collect();
        let mut entries = Vec::new();
        let mut requests = 0;
        for result in join_all(queries.iter().map(|q| self.query_page(q, None))).await {
            requests += 1;
            for item in result?.0 {
                entries.push((user_of_pk(&item)?, key_of(&item)?));
            }
        }
        Ok(Top { entries, requests })
    }

    /// The user's sort key in the period, if they earned anything in it.
    pub async fn leaderboard_key(&self, user_id: &str, period_id: &str) -> Result<Option<i128>, StoreError> {
        let item = self.get_item(&key(keys::user(user_id), keys::score(period_id)), false).await?;
        item.as_ref().map(key_of).transpose()
    }

    /// How many users have a key strictly greater than `key`, if fewer than `cap`: one parallel
    /// round of per-shard `COUNT` queries, each stopping at `cap` items. `None` means `cap` or more.
    pub async fn count_ahead(&self, period_id: &str, key: i128, cap: usize) -> Result<Option<usize>, StoreError> {
        let cap_i32 = i32::try_from(cap.max(1)).unwrap_or(i32::MAX);
        let queries: Vec<Query> = (0..SHARDS)
            .map(|i| shard(period_id, i).sort_key("#score > :sk", n(key)).name("#score", keys::LB_SCORE).limit(cap_i32))
            .collect();
        let mut sum = 0usize;
        for count in join_all(queries.iter().map(|q| self.query_count(q, cap))).await {
            sum += count?;
        }
        Ok((sum < cap).then_some(sum))
    }

    /// The rank of `key` in the period, and the number of requests it took: the snapshot first
    /// (one read); unless it shows the key clearly outside the top `EXACT_RANK_LIMIT`, the users
    /// ahead are counted (16 parallel queries) for an exact rank.
    pub async fn caller_rank(&self, period_id: &str, key: i128) -> Result<(CallerRank, u32), StoreError> {
        let snapshot = self.leaderboard_stats(period_id).await?;
        if snapshot.as_ref().is_some_and(|s| s.clearly_outside_top(key, EXACT_RANK_LIMIT)) {
            return Ok((CallerRank::Band { snapshot }, 1));
        }
        match self.count_ahead(period_id, key, EXACT_RANK_LIMIT).await? {
            Some(ahead) => Ok((CallerRank::Exact(ahead as u64 + 1), 1 + SHARDS)),
            None => Ok((CallerRank::Band { snapshot }, 1 + SHARDS)),
        }
    }

    /// Reads the sample shards of the period in full (keys only), computes the percentile cuts and
    /// stores the snapshot. Returns it with the number of requests made.
    pub async fn compute_leaderboard_stats(
        &self,
        period_id: &str,
        now: Timestamp,
        expires_at: Option<i64>,
    ) -> Result<(StatsSnapshot, u32), StoreError> {
        let reads = (0..STATS_SAMPLE_SHARDS.min(SHARDS)).map(|i| async move {
            let q = shard(period_id, i).name("#score", keys::LB_SCORE).project("#score");
            let mut keys_read = Vec::new();
            let mut requests = 0u32;
            let mut start = None;
            loop {
                let (items, next) = self.query_page(&q, start).await?;
                requests += 1;
                for item in &items {
                    keys_read.push(key_of(item)?);
                }
                match next {
                    Some(k) => start = Some(k),
                    None => return Ok::<_, StoreError>((keys_read, requests)),
                }
            }
        });
        let mut sample = Vec::new();
        let mut requests = 0;
        for r in join_all(reads).await {
            let (k, q) = r?;
            sample.extend(k);
            requests += q;
        }
        let snapshot = StatsSnapshot::from_sample(sample, STATS_SAMPLE_SHARDS.min(SHARDS), now);
        let mut item = stats_key(period_id).item([
            ("computedAt", ts(now)),
            ("sampleSize", n(snapshot.sample_size)),
            ("estimatedTotal", n(snapshot.estimated_total)),
            ("cuts", json(&snapshot.cuts)?),
        ]);
        if let Some(t) = expires_at {
            item.insert(keys::TTL.into(), n(t));
        }
        self.put(item, None).await?;
        Ok((snapshot, requests + 1))
    }

    pub async fn leaderboard_stats(&self, period_id: &str) -> Result<Option<StatsSnapshot>, StoreError> {
        self.get(&stats_key(period_id), false).await
    }

    /// The sort keys of `users` in the period (users without a score are absent).
    pub async fn leaderboard_keys_of(
        &self,
        users: &[String],
        period_id: &str,
    ) -> Result<HashMap<String, i128>, StoreError> {
        let wanted = users.iter().map(|u| key(keys::user(u), keys::score(period_id))).collect();
        self.batch_get(wanted, false).await?.iter().map(|item| Ok((user_of_pk(item)?, key_of(item)?))).collect()
    }

    /// The profiles of `users` (users who never set one are absent).
    pub async fn profiles(&self, users: &[String]) -> Result<HashMap<String, Profile>, StoreError> {
        let wanted = users.iter().map(|u| profile_key(u)).collect();
        self.batch_get(wanted, false)
            .await?
            .iter()
            .map(|item| Ok((user_of_pk(item)?, Profile::from_item(item)?)))
            .collect()
    }

    pub async fn profile(&self, user: &UserId) -> Result<Profile, StoreError> {
        Ok(self.profiles(&[user.to_string()]).await?.remove(user.as_str()).unwrap_or_default())
    }

    /// Sets the privacy flag and, when given, the display name; returns the profile.
    pub async fn put_privacy(
        &self,
        user: &UserId,
        hide: bool,
        display_name: Option<&str>,
        now: Timestamp,
    ) -> Result<Profile, StoreError> {
        let mut update = "SET hideFromLeaderboards = :hide, updatedAt = :now".to_string();
        let mut expr = Expr::default().value(":hide", AttributeValue::Bool(hide)).value(":now", ts(now));
        if let Some(name) = display_name {
            update.push_str(", displayName = :name");
            expr = expr.value(":name", s(name));
        }
        let expr = Expr::update(update).with(expr);
        let attributes = self.update_returning(&profile_key(user.as_str()), expr, ReturnValue::AllNew).await?;
        attributes.as_ref().map(Profile::from_item).transpose().map(Option::unwrap_or_default)
    }

    /// Follows `other`, at most `max` users in all.
    /// `user` asks to follow `other`: an incoming request on `other`'s partition and the pending
    /// one on `user`'s, together, unless `user` follows `other` already.
    pub async fn request_follow(
        &self,
        user: &UserId,
        other: &UserId,
        now: Timestamp,
    ) -> Result<FollowRequestOutcome, StoreError> {
        let (u, o) = (user.as_str(), other.as_str());
        let incoming =
            key(keys::user(o), keys::follow_request_from(u)).item([("userId", s(u)), ("requestedAt", ts(now))]);
        let outgoing =
            key(keys::user(u), keys::follow_request_to(o)).item([("userId", s(o)), ("requestedAt", ts(now))]);
        let writes = vec![
            self.tx_check(&key(keys::user(u), keys::follows(o)), Expr::absent())?,
            self.tx_new(incoming)?,
            self.tx_new(outgoing)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(FollowRequestOutcome::Requested),
            Err(e) if e.failed_condition_at(0) => Ok(FollowRequestOutcome::AlreadyFollowing),
            Err(e) if e.failed_condition_at(1) || e.failed_condition_at(2) => {
                Ok(FollowRequestOutcome::AlreadyRequested)
            }
            Err(e) => Err(e),
        }
    }

    /// Who asks to follow `user`, oldest first.
    pub async fn follow_requests(&self, user: &UserId) -> Result<Vec<FollowRequest>, StoreError> {
        let q = Query::prefix(keys::user(user.as_str()), "FOLLOWREQ#").consistent();
        let mut out = self.query_all(&q).await?.iter().map(FollowRequest::from_item).collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|r| r.requested_at);
        Ok(out)
    }

    /// Whom `user` asked to follow, still waiting for their answer.
    pub async fn pending_follows(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        self.sort_key_suffixes(&keys::user(user.as_str()), "FOLLOWREQTO#").await
    }

    /// `user` accepts `requester`'s request: the request goes and `requester` follows `user`
    /// (at most `max` follows), in one transaction.
    pub async fn accept_follow(
        &self,
        user: &UserId,
        requester: &UserId,
        max: u32,
        now: Timestamp,
    ) -> Result<FollowOutcome, StoreError> {
        let (u, r) = (user.as_str(), requester.as_str());
        let follow = key(keys::user(r), keys::follows(u)).item([("userId", s(u)), ("followedAt", ts(now))]);
        let count = Expr::update("ADD followCount :one")
            .only_if("attribute_not_exists(followCount) OR followCount < :max")
            .value(":one", n(1))
            .value(":max", n(max));
        let writes = vec![
            self.tx_delete(
                &key(keys::user(u), keys::follow_request_from(r)),
                Some(Expr::when("attribute_exists(PK)")),
            )?,
            self.tx_delete(&key(keys::user(r), keys::follow_request_to(u)), None)?,
            self.tx_new(follow)?,
            self.tx_update(&profile_key(r), count)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(FollowOutcome::Followed),
            Err(e) if e.failed_condition_at(0) => Ok(FollowOutcome::NoRequest),
            Err(e) if e.failed_condition_at(2) => {
                self.withdraw_follow_request(requester, user).await?;
                Ok(FollowOutcome::AlreadyFollowing)
            }
            Err(e) if e.failed_condition_at(3) => Ok(FollowOutcome::LimitReached),
            Err(e) => Err(e),
        }
    }

    /// Removes `requester`'s request to follow `other` (declined, or withdrawn); `false` when
    /// there was none.
    pub async fn withdraw_follow_request(&self, requester: &UserId, other: &UserId) -> Result<bool, StoreError> {
        let (r, o) = (requester.as_str(), other.as_str());
        let writes = vec![
            self.tx_delete(
                &key(keys::user(o), keys::follow_request_from(r)),
                Some(Expr::when("attribute_exists(PK)")),
            )?,
            self.tx_delete(&key(keys::user(r), keys::follow_request_to(o)), None)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(true),
            Err(e) if e.failed_condition_at(0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stops following `other`; `false` when the user did not follow them.
    pub async fn unfollow(&self, user: &UserId, other: &UserId) -> Result<bool, StoreError> {
        let follow = key(keys::user(user.as_str()), keys::follows(other.as_str()));
        let count = Expr::update("ADD followCount :minus").value(":minus", n(-1));
        let writes = vec![
            self.tx_delete(&follow, Some(Expr::when("attribute_exists(PK)")))?,
            self.tx_update(&profile_key(user.as_str()), count)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(true),
            Err(e) if e.failed_condition_at(0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whom the user follows (at most `MAX_FOLLOWS`, so one or two pages).
    pub async fn following(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        self.sort_key_suffixes(&keys::user(user.as_str()), "FOLLOWS#").await
    }

    /// The suffixes of the sort keys under `pk` that start with `prefix`, all pages.
    /// Strongly consistent: these lists (follows, requests sent, a class's members) are read
    /// right after the caller changed them, by the screen the change navigates to.
    async fn sort_key_suffixes(&self, pk: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let items = self.query_all(&Query::prefix(pk, prefix).project("SK").consistent()).await?;
        let mut out = Vec::new();
        for item in &items {
            if let Some(rest) = get_s(item, keys::SK)?.strip_prefix(prefix) {
                out.push(rest.to_string());
            }
        }
        Ok(out)
    }

    /// Writes a class without members and its join code, together. `ConditionFailed` when the
    /// class id (or, by a one-in-2^80 chance, the code) exists.
    pub async fn create_class(&self, class: &Class) -> Result<(), StoreError> {
        let code =
            class.join_code.as_deref().ok_or_else(|| StoreError::Malformed("a new class needs a join code".into()))?;
        let mut item = key(keys::class(&class.id), keys::CLASS).item(attrs! {
            "classId" => s(&class.id), "ownerId" => s(class.owner_id.as_str()), "name" => s(&class.name),
            "memberCount" => n(0), "createdAt" => ts(class.created_at),
        });
        item.insert("joinCode".into(), s(code));
        let lookup = key(keys::class_code(code), keys::CLASS_CODE).item([("classId", s(&class.id))]);
        let (listing, listed) = list_class_for(&class.owner_id, &class.id, class.created_at);
        match self.transact(vec![self.tx_new(item)?, self.tx_new(lookup)?, self.tx_update(&listing, listed)?]).await {
            Err(e) if e.failed_condition_at(0) || e.failed_condition_at(1) => Err(StoreError::ConditionFailed),
            other => other,
        }
    }

    /// The class a join code opens.
    pub async fn class_of_code(&self, code: &str) -> Result<Option<String>, StoreError> {
        let item = self.get_item(&key(keys::class_code(code), keys::CLASS_CODE), false).await?;
        item.as_ref().map(|i| get_s(i, "classId").map(str::to_string)).transpose()
    }

    /// Adds `user` to the class, at most `max` members: the member item, the count and the
    /// user's own list change together, so concurrent joins never pass the limit.
    pub async fn join_class(
        &self,
        class_id: &str,
        user: &UserId,
        max: u32,
        now: Timestamp,
    ) -> Result<JoinOutcome, StoreError> {
        let pk = keys::class(class_id);
        let member = key(&pk, keys::class_member(user.as_str())).item([("userId", s(user.as_str()))]);
        let count = Expr::update("ADD memberCount :one")
            .only_if("attribute_exists(PK) AND memberCount < :max")
            .value(":one", n(1))
            .value(":max", n(max));
        let (listing, listed) = list_class_for(user, class_id, now);
        let writes = vec![
            self.tx_new(member)?,
            self.tx_update(&key(&pk, keys::CLASS), count)?,
            self.tx_update(&listing, listed)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(JoinOutcome::Joined),
            Err(e) if e.failed_condition_at(0) => Ok(JoinOutcome::AlreadyMember),
            Err(e) if e.failed_condition_at(1) => Ok(JoinOutcome::Full),
            Err(e) => Err(e),
        }
    }

    /// Strongly consistent: the console opens a class's board right after creating or joining it.
    pub async fn get_class(&self, class_id: &str) -> Result<Option<Class>, StoreError> {
        self.get(&key(keys::class(class_id), keys::CLASS), true).await
    }

    /// A page of the classes `user` owns or joined, by class id.
    pub async fn classes_of(
        &self,
        user: &UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<ClassListing>, StoreError> {
        self.page(Query::prefix(keys::user(user.as_str()), &keys::user_class("")).limit(limit), cursor).await
    }

    /// The classes with these ids that exist, in no particular order.
    pub async fn get_classes(&self, class_ids: &[String]) -> Result<Vec<Class>, StoreError> {
        let wanted = class_ids.iter().map(|id| key(keys::class(id), keys::CLASS)).collect();
        self.batch_get(wanted, false).await?.iter().map(Class::from_item).collect()
    }

    pub async fn class_members(&self, class_id: &str) -> Result<Vec<String>, StoreError> {
        self.sort_key_suffixes(&keys::class(class_id), "MEMBER#").await
    }
}
