//! Courses as the rest of the system sees them when selling them. The marketplace owns the full
//! course (lessons, listing fields, ratings).

use crate::error::ValidationError;
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

/// One lesson: its video or page lives at `content_url` (stored, never fetched by us).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lesson {
    pub title: String,
    #[serde(deserialize_with = "crate::json_integer::exact")]
    pub duration_seconds: u32,
    pub content_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Beginner,
    Intermediate,
    Advanced,
    AllLevels,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Beginner => "beginner",
            Level::Intermediate => "intermediate",
            Level::Advanced => "advanced",
            Level::AllLevels => "all_levels",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Beginner, Self::Intermediate, Self::Advanced, Self::AllLevels].into_iter().find(|l| l.as_str() == raw)
    }
}

/// The fixed category list (a new category is a code change, so listings stay index-friendly).
pub const CATEGORIES: &[&str] =
    &["development", "business", "design", "marketing", "data-science", "languages", "music", "personal-development"];

/// Everything an instructor edits. Ratings, enrollments and the owner are never taken from input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseContent {
    pub title: String,
    pub subtitle: String,
    pub description: String,
    pub category: String,
    pub level: Level,
    /// ISO 639-1, e.g. `en`.
    pub language: String,
    pub tags: Vec<String>,
    pub price: Money,
    pub lessons: Vec<Lesson>,
}

/// Sales figures kept on the course as sales and refunds happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CourseStats {
    pub sales: i64,
    pub revenue_gross: i64,
    pub revenue_instructor: i64,
    pub refunds_gross: i64,
}

/// A course as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    pub id: String,
    pub instructor_id: UserId,
    pub content: CourseContent,
    pub status: CourseStatus,
    pub rating_sum: i64,
    pub rating_count: i64,
    pub enrollment_count: i64,
    pub stats: CourseStats,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
    pub published_at: Option<jiff::Timestamp>,
}

impl Course {
    /// Average rating in hundredths (450 = 4.50), 0 without reviews.
    pub fn rating_x100(&self) -> i64 {
        if self.rating_count == 0 { 0 } else { (self.rating_sum * 100 + self.rating_count / 2) / self.rating_count }
    }

    pub fn offer(&self) -> CourseOffer {
        CourseOffer {
            id: self.id.clone(),
            instructor_id: self.instructor_id.clone(),
            title: self.content.title.clone(),
            price: self.content.price,
            status: self.status,
        }
    }
}

/// Price bounds for paid courses, in minor units of any supported currency: 100 to 100,000
/// (1.00 to 1,000.00 in two-decimal currencies, 100 to 100,000 yen). 0 means free.
pub const PRICE_BOUNDS: (i64, i64) = (100, 100_000);

pub const MAX_LESSONS: usize = 500;
pub const MAX_TAGS: usize = 10;

fn https_url(raw: &str) -> bool {
    raw.len() <= 2048
        && raw.strip_prefix("https://").is_some_and(|rest| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && host.contains('.') && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
        })
}

/// Whether `text` has no character but white space, as the OpenAPI document's `pattern: "\\S"`
/// means it (ECMAScript's `\s`: Unicode space separators, tab, vertical tab, form feed, the line
/// terminators and U+FEFF; not U+0085, which Rust's `char::is_whitespace` counts), so the document
/// and the server refuse exactly the same titles.
fn blank(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(
            c,
            '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
                ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
        )
    })
}

/// Checks every field and reports every problem, each naming its field.
pub fn validate_content(c: &CourseContent) -> Result<(), Vec<ValidationError>> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: &str| errors.push(ValidationError::new(field, message));
    let title_len = c.title.chars().count();
    if !(5..=120).contains(&title_len) || blank(&c.title) {
        bad("title", "must be 5 to 120 characters");
    }
    if c.subtitle.chars().count() > 200 {
        bad("subtitle", "must be at most 200 characters");
    }
    if c.description.chars().count() > 20_000 {
        bad("description", "must be at most 20,000 characters");
    }
    if !CATEGORIES.contains(&c.category.as_str()) {
        bad("category", &format!("must be one of {}", CATEGORIES.join(", ")));
    }
    if c.language.len() != 2 || !c.language.bytes().all(|b| b.is_ascii_lowercase()) {
        bad("language", "must be a two-letter ISO 639-1 code such as en");
    }
    if c.tags.len() > MAX_TAGS {
        bad("tags", &format!("at most {MAX_TAGS} tags"));
    }
    if c.tags.iter().any(|t| t.is_empty() || t.chars().count() > 30) {
        bad("tags", "each tag must be 1 to 30 characters");
    }
    let (min, max) = PRICE_BOUNDS;
    if c.price.amount != 0 && !(min..=max).contains(&c.price.amount) {
        bad("price.amount", &format!("must be 0 (free) or from {min} to {max} minor units"));
    }
    if c.lessons.len() > MAX_LESSONS {
        bad("lessons", &format!("at most {MAX_LESSONS} lessons"));
    }
    for (i, l) in c.lessons.iter().enumerate() {
        let n = l.title.chars().count();
        if !(1..=200).contains(&n) || blank(&l.title) {
            bad(&format!("lessons[{i}].title"), "must be 1 to 200 characters");
        }
        if !(1..=86_400).contains(&l.duration_seconds) {
            bad(&format!("lessons[{i}].durationSeconds"), "must be 1 to 86400");
        }
        if !https_url(&l.content_url) {
            bad(&format!("lessons[{i}].contentUrl"), "must be an https:// URL");
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// A course id a client sends (an order item, an award): 1 to 64 characters without `#`, our key
/// separator. Whether the course exists is the caller's next question (404).
pub fn check_course_ref(field: &str, id: &str) -> Result<(), ValidationError> {
    let length = id.chars().count();
    if length == 0 || length > 64 || id.contains('#') {
        return Err(ValidationError::new(field, "must be 1 to 64 characters without #"));
    }
    Ok(())
}

/// Publishing needs content to sell.
pub fn can_publish(c: &CourseContent) -> Result<(), ValidationError> {
    if c.lessons.is_empty() {
        return Err(ValidationError::new("lessons", "a course needs at least one lesson to be published"));
    }
    if c.description.trim().is_empty() {
        return Err(ValidationError::new("description", "a course needs a description to be published"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_title_is_white_space_as_ecmascript_counts_it() {
        for text in ["", "\t", " \u{A0}\u{3000}\u{FEFF}\u{2028}"] {
            assert!(blank(text), "{text:?}");
        }
        // U+0085 is not white space to the document's pattern, so not to us either.
        for text in ["\u{85}", " a ", "\u{200B}"] {
            assert!(!blank(text), "{text:?}");
        }
    }
    use crate::money::Currency;

    fn content() -> CourseContent {
        CourseContent {
            title: "Rust for the web".into(),
            subtitle: String::new(),
            description: "Learn it".into(),
            category: "development".into(),
            level: Level::Beginner,
            language: "en".into(),
            tags: vec!["rust".into()],
            price: Money::new(1999, Currency::Usd),
            lessons: vec![Lesson {
                title: "Intro".into(),
                duration_seconds: 60,
                content_url: "https://cdn.example.com/1.mp4".into(),
            }],
        }
    }

    #[test]
    fn accepts_valid_content() {
        assert_eq!(validate_content(&content()), Ok(()));
        assert_eq!(can_publish(&content()), Ok(()));
    }

    #[test]
    fn reports_every_bad_field() {
        let mut c = content();
        c.title = "abc".into();
        c.price = Money::new(50, Currency::Usd);
        c.lessons[0].content_url = "http://cdn.example.com/1.mp4".into();
        c.language = "english".into();
        let fields: Vec<String> = validate_content(&c).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "language", "price.amount", "lessons[0].contentUrl"]);
    }

    #[test]
    fn free_is_allowed_and_urls_must_be_https_with_a_host() {
        let mut c = content();
        c.price = Money::new(0, Currency::Usd);
        assert!(validate_content(&c).is_ok());
        for bad in ["https://", "https:///x", "ftp://a.b/c", "https://exa mple.com/x", "javascript:alert(1)"] {
            c.lessons[0].content_url = bad.into();
            assert!(validate_content(&c).is_err(), "{bad}");
        }
    }

    #[test]
    fn publishing_needs_a_lesson_and_a_description() {
        let mut c = content();
        c.lessons.clear();
        assert_eq!(can_publish(&c).unwrap_err().field, "lessons");
        let mut c = content();
        c.description = " ".into();
        assert_eq!(can_publish(&c).unwrap_err().field, "description");
    }

    #[test]
    fn rating_average_rounds_half_up_in_hundredths() {
        let c = |sum, count| Course {
            id: "c".into(),
            instructor_id: UserId::parse("i").unwrap(),
            content: content(),
            status: CourseStatus::Published,
            rating_sum: sum,
            rating_count: count,
            enrollment_count: 0,
            stats: CourseStats::default(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            published_at: None,
        };
        assert_eq!(c(0, 0).rating_x100(), 0);
        assert_eq!(c(14, 3).rating_x100(), 467);
        assert_eq!(c(9, 2).rating_x100(), 450);
    }
}
