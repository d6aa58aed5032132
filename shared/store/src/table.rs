//! Small helpers over the one table, so each store module says only what is specific to it: which
//! key, which condition and why.
//!
//! - [`Key`] names an item; [`Expr`] carries an update expression and/or a condition with its
//!   names and values, for a single write or for an item of a transaction.
//! - `get` / `put` / `put_new` / `update` / `delete` are single-item operations; a failed
//!   condition is [`StoreError::ConditionFailed`], which [`Outcome::applied`] turns into `false`
//!   where "nothing to do" is an answer, not an error.
//! - `tx_*` build the items of a `TransactWriteItems`; [`Store::transact`] sends them, maps the
//!   cancellation reasons once and re-sends a transaction DynamoDB cancelled for a conflicting
//!   concurrent one (nothing was written, and the conditions are evaluated again).
//! - [`Query`] reads one partition (of the table or of an index); `query_page`, `query_all` and
//!   `page` (with an opaque cursor accepted only for that partition).
//! - `batch_get` / `batch_put` retry unprocessed keys and items.

use crate::cursor::{self, Page};
use crate::error::{StoreError, from_sdk, from_transact};
use crate::item::{FromItem, Item, s};
use crate::{Store, keys};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, PutRequest, ReturnValue, Select, TransactWriteItem,
    Update, WriteRequest,
};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How many times a transaction cancelled for a conflicting concurrent transaction is sent again.
const CONFLICT_RETRIES: u32 = 8;
/// Attempts for the unprocessed keys or items of a batch.
const BATCH_ATTEMPTS: u32 = 12;

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub pk: String,
    pub sk: String,
}

pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Key {
    Key { pk: pk.into(), sk: sk.into() }
}

impl Key {
    pub fn attributes(&self) -> Item {
        Item::from([(keys::PK.to_string(), s(&self.pk)), (keys::SK.to_string(), s(&self.sk))])
    }

    /// A new item: this key and `attrs`.
    pub fn item<'a>(&self, attrs: impl IntoIterator<Item = (&'a str, AttributeValue)>) -> Item {
        let mut item = self.attributes();
        item.extend(attrs.into_iter().map(|(k, v)| (k.to_string(), v)));
        item
    }
}

/// An update expression and/or a condition, with the names and values they use.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expr {
    update: Option<String>,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// An update expression (`SET ... ADD ... REMOVE ...`).
    pub fn update(expression: impl Into<String>) -> Self {
        Expr { update: Some(expression.into()), ..Expr::default() }
    }

    /// Puts `prefix` before the update expression (e.g. a `SET` clause before an `ADD`).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.update = Some(format!("{prefix}{}", self.update.take().unwrap_or_default()));
        self
    }

    /// A condition alone (a conditional put, delete or check).
    pub fn when(condition: impl Into<String>) -> Self {
        Expr { condition: Some(condition.into()), ..Expr::default() }
    }

    /// The item must not exist yet.
    pub fn absent() -> Self {
        Expr::when("attribute_not_exists(PK)")
    }

    /// Adds (or replaces) the condition.
    pub fn only_if(mut self, condition: impl Into<String>) -> Self {
        self.condition = Some(condition.into());
        self
    }

    /// Takes `other`'s condition (ANDed with this one's), names and values.
    pub fn with(mut self, other: Expr) -> Self {
        self.condition = match (self.condition.take(), other.condition) {
            (Some(a), Some(b)) => Some(format!("({a}) AND ({b})")),
            (a, b) => a.or(b),
        };
        self.names.extend(other.names);
        self.values.extend(other.values);
        self
    }

    pub fn name(mut self, placeholder: impl Into<String>, attribute: impl Into<String>) -> Self {
        self.names.insert(placeholder.into(), attribute.into());
        self
    }

    /// `#status` for `status` (a reserved word).
    pub fn status(self) -> Self {
        self.name("#status", "status")
    }

    pub fn value(mut self, placeholder: impl Into<String>, value: AttributeValue) -> Self {
        self.values.insert(placeholder.into(), value);
        self
    }

    /// `<attribute> IN (:<prefix>0, :<prefix>1, ...)` with its values. Refused for an empty list
    /// (DynamoDB rejects `IN ()` with a validation error, which is not a condition that failed).
    pub fn one_of(
        self,
        attribute: &str,
        prefix: &str,
        values: impl IntoIterator<Item = AttributeValue>,
    ) -> Result<(Self, String), StoreError> {
        let mut expr = self;
        let mut placeholders = Vec::new();
        for (i, v) in values.into_iter().enumerate() {
            let p = format!(":{prefix}{i}");
            expr = expr.value(&p, v);
            placeholders.push(p);
        }
        if placeholders.is_empty() {
            return Err(StoreError::Malformed(format!("an empty list of allowed values for {attribute}")));
        }
        Ok((expr, format!("{attribute} IN ({})", placeholders.join(", "))))
    }

    /// `SET #status = :to, updatedAt = :now<more>`, only on an existing item whose status is one
    /// of `from` (a state machine's allowed sources). `None` for an empty `from`: no status is in
    /// it, so the caller answers "not moved" without asking DynamoDB (which refuses `IN ()`).
    pub fn status_move(
        to: &str,
        from: impl IntoIterator<Item = &'static str>,
        now: jiff::Timestamp,
        more: &str,
    ) -> Option<Self> {
        let expr = Expr::update(format!("SET #status = :to, updatedAt = :now{more}"))
            .status()
            .value(":to", s(to))
            .value(":now", crate::item::ts(now));
        let (expr, allowed) = expr.one_of("#status", "from", from.into_iter().map(s)).ok()?;
        Some(expr.only_if(format!("attribute_exists(PK) AND {allowed}")))
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Turns a failed condition into an answer where "nothing to do" is one.
pub(crate) trait Outcome {
    /// `Ok(true)` when written, `Ok(false)` when the condition did not hold.
    fn applied(self) -> Result<bool, StoreError>;
    /// `Ok(())` whether written or the condition did not hold (an idempotent step done before).
    fn or_done(self) -> Result<(), StoreError>;
}

impl<T> Outcome for Result<T, StoreError> {
    fn applied(self) -> Result<bool, StoreError> {
        match self {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn or_done(self) -> Result<(), StoreError> {
        self.applied().map(|_| ())
    }
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Malformed(e.to_string()))
}

/// Whether a cancelled transaction lost to a concurrent one (worth sending again).
pub(crate) fn lost_conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::TransactionCanceled { reasons } if reasons.iter().any(|r| r == "TransactionConflict"))
}

/// Full-jitter exponential backoff: a random delay in `[0, min(250, 5 × 2^attempt)]` ms.
pub(crate) async fn backoff(attempt: u32) {
    let cap = 5u64.saturating_mul(1 << attempt.min(10)).min(250);
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    tokio::time::sleep(Duration::from_millis(random % (cap + 1))).await;
}

/// The error of a read-decide-write loop that never got through.
pub(crate) fn kept_changing(what: &str) -> StoreError {
    StoreError::Backend { operation: "TransactWriteItems", message: format!("{what} kept changing") }
}

impl Store {
    /// One item, strongly consistent when `consistent`.
    pub(crate) async fn get_item(&self, key: &Key, consistent: bool) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        Ok(out.item)
    }

    /// One item, converted.
    pub(crate) async fn get<T: FromItem>(&self, key: &Key, consistent: bool) -> Result<Option<T>, StoreError> {
        self.get_item(key, consistent).await?.as_ref().map(T::from_item).transpose()
    }

    /// Writes `item`, under `condition` if any.
    pub(crate) async fn put(&self, item: Item, condition: Option<Expr>) -> Result<(), StoreError> {
        let condition = condition.unwrap_or_default();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.condition.clone())
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values())
            .send()
            .await
            .map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }

    /// Writes a new item; `ConditionFailed` when its key exists.
    pub(crate) async fn put_new(&self, item: Item) -> Result<(), StoreError> {
        self.put(item, Some(Expr::absent())).await
    }

    /// Updates one item; `ConditionFailed` when the expression's condition does not hold.
    pub(crate) async fn update(&self, key: &Key, expr: Expr) -> Result<(), StoreError> {
        self.update_returning(key, expr, ReturnValue::None).await.map(|_| ())
    }

    /// Updates one item and returns the attributes `returning` asks for.
    pub(crate) async fn update_returning(
        &self,
        key: &Key,
        expr: Expr,
        returning: ReturnValue,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .set_update_expression(expr.update.clone())
            .set_condition_expression(expr.condition.clone())
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(returning)
            .send()
            .await
            .map_err(|e| from_sdk("UpdateItem", e))?;
        Ok(out.attributes)
    }

    /// Deletes one item, under `condition` if any.
    pub(crate) async fn delete(&self, key: &Key, condition: Option<Expr>) -> Result<(), StoreError> {
        let condition = condition.unwrap_or_default();
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .set_condition_expression(condition.condition.clone())
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values())
            .send()
            .await
            .map_err(|e| from_sdk("DeleteItem", e))?;
        Ok(())
    }

    /// A put for a transaction, under `condition` if any.
    pub(crate) fn tx_put(&self, item: Item, condition: Option<Expr>) -> Result<TransactWriteItem, StoreError> {
        let c = condition.unwrap_or_default();
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(c.condition.clone())
            .set_expression_attribute_names(c.names())
            .set_expression_attribute_values(c.values());
        Ok(TransactWriteItem::builder().put(built(put.build())?).build())
    }

    /// A put of a new item for a transaction (cancelled when its key exists).
    pub(crate) fn tx_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        self.tx_put(item, Some(Expr::absent()))
    }

    pub(crate) fn tx_update(&self, key: &Key, expr: Expr) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .set_update_expression(expr.update.clone())
            .set_condition_expression(expr.condition.clone())
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values());
        Ok(TransactWriteItem::builder().update(built(update.build())?).build())
    }

    pub(crate) fn tx_delete(&self, key: &Key, condition: Option<Expr>) -> Result<TransactWriteItem, StoreError> {
        let c = condition.unwrap_or_default();
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .set_condition_expression(c.condition.clone())
            .set_expression_attribute_names(c.names())
            .set_expression_attribute_values(c.values());
        Ok(TransactWriteItem::builder().delete(built(delete.build())?).build())
    }

    /// A condition on an item the transaction does not write.
    pub(crate) fn tx_check(&self, key: &Key, condition: Expr) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key.attributes()))
            .set_condition_expression(condition.condition.clone())
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values());
        Ok(TransactWriteItem::builder().condition_check(built(check.build())?).build())
    }

    /// Sends one `TransactWriteItems`. A cancellation is `TransactionCanceled` with one reason per
    /// item, in order (see [`StoreError::failed_condition_at`]). A cancellation for a conflicting
    /// concurrent transaction wrote nothing, so the same items are sent again after a backoff
    /// (their conditions are evaluated again), a few times.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await
                .map_err(from_transact);
            match result {
                Err(e) if lost_conflict(&e) && attempt < CONFLICT_RETRIES => {
                    tracing::debug!(attempt, "transaction lost to a concurrent one; sending it again");
                    backoff(attempt).await;
                    attempt += 1;
                }
                other => return other.map(|_| ()),
            }
        }
    }

    /// The query's partition, order, consistency and limit (what a page and a count share).
    fn query_request(&self, q: &Query) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .set_index_name(q.index.map(str::to_string))
            .key_condition_expression(&q.key_condition)
            .set_expression_attribute_names(q.expr.names())
            .set_expression_attribute_values(q.expr.values())
            .scan_index_forward(!q.newest_first)
            .set_consistent_read(q.index.is_none().then_some(q.consistent))
            .set_limit(q.limit)
    }

    /// One page of a query, from `start`; the key to continue from, if there is more.
    pub(crate) async fn query_page(
        &self,
        q: &Query,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let out = self
            .query_request(q)
            .set_filter_expression(q.filter.clone())
            .set_projection_expression(q.projection.clone())
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| from_sdk("Query", e))?;
        let next = out.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((out.items.unwrap_or_default(), next))
    }

    /// Every item the query finds, all pages.
    pub(crate) async fn query_all(&self, q: &Query) -> Result<Vec<Item>, StoreError> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.query_page(q, start).await?;
            all.extend(items);
            match next {
                Some(k) => start = Some(k),
                None => return Ok(all),
            }
        }
    }

    /// How many items the query finds, counting until `cap` (one `COUNT` query per page).
    pub(crate) async fn query_count(&self, q: &Query, cap: usize) -> Result<usize, StoreError> {
        let mut total = 0usize;
        let mut start = None;
        loop {
            let out = self
                .query_request(q)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| from_sdk("Query", e))?;
            total += usize::try_from(out.count()).unwrap_or(0);
            match out.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(k) if total < cap => start = Some(k),
                _ => return Ok(total),
            }
        }
    }

    /// One page of the query's partition, converted; the cursor is only accepted for that
    /// partition, so a forged one cannot read another.
    pub(crate) async fn page<T: FromItem>(&self, q: Query, cursor: Option<&str>) -> Result<Page<T>, StoreError> {
        let start = cursor.map(|c| cursor::decode(c, q.partition_attr, &q.partition)).transpose()?;
        if let (Some(start), Some(prefix)) = (&start, &q.sort_prefix)
            && !matches!(start.get(keys::SK), Some(AttributeValue::S(sk)) if sk.starts_with(prefix.as_str()))
        {
            return Err(StoreError::InvalidCursor);
        }
        let (items, next) = self.query_page(&q, start).await?;
        let items = items.iter().map(T::from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor: cursor::encode(next.as_ref()) })
    }

    /// `BatchGetItem` of `wanted`, 100 keys per request, retrying unprocessed keys; duplicate keys
    /// are asked for once (DynamoDB refuses a request with duplicates). Answers in no order;
    /// missing items are absent.
    pub(crate) async fn batch_get(&self, mut wanted: Vec<Key>, consistent: bool) -> Result<Vec<Item>, StoreError> {
        wanted.sort_unstable();
        wanted.dedup();
        let mut found = Vec::new();
        for chunk in wanted.chunks(100) {
            let mut pending: Vec<Item> = chunk.iter().map(Key::attributes).collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                let request =
                    built(KeysAndAttributes::builder().set_keys(Some(pending)).consistent_read(consistent).build())?;
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
                attempt = self.unprocessed(pending.is_empty(), attempt).await?;
            }
        }
        Ok(found)
    }

    /// Writes items with `BatchWriteItem` (25 per request), retrying unprocessed ones. Returns the
    /// number of requests. For bulk loads (the bench, tests); unconditional, so never for money.
    pub async fn batch_put(&self, items: Vec<Item>) -> Result<u32, StoreError> {
        let mut requests = 0;
        for chunk in items.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    Ok(WriteRequest::builder()
                        .put_request(built(PutRequest::builder().set_item(Some(item.clone())).build())?)
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
                attempt = self.unprocessed(pending.is_empty(), attempt).await?;
            }
        }
        Ok(requests)
    }

    /// After a batch request: backs off before the next attempt when some were left unprocessed.
    async fn unprocessed(&self, all_done: bool, attempt: u32) -> Result<u32, StoreError> {
        if all_done {
            return Ok(attempt);
        }
        if attempt >= BATCH_ATTEMPTS {
            return Err(StoreError::Backend {
                operation: "BatchItems",
                message: "items left unprocessed after retries".into(),
            });
        }
        backoff(attempt).await;
        Ok(attempt + 1)
    }
}

/// A query of one partition, of the table or of an index.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    index: Option<&'static str>,
    partition_attr: &'static str,
    partition: String,
    /// With `prefix`: a cursor must stay within it too.
    sort_prefix: Option<String>,
    key_condition: String,
    filter: Option<String>,
    projection: Option<String>,
    expr: Expr,
    newest_first: bool,
    consistent: bool,
    limit: Option<i32>,
}

impl Query {
    /// The items of the table partition `pk`.
    pub fn partition(pk: impl Into<String>) -> Self {
        Self::on(None, keys::PK, pk)
    }

    /// The items of the table partition `pk` whose sort key starts with `prefix`.
    pub fn prefix(pk: impl Into<String>, prefix: &str) -> Self {
        let mut q = Self::partition(pk).sort_key("begins_with(SK, :sk)", s(prefix));
        q.sort_prefix = Some(prefix.to_string());
        q
    }

    /// The items of the GSI1 partition `pk`.
    pub fn gsi1(pk: impl Into<String>) -> Self {
        Self::on(Some(keys::GSI1), keys::GSI1PK, pk)
    }

    /// The items of partition `pk` (attribute `attr`) of `index` (`None`: the table).
    pub fn on(index: Option<&'static str>, attr: &'static str, pk: impl Into<String>) -> Self {
        let partition = pk.into();
        Query {
            index,
            partition_attr: attr,
            key_condition: "#pk = :pk".into(),
            expr: Expr::default().name("#pk", attr).value(":pk", s(&partition)),
            partition,
            sort_prefix: None,
            filter: None,
            projection: None,
            newest_first: false,
            consistent: false,
            limit: None,
        }
    }

    /// Narrows the sort key: `condition` uses `:sk` for `value` (e.g. `GSI1SK <= :sk`).
    pub fn sort_key(mut self, condition: &str, value: AttributeValue) -> Self {
        self.key_condition = format!("{} AND {condition}", self.key_condition);
        self.expr = self.expr.value(":sk", value);
        self
    }

    /// A filter over the items read; its names and values go through `name` and `value`.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.expr = self.expr.name(placeholder, attribute);
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.expr = self.expr.value(placeholder, value);
        self
    }

    pub fn project(mut self, projection: &str) -> Self {
        self.projection = Some(projection.into());
        self
    }

    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    /// Strongly consistent (table queries only; an index is always eventually consistent).
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }

    pub fn limit(mut self, limit: i32) -> Self {
        self.limit = Some(limit);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DynamoDB Local never cancels for a conflicting transaction; the real service can, and
    /// then `transact` sends the transaction again rather than failing the request.
    #[test]
    fn only_conflict_cancellations_are_sent_again() {
        let conflict = StoreError::TransactionCanceled { reasons: vec!["None".into(), "TransactionConflict".into()] };
        let condition =
            StoreError::TransactionCanceled { reasons: vec!["ConditionalCheckFailed".into(), "None".into()] };
        assert!(lost_conflict(&conflict));
        assert!(!lost_conflict(&condition));
        assert!(!lost_conflict(&StoreError::ConditionFailed));
    }

    #[test]
    fn one_of_lists_every_value_and_refuses_none() {
        let (expr, condition) = Expr::default().one_of("#status", "s", [s("a"), s("b")]).unwrap();
        assert_eq!(condition, "#status IN (:s0, :s1)");
        assert_eq!(expr.values.get(":s1"), Some(&s("b")));
        assert!(matches!(Expr::default().one_of("#status", "s", []), Err(StoreError::Malformed(_))));
    }

    #[test]
    fn a_status_move_from_no_status_is_none() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        assert!(Expr::status_move("active", [], now, "").is_none());
        let expr = Expr::status_move("revoked", ["active", "suspended"], now, " REMOVE GSI1PK").unwrap();
        assert_eq!(expr.update.as_deref(), Some("SET #status = :to, updatedAt = :now REMOVE GSI1PK"));
        assert_eq!(expr.condition.as_deref(), Some("attribute_exists(PK) AND #status IN (:from0, :from1)"));
    }

    #[test]
    fn with_ands_the_conditions_and_keeps_both_values() {
        let expr = Expr::update("SET a = :a")
            .only_if("x = :x")
            .value(":x", s("1"))
            .with(Expr::when("y = :y").value(":y", s("2")));
        assert_eq!(expr.condition.as_deref(), Some("(x = :x) AND (y = :y)"));
        assert_eq!(expr.update.as_deref(), Some("SET a = :a"));
        assert_eq!(expr.values.len(), 2);
    }

    #[test]
    fn a_new_item_carries_its_key() {
        let item = key("USER#a", "TOKENS").item([("balance", crate::item::n(5))]);
        assert_eq!(item.get(keys::PK), Some(&s("USER#a")));
        assert_eq!(item.get(keys::SK), Some(&s("TOKENS")));
        assert_eq!(item.len(), 3);
    }
}
