//! Leaderboards: sharded score items read through the keys-only `Leaderboard` index, statistics
//! snapshots for percentile bands, profiles (display name, privacy), follows and classes.
//!
//! Score items are written by the ledger transaction (`tokens`). Reading the top N is one parallel
//! round of `SHARDS` queries — each shard's top N by `LbScore` descending — merged in memory;
//! nothing here scans the table.

use crate::error::{StoreError, from_sdk};
use crate::item::{Item, get_bool, get_i64, get_s, n, opt_i64, opt_s, s};
use crate::tokens::backoff;
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, PutRequest, ReturnValue, Select, TransactWriteItem, Update,
    WriteRequest,
};
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowOutcome {
    Followed,
    AlreadyFollowing,
    LimitReached,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    pub id: String,
    pub owner_id: UserId,
    pub name: String,
    pub member_count: u32,
    pub created_at: Timestamp,
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Malformed(e.to_string()))
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

impl Store {
    /// Each shard's top `limit` for the period, in one parallel round of queries.
    pub async fn leaderboard_top(&self, period_id: &str, limit: usize) -> Result<Top, StoreError> {
        let limit = i32::try_from(limit.clamp(1, 1000)).unwrap_or(100);
        let queries = (0..SHARDS).map(|shard| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(keys::LEADERBOARD)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::LB_PK)
                .expression_attribute_values(":pk", s(keys::leaderboard_shard(period_id, shard)))
                .scan_index_forward(false)
                .limit(limit)
                .send()
        });
        let mut entries = Vec::new();
        let mut requests = 0;
        for result in join_all(queries).await {
            requests += 1;
            let out = result.map_err(|e| from_sdk("Query", e))?;
            for item in out.items() {
                entries.push((user_of_pk(item)?, key_of(item)?));
            }
        }
        Ok(Top { entries, requests })
    }

    /// The user's sort key in the period, if they earned anything in it.
    pub async fn leaderboard_key(&self, user_id: &str, period_id: &str) -> Result<Option<i128>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user_id)))
            .key(keys::SK, s(keys::score(period_id)))
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(key_of).transpose()
    }

    /// How many users have a key strictly greater than `key`, if fewer than `cap`: one parallel
    /// round of per-shard `COUNT` queries, each stopping at `cap` items. `None` means `cap` or more.
    pub async fn count_ahead(&self, period_id: &str, key: i128, cap: usize) -> Result<Option<usize>, StoreError> {
        let cap_i32 = i32::try_from(cap.max(1)).unwrap_or(i32::MAX);
        let counts = (0..SHARDS).map(|shard| async move {
            let mut total = 0usize;
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(keys::LEADERBOARD)
                    .key_condition_expression("#pk = :pk AND #score > :key")
                    .expression_attribute_names("#pk", keys::LB_PK)
                    .expression_attribute_names("#score", keys::LB_SCORE)
                    .expression_attribute_values(":pk", s(keys::leaderboard_shard(period_id, shard)))
                    .expression_attribute_values(":key", n(key))
                    .select(Select::Count)
                    .limit(cap_i32)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| from_sdk("Query", e))?;
                total += usize::try_from(out.count()).unwrap_or(0);
                match out.last_evaluated_key() {
                    Some(k) if total < cap => start = Some(k.clone()),
                    _ => return Ok::<usize, StoreError>(total),
                }
            }
        });
        let mut sum = 0usize;
        for count in join_all(counts).await {
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
        let reads = (0..STATS_SAMPLE_SHARDS.min(SHARDS)).map(|shard| async move {
            let mut keys_read = Vec::new();
            let mut requests = 0u32;
            let mut start = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(keys::LEADERBOARD)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", keys::LB_PK)
                    .expression_attribute_names("#score", keys::LB_SCORE)
                    .expression_attribute_values(":pk", s(keys::leaderboard_shard(period_id, shard)))
                    .projection_expression("#score")
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| from_sdk("Query", e))?;
                requests += 1;
                for item in out.items() {
                    keys_read.push(key_of(item)?);
                }
                match out.last_evaluated_key() {
                    Some(k) => start = Some(k.clone()),
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
        let cuts = serde_json::to_string(&snapshot.cuts).map_err(|e| StoreError::Malformed(e.to_string()))?;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::leaderboard_stats(period_id)))
            .item(keys::SK, s("STATS"))
            .item("computedAt", s(now.to_string()))
            .item("sampleSize", n(snapshot.sample_size))
            .item("estimatedTotal", n(snapshot.estimated_total))
            .item("cuts", s(cuts));
        if let Some(t) = expires_at {
            put = put.item(keys::TTL, n(t));
        }
        put.send().await.map_err(|e| from_sdk("PutItem", e))?;
        Ok((snapshot, requests + 1))
    }

    pub async fn leaderboard_stats(&self, period_id: &str) -> Result<Option<StatsSnapshot>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::leaderboard_stats(period_id)))
            .key(keys::SK, s("STATS"))
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        let Some(item) = out.item else { return Ok(None) };
        let malformed = |w: &str| StoreError::Malformed(format!("stats.{w}"));
        Ok(Some(StatsSnapshot {
            computed_at: get_s(&item, "computedAt")?.parse().map_err(|_| malformed("computedAt"))?,
            sample_size: u64::try_from(get_i64(&item, "sampleSize")?).map_err(|_| malformed("sampleSize"))?,
            estimated_total: u64::try_from(get_i64(&item, "estimatedTotal")?)
                .map_err(|_| malformed("estimatedTotal"))?,
            cuts: serde_json::from_str(get_s(&item, "cuts")?).map_err(|_| malformed("cuts"))?,
        }))
    }

    /// Writes items with `BatchWriteItem` (25 per request), retrying unprocessed ones. Returns the
    /// number of requests. For bulk loads (the bench, tests); the ledger writes scores itself.
    pub async fn batch_put(&self, items: Vec<Item>) -> Result<u32, StoreError> {
        let mut requests = 0;
        for chunk in items.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    Ok(WriteRequest::builder()
                        .put_request(build(PutRequest::builder().set_item(Some(item.clone())).build())?)
                        .build())
                })
                .collect::<Result<_, StoreError>>()?;
            let mut attempt = 0;
            while !pending.is_empty() {
                requests += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| from_sdk("BatchWriteItem", e))?;
                pending = out.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
                if !pending.is_empty() {
                    if attempt >= 12 {
                        return Err(StoreError::Backend {
                            operation: "BatchItems",
                            message: "items left unprocessed after retries".into(),
                        });
                    }
                    backoff(attempt).await;
                    attempt += 1;
                }
            }
        }
        Ok(requests)
    }

    /// `BatchGetItem` of `keys` (PK, SK), 100 per request, retrying unprocessed keys. Duplicate
    /// keys are asked for once (DynamoDB refuses a request with duplicates).
    async fn batch_get_keys(&self, mut wanted: Vec<(String, String)>) -> Result<Vec<Item>, StoreError> {
        wanted.sort_unstable();
        wanted.dedup();
        let mut found = Vec::new();
        for chunk in wanted.chunks(100) {
            let mut pending: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|(pk, sk)| HashMap::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))]))
                .collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                let request = build(KeysAndAttributes::builder().set_keys(Some(pending)).build())?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| from_sdk("BatchGetItem", e))?;
                if let Some(mut responses) = out.responses {
                    found.extend(responses.remove(&self.table).unwrap_or_default());
                }
                pending =
                    out.unprocessed_keys.and_then(|mut m| m.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
                if !pending.is_empty() {
                    if attempt >= 12 {
                        return Err(StoreError::Backend {
                            operation: "BatchItems",
                            message: "items left unprocessed after retries".into(),
                        });
                    }
                    backoff(attempt).await;
                    attempt += 1;
                }
            }
        }
        Ok(found)
    }

    /// The sort keys of `users` in the period (users without a score are absent).
    pub async fn leaderboard_keys_of(
        &self,
        users: &[String],
        period_id: &str,
    ) -> Result<HashMap<String, i128>, StoreError> {
        let wanted = users.iter().map(|u| (keys::user(u), keys::score(period_id))).collect();
        self.batch_get_keys(wanted).await?.iter().map(|item| Ok((user_of_pk(item)?, key_of(item)?))).collect()
    }

    /// The profiles of `users` (users who never set one are absent).
    pub async fn profiles(&self, users: &[String]) -> Result<HashMap<String, Profile>, StoreError> {
        let wanted = users.iter().map(|u| (keys::user(u), keys::PROFILE.to_string())).collect();
        self.batch_get_keys(wanted)
            .await?
            .iter()
            .map(|item| Ok((user_of_pk(item)?, profile_from_item(item)?)))
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
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::PROFILE))
            .expression_attribute_values(":hide", AttributeValue::Bool(hide))
            .expression_attribute_values(":now", s(now.to_string()))
            .return_values(ReturnValue::AllNew);
        if let Some(name) = display_name {
            update.push_str(", displayName = :name");
            req = req.expression_attribute_values(":name", s(name));
        }
        let out = req.update_expression(update).send().await.map_err(|e| from_sdk("UpdateItem", e))?;
        out.attributes.as_ref().map(profile_from_item).transpose().map(Option::unwrap_or_default)
    }

    /// Follows `other`, at most `max` users in all.
    pub async fn follow(
        &self,
        user: &UserId,
        other: &UserId,
        max: u32,
        now: Timestamp,
    ) -> Result<FollowOutcome, StoreError> {
        let pk = keys::user(user.as_str());
        let put = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(&pk))
            .item(keys::SK, s(keys::follows(other.as_str())))
            .item("userId", s(other.as_str()))
            .item("followedAt", s(now.to_string()))
            .condition_expression("attribute_not_exists(PK)");
        let count = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(&pk))
            .key(keys::SK, s(keys::PROFILE))
            .update_expression("ADD followCount :one")
            .condition_expression("attribute_not_exists(followCount) OR followCount < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max));
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(build(put.build())?).build())
            .transact_items(TransactWriteItem::builder().update(build(count.build())?).build())
            .send()
            .await
            .map_err(crate::error::from_transact);
        match result {
            Ok(_) => Ok(FollowOutcome::Followed),
            Err(e) if e.failed_condition_at(0) => Ok(FollowOutcome::AlreadyFollowing),
            Err(e) if e.failed_condition_at(1) => Ok(FollowOutcome::LimitReached),
            Err(e) => Err(e),
        }
    }

    /// Stops following `other`; `false` when the user did not follow them.
    pub async fn unfollow(&self, user: &UserId, other: &UserId) -> Result<bool, StoreError> {
        let pk = keys::user(user.as_str());
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(&pk))
            .key(keys::SK, s(keys::follows(other.as_str())))
            .condition_expression("attribute_exists(PK)");
        let count = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(&pk))
            .key(keys::SK, s(keys::PROFILE))
            .update_expression("ADD followCount :minus")
            .expression_attribute_values(":minus", n(-1));
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(build(delete.build())?).build())
            .transact_items(TransactWriteItem::builder().update(build(count.build())?).build())
            .send()
            .await
            .map_err(crate::error::from_transact);
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.failed_condition_at(0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whom the user follows (at most `MAX_FOLLOWS`, so one or two pages).
    pub async fn following(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        self.sort_key_suffixes(&keys::user(user.as_str()), "FOLLOWS#").await
    }

    /// The suffixes of the sort keys under `pk` that start with `prefix`, all pages.
    async fn sort_key_suffixes(&self, pk: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":prefix", s(prefix))
                .projection_expression("SK")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| from_sdk("Query", e))?;
            for item in page.items() {
                if let Some(rest) = get_s(item, keys::SK)?.strip_prefix(prefix) {
                    out.push(rest.to_string());
                }
            }
            match page.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(out),
            }
        }
    }

    /// Writes the members, then the class item (so a class is visible only once complete).
    /// `ConditionFailed` when the class id exists.
    pub async fn create_class(&self, class: &Class, members: &[UserId]) -> Result<(), StoreError> {
        let pk = keys::class(&class.id);
        let items: Vec<Item> = members
            .iter()
            .map(|m| {
                Item::from([
                    (keys::PK.to_string(), s(&pk)),
                    (keys::SK.to_string(), s(keys::class_member(m.as_str()))),
                    ("userId".to_string(), s(m.as_str())),
                ])
            })
            .collect();
        self.batch_put(items).await?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(&pk))
            .item(keys::SK, s(keys::CLASS))
            .item("classId", s(&class.id))
            .item("ownerId", s(class.owner_id.as_str()))
            .item("name", s(&class.name))
            .item("memberCount", n(class.member_count))
            .item("createdAt", s(class.created_at.to_string()))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }

    pub async fn get_class(&self, class_id: &str) -> Result<Option<Class>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::class(class_id)))
            .key(keys::SK, s(keys::CLASS))
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        let Some(item) = out.item else { return Ok(None) };
        let malformed = |w: &str| StoreError::Malformed(format!("class.{w}"));
        Ok(Some(Class {
            id: get_s(&item, "classId")?.to_string(),
            owner_id: UserId::parse(get_s(&item, "ownerId")?).map_err(|_| malformed("ownerId"))?,
            name: get_s(&item, "name")?.to_string(),
            member_count: u32::try_from(get_i64(&item, "memberCount")?).map_err(|_| malformed("memberCount"))?,
            created_at: get_s(&item, "createdAt")?.parse().map_err(|_| malformed("createdAt"))?,
        }))
    }

    pub async fn class_members(&self, class_id: &str) -> Result<Vec<String>, StoreError> {
        self.sort_key_suffixes(&keys::class(class_id), "MEMBER#").await
    }
}

fn profile_from_item(item: &Item) -> Result<Profile, StoreError> {
    Ok(Profile {
        display_name: opt_s(item, "displayName").map(str::to_string),
        hide_from_leaderboards: get_bool(item, "hideFromLeaderboards"),
        follow_count: u32::try_from(opt_i64(item, "followCount")?.unwrap_or(0).max(0)).unwrap_or(0),
    })
}
