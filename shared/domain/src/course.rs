//! Courses as the rest of the system sees them when selling them. The marketplace owns the full
//! course (lessons, listing fields, ratings).

use crate::ids::UserId;
use crate::money::Money;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CourseStatus {
    Draft,
    Published,
    Archived,
}

impl CourseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CourseStatus::Draft => "draft",
            CourseStatus::Published => "published",
            CourseStatus::Archived => "archived",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Draft, Self::Published, Self::Archived].into_iter().find(|s| s.as_str() == raw)
    }
}

/// What a sale needs to know about a course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseOffer {
    pub id: String,
    pub instructor_id: UserId,
    pub title: String,
    pub price: Money,
    pub status: CourseStatus,
}
