//! Reviews: one per student per course. The course's rating sum and count change in the same
//! transaction as the review, guarded by their previous values, so they always equal the reviews'.

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, ToItem, attrs, from_item, n, s, ts};
use crate::table::{Expr, Key, Query, kept_changing, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
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

fn review_key(course_id: &str, user: &UserId) -> Key {
    key(keys::course(course_id), keys::review(user.as_str()))
}

fn course_key(course_id: &str) -> Key {
    key(keys::course(course_id), keys::COURSE)
}

impl ToItem for Review {
    fn to_item(&self) -> Result<Item, StoreError> {
        let mut item = review_key(&self.course_id, &self.user_id).item(attrs! {
            keys::GSI1PK => s(keys::course_reviews(&self.course_id)),
            keys::GSI1SK => s(format!("{}#{}", keys::sortable(self.updated_at), self.user_id)),
            "courseId" => s(&self.course_id), "userId" => s(self.user_id.as_str()), "rating" => n(self.rating),
            "createdAt" => ts(self.created_at), "updatedAt" => ts(self.updated_at),
        });
        if let Some(text) = &self.text {
            item.insert("text".into(), s(text));
        }
        Ok(item)
    }
}

from_item! { Review as "review", |f| {
    course_id: f.string("courseId")?, user_id: f.user("userId")?, rating: f.i64("rating")?, text: f.opt("text"),
    created_at: f.ts("createdAt")?, updated_at: f.ts("updatedAt")?,
} }

/// The review as read: its rating must not have changed when it is replaced or removed.
fn same_rating(old: &Review) -> Expr {
    Expr::when("rating = :old").value(":old", n(old.rating))
}

impl Store {
    pub async fn get_review(&self, course_id: &str, user: &UserId) -> Result<Option<Review>, StoreError> {
        self.get(&review_key(course_id, user), true).await
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
            let created_at = existing.as_ref().map(|e| e.created_at).unwrap_or(review.created_at);
            let item = Review { created_at, ..review.clone() }.to_item()?;
            let condition = match &existing {
                None => Expr::absent(),
                Some(old) => same_rating(old),
            };
            let writes = vec![
                self.tx_put(item, Some(condition))?,
                self.aggregate_update(&review.course_id, (sum, count), (new_sum, new_count))?,
            ];
            match self.transact(writes).await {
                Ok(()) => return Ok(if existing.is_some() { ReviewWrite::Edited } else { ReviewWrite::Created }),
                // Someone else reviewed or edited meanwhile: read again and retry.
                Err(e) if e.is_condition() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(kept_changing("the review"))
    }

    /// The course's rating sum and count, as the aggregate guard expects them.
    async fn course_rating(&self, course_id: &str) -> Result<(i64, i64), StoreError> {
        let course = self.get_item(&course_key(course_id), true).await?.ok_or(StoreError::ConditionFailed)?;
        let f = Fields::of(&course, "course");
        Ok((f.count("ratingSum")?, f.count("ratingCount")?))
    }

    /// Removes the user's review of a course (they lost access to it: a refund or a lost dispute)
    /// and takes it out of the course's rating in the same transaction. No review: nothing to do.
    pub async fn remove_review(&self, course_id: &str, user: &UserId) -> Result<(), StoreError> {
        for _ in 0..10 {
            let Some(existing) = self.get_review(course_id, user).await? else { return Ok(()) };
            let (sum, count) = self.course_rating(course_id).await?;
            let writes = vec![
                self.tx_delete(&review_key(course_id, user), Some(same_rating(&existing)))?,
                self.aggregate_update(course_id, (sum, count), (sum - existing.rating, (count - 1).max(0)))?,
            ];
            match self.transact(writes).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_condition() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(kept_changing("the review"))
    }

    /// A course's reviews, most recently written first.
    pub async fn list_reviews(
        &self,
        course_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Review>, StoreError> {
        self.page(Query::gsi1(keys::course_reviews(course_id)).newest_first().limit(limit), cursor).await
    }

    /// Every review of a course (tests and reconciliation).
    pub async fn all_reviews(&self, course_id: &str) -> Result<Vec<Review>, StoreError> {
        let q = Query::gsi1(keys::course_reviews(course_id)).newest_first();
        self.query_all(&q).await?.iter().map(Review::from_item).collect()
    }

    /// The course's rating sum and count moved from `old` to `new`, guarded by `old`.
    fn aggregate_update(
        &self,
        course_id: &str,
        (sum, count): (i64, i64),
        (new_sum, new_count): (i64, i64),
    ) -> Result<TransactWriteItem, StoreError> {
        let avg_x100 = if new_count == 0 { 0 } else { (new_sum * 100 + new_count / 2) / new_count };
        let expr = Expr::update("SET ratingSum = :sum, ratingCount = :count, SortRating = :avg")
            .only_if(
                "(ratingSum = :oldsum OR (attribute_not_exists(ratingSum) AND :oldsum = :zero)) \
                 AND (ratingCount = :oldcount OR (attribute_not_exists(ratingCount) AND :oldcount = :zero))",
            )
            .value(":sum", n(new_sum))
            .value(":count", n(new_count))
            .value(":avg", n(avg_x100))
            .value(":oldsum", n(sum))
            .value(":oldcount", n(count))
            .value(":zero", n(0));
        self.tx_update(&course_key(course_id), expr)
    }
}
