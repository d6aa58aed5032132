//! Enrollments (who owns which course): `USER#<id>` / `ENROLLMENT#<courseId>`, written by a
//! fulfilment (naming the payment that granted it), by `sync_access` and by a free enrollment.

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, ToItem, n, s, ts};
use crate::table::{Expr, Key, Query, key};
use crate::{Store, keys};
use azora_domain::UserId;
use azora_domain::course::CourseStatus;
use jiff::Timestamp;
use std::collections::HashSet;

/// One user's access to one course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Enrollment {
    pub user_id: UserId,
    pub course_id: String,
    /// The payment that granted it (revoked only by that payment's refund).
    pub payment_id: Option<String>,
    pub enrolled_at: Timestamp,
}

pub(crate) fn enrollment_key(user: &UserId, course_id: &str) -> Key {
    key(keys::user(user.as_str()), keys::enrollment(course_id))
}

impl ToItem for Enrollment {
    fn to_item(&self) -> Result<Item, StoreError> {
        let mut item = enrollment_key(&self.user_id, &self.course_id).item([
            ("courseId", s(&self.course_id)),
            ("userId", s(self.user_id.as_str())),
            ("enrolledAt", ts(self.enrolled_at)),
        ]);
        item.insert(
            match &self.payment_id {
                Some(_) => "paymentId",
                None => "source",
            }
            .into(),
            s(self.payment_id.as_deref().unwrap_or("free")),
        );
        Ok(item)
    }
}

/// A course the user owns, as their library lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedCourse {
    pub course_id: String,
    pub enrolled_at: Timestamp,
    /// The payment that granted it; `None` for a free course or access granted otherwise.
    pub payment_id: Option<String>,
}

impl FromItem for OwnedCourse {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let f = Fields::of(item, "enrollment");
        Ok(OwnedCourse {
            course_id: f.string("courseId")?,
            enrolled_at: f.ts("enrolledAt")?,
            payment_id: f.opt("paymentId"),
        })
    }
}

/// The course an enrollment grants.
struct EnrolledCourse(String);

impl FromItem for EnrolledCourse {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Fields::of(item, "enrollment").string("courseId").map(EnrolledCourse)
    }
}

impl Store {
    /// Enrolls a user in a free course, once; a cancelled transaction when already enrolled (or
    /// the course is not free and published).
    pub async fn enroll_free(&self, user: &UserId, course_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let enrollment =
            Enrollment { user_id: user.clone(), course_id: course_id.to_string(), payment_id: None, enrolled_at: now };
        let counter = Expr::update("ADD enrollmentCount :one, SortPopular :one")
            .only_if("attribute_exists(PK) AND priceAmount = :zero AND #status = :published")
            .status()
            .value(":one", n(1))
            .value(":zero", n(0))
            .value(":published", s(CourseStatus::Published.as_str()));
        self.transact(vec![
            self.tx_new(enrollment.to_item()?)?,
            self.tx_update(&key(keys::course(course_id), keys::COURSE), counter)?,
        ])
        .await
    }

    /// Which of `course_ids` the user is enrolled in.
    pub async fn enrolled_in(&self, user: &UserId, course_ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let wanted = course_ids.iter().map(|id| enrollment_key(user, id)).collect();
        let found = self.batch_get(wanted, true).await?;
        found.iter().map(|item| EnrolledCourse::from_item(item).map(|EnrolledCourse(id)| id)).collect()
    }

    /// The courses a user owns, a page at a time, by course id.
    pub async fn list_enrollments(
        &self,
        user: &UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<OwnedCourse>, StoreError> {
        let q = Query::prefix(keys::user(user.as_str()), &keys::enrollment("")).consistent().limit(limit);
        self.page(q, cursor).await
    }

    pub async fn is_enrolled(&self, user: &UserId, course_id: &str) -> Result<bool, StoreError> {
        Ok(self.enrolled_in(user, &[course_id.to_string()]).await?.contains(course_id))
    }
}
