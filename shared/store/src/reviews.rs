//! Reviews: one per student per course. The course's rating sum and count change in the same
//! transaction as the review, guarded by their previous values, so they always equal the reviews'.

use crate::cursor::Page;
use crate::cursor::PartitionPage;
use crate::error::{StoreError, from_sdk, from_transact};
use crate::item::{Item, get_i64, get_s, n, opt_i64, opt_s, s};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use azora_domain::UserId;
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub course_id: String,
    pub user_id: UserId,
    pub rating: i64,
    pub text: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewWrite {
    Created,
    Edited,
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Malformed(e.to_string()))
}

impl Store {
    pub async fn get_review(&self, course_id: &str, user: &UserId) -> Result<Option<Review>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::course(course_id)))
            .key(keys::SK, s(keys::review(user.as_str())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(review_from_item).transpose()
    }

    /// Creates or edits the user's review and moves the course aggregate with it.
    pub async fn upsert_review(&self, review: &Review) -> Result<ReviewWrite, StoreError> {
        for _ in 0..10 {
            let (sum, count) = self.course_rating(&review.course_id).await?;
            let existing = self.get_review(&review.course_id, &review.user_id).await?;
            let (new_sum, new_count) = match &existing {
                Some(old) => (sum - old.rating + review.rating, count),
                None => (sum + review.rating, count + 1),
            };
            let mut put = Put::builder()
                .table_name(&self.table)
                .item(keys::PK, s(keys::course(&review.course_id)))
                .item(keys::SK, s(keys::review(review.user_id.as_str())))
                .item(keys::GSI1PK, s(keys::course_reviews(&review.course_id)))
                .item(keys::GSI1SK, s(format!("{}#{}", keys::sortable(review.updated_at), review.user_id)))
                .item("courseId", s(&review.course_id))
                .item("userId", s(review.user_id.as_str()))
                .item("rating", n(review.rating))
                .item("createdAt", s(existing.as_ref().map(|e| e.created_at).unwrap_or(review.created_at).to_string()))
                .item("updatedAt", s(review.updated_at.to_string()));
            if let Some(text) = &review.text {
                put = put.item("text", s(text));
            }
            put = match &existing {
                None => put.condition_expression("attribute_not_exists(SK)"),
                Some(old) => {
                    put.condition_expression("rating = :old").expression_attribute_values(":old", n(old.rating))
                }
            };
            let aggregate = aggregate_update(&self.table, &review.course_id, (sum, count), (new_sum, new_count))?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(build(put.build())?).build())
                .transact_items(aggregate)
                .send()
                .await
                .map_err(from_transact);
            match result {
                Ok(_) => return Ok(if existing.is_some() { ReviewWrite::Edited } else { ReviewWrite::Created }),
                // Someone else reviewed or edited meanwhile: read again and retry.
                Err(e) if e.is_condition() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend { operation: "TransactWriteItems", message: "review kept conflicting".into() })
    }

    /// The course's rating sum and count, as the aggregate guard expects them.
    async fn course_rating(&self, course_id: &str) -> Result<(i64, i64), StoreError> {
        let course = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::course(course_id)))
            .key(keys::SK, s(keys::COURSE))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?
            .item
            .ok_or(StoreError::ConditionFailed)?;
        Ok((opt_i64(&course, "ratingSum")?.unwrap_or(0), opt_i64(&course, "ratingCount")?.unwrap_or(0)))
    }

    /// Removes the user's review of a course (they lost access to it: a refund or a lost dispute)
    /// and takes it out of the course's rating in the same transaction. No review: nothing to do.
    pub async fn remove_review(&self, course_id: &str, user: &UserId) -> Result<(), StoreError> {
        for _ in 0..10 {
            let Some(existing) = self.get_review(course_id, user).await? else { return Ok(()) };
            let (sum, count) = self.course_rating(course_id).await?;
            let delete = Delete::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::course(course_id)))
                .key(keys::SK, s(keys::review(user.as_str())))
                .condition_expression("rating = :old")
                .expression_attribute_values(":old", n(existing.rating));
            let aggregate =
                aggregate_update(&self.table, course_id, (sum, count), (sum - existing.rating, (count - 1).max(0)))?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().delete(build(delete.build())?).build())
                .transact_items(aggregate)
                .send()
                .await
                .map_err(from_transact);
            match result {
                Ok(_) => return Ok(()),
                Err(e) if e.is_condition() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend { operation: "TransactWriteItems", message: "review kept conflicting".into() })
    }

    /// A course's reviews, most recently written first.
    pub async fn list_reviews(
        &self,
        course_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Review>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: true,
                partition: &keys::course_reviews(course_id),
                sort_prefix: None,
                newest_first: true,
                consistent: false,
                limit,
                cursor,
            },
            review_from_item,
        )
        .await
    }

    /// Every review of a course (tests and reconciliation).
    pub async fn all_reviews(&self, course_id: &str) -> Result<Vec<Review>, StoreError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.list_reviews(course_id, 100, cursor.as_deref()).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }
}

/// The course's rating sum and count moved from `old` to `new`, guarded by `old`.
fn aggregate_update(
    table: &str,
    course_id: &str,
    (sum, count): (i64, i64),
    (new_sum, new_count): (i64, i64),
) -> Result<TransactWriteItem, StoreError> {
    let avg_x100 = if new_count == 0 { 0 } else { (new_sum * 100 + new_count / 2) / new_count };
    let update = Update::builder()
        .table_name(table)
        .key(keys::PK, s(keys::course(course_id)))
        .key(keys::SK, s(keys::COURSE))
        .update_expression("SET ratingSum = :sum, ratingCount = :count, SortRating = :avg")
        .condition_expression(
            "(ratingSum = :oldsum OR (attribute_not_exists(ratingSum) AND :oldsum = :zero)) \
             AND (ratingCount = :oldcount OR (attribute_not_exists(ratingCount) AND :oldcount = :zero))",
        )
        .expression_attribute_values(":sum", n(new_sum))
        .expression_attribute_values(":count", n(new_count))
        .expression_attribute_values(":avg", n(avg_x100))
        .expression_attribute_values(":oldsum", n(sum))
        .expression_attribute_values(":oldcount", n(count))
        .expression_attribute_values(":zero", n(0));
    Ok(TransactWriteItem::builder().update(build(update.build())?).build())
}

fn review_from_item(item: &Item) -> Result<Review, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("review.{what}"));
    Ok(Review {
        course_id: get_s(item, "courseId")?.to_string(),
        user_id: UserId::parse(get_s(item, "userId")?).map_err(|_| malformed("userId"))?,
        rating: get_i64(item, "rating")?,
        text: opt_s(item, "text").map(str::to_string),
        created_at: get_s(item, "createdAt")?.parse().map_err(|_| malformed("createdAt"))?,
        updated_at: get_s(item, "updatedAt")?.parse().map_err(|_| malformed("updatedAt"))?,
    })
}
