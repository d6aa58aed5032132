//! Courses: the instructor's own list and the public catalog.
//!
//! Published courses carry `CatalogPK = CATALOG` and four numeric sort keys, one per index
//! (`CatalogNewest`, `CatalogPopular`, `CatalogRating`, `CatalogPrice`); drafts do not, so the
//! indexes are sparse and list published courses only. Which filters are index-served:
//! - every sort order; `minPrice`/`maxPrice` when sorting by price and `minRating` when sorting by
//!   rating (key conditions);
//! - everything else (`category`, `level`, `language`, `instructorId`, `q`, and price or rating
//!   bounds under other sorts) is a filter expression on the chosen index: DynamoDB reads the
//!   index in order and drops non-matching items, so a selective filter costs more reads per page.
//!   Pages are filled by reading on (bounded) and the cursor is the last returned item's key.

use crate::cursor::PartitionPage;
use crate::cursor::{self, Page};
use crate::error::{StoreError, from_sdk};
use crate::item::{Item, get_i64, get_s, n, opt_i64, opt_s, s};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::AttributeValue;
use azora_domain::catalog::{CatalogQuery, CatalogSort, title_words};
use azora_domain::course::{Course, CourseContent, CourseStats, CourseStatus};
use azora_domain::{Currency, Money, UserId};
use jiff::Timestamp;
use std::collections::HashMap;

/// Most index pages read to fill one page of results under selective filters.
const MAX_READS_PER_PAGE: usize = 10;

fn index_of(sort: CatalogSort) -> (&'static str, &'static str, bool) {
    match sort {
        CatalogSort::Newest => ("CatalogNewest", "SortNewest", false),
        CatalogSort::Popular => ("CatalogPopular", "SortPopular", false),
        CatalogSort::Rating => ("CatalogRating", "SortRating", false),
        CatalogSort::PriceAsc => ("CatalogPrice", "SortPrice", true),
        CatalogSort::PriceDesc => ("CatalogPrice", "SortPrice", false),
    }
}

fn content_json(c: &CourseContent) -> Result<String, StoreError> {
    serde_json::to_string(c).map_err(|e| StoreError::Malformed(e.to_string()))
}

impl Store {
    /// Creates a course; `ConditionFailed` if the id exists.
    pub async fn create_course(&self, c: &Course) -> Result<(), StoreError> {
        let mut item: HashMap<String, AttributeValue> = HashMap::from([
            (keys::PK.into(), s(keys::course(&c.id))),
            (keys::SK.into(), s(keys::COURSE)),
            (keys::GSI1PK.into(), s(keys::instructor_courses(c.instructor_id.as_str()))),
            (keys::GSI1SK.into(), s(format!("{}#{}", keys::sortable(c.created_at), c.id))),
            ("courseId".into(), s(&c.id)),
            ("instructorId".into(), s(c.instructor_id.as_str())),
            ("createdAt".into(), s(c.created_at.to_string())),
            ("ratingSum".into(), n(0)),
            ("ratingCount".into(), n(0)),
            ("enrollmentCount".into(), n(0)),
            ("SortPopular".into(), n(0)),
            ("SortRating".into(), n(0)),
        ]);
        item.extend(content_attributes(c)?);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }

    /// Replaces the editable content and status of the instructor's own course; counters and
    /// ratings are untouched. `ConditionFailed` when the course is not theirs (or is missing).
    pub async fn update_course_content(&self, c: &Course) -> Result<(), StoreError> {
        let attrs = content_attributes(c)?;
        let mut sets = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        for (i, (name, value)) in attrs.into_iter().enumerate() {
            sets.push(format!("#a{i} = :v{i}"));
            names.insert(format!("#a{i}"), name);
            values.insert(format!(":v{i}"), value);
        }
        let mut update = format!("SET {}", sets.join(", "));
        if c.status != CourseStatus::Published {
            update.push_str(" REMOVE CatalogPK");
        }
        values.insert(":me".into(), s(c.instructor_id.as_str()));
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::course(&c.id)))
            .key(keys::SK, s(keys::COURSE))
            .update_expression(update)
            .condition_expression("attribute_exists(PK) AND instructorId = :me")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| from_sdk("UpdateItem", e))?;
        Ok(())
    }

    pub async fn get_course(&self, course_id: &str) -> Result<Option<Course>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::course(course_id)))
            .key(keys::SK, s(keys::COURSE))
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(course_from_item).transpose()
    }

    /// An instructor's courses (any status), newest first.
    pub async fn list_instructor_courses(
        &self,
        instructor: &UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Course>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: true,
                partition: &keys::instructor_courses(instructor.as_str()),
                sort_prefix: None,
                newest_first: true,
                consistent: false,
                limit,
                cursor,
            },
            course_from_item,
        )
        .await
    }

    /// One page of the public catalog.
    pub async fn list_catalog(
        &self,
        q: &CatalogQuery,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Course>, StoreError> {
        let (index, sort_attr, ascending) = index_of(q.sort);
        let mut key_condition = format!("{} = :catalog", keys::CATALOG_PK);
        let mut values: HashMap<String, AttributeValue> = HashMap::from([(":catalog".into(), s(keys::CATALOG))]);
        let mut names: HashMap<String, String> = HashMap::new();
        let mut filters: Vec<String> = Vec::new();
        let price_sort = matches!(q.sort, CatalogSort::PriceAsc | CatalogSort::PriceDesc);
        if price_sort && (q.min_price.is_some() || q.max_price.is_some()) {
            key_condition.push_str(" AND SortPrice BETWEEN :minp AND :maxp");
            values.insert(":minp".into(), n(q.min_price.unwrap_or(0)));
            values.insert(":maxp".into(), n(q.max_price.unwrap_or(i64::MAX / 2)));
        } else {
            if let Some(min) = q.min_price {
                filters.push("priceAmount >= :minp".into());
                values.insert(":minp".into(), n(min));
            }
            if let Some(max) = q.max_price {
                filters.push("priceAmount <= :maxp".into());
                values.insert(":maxp".into(), n(max));
            }
        }
        let mut eq = |attr: &str, value: Option<String>| {
            if let Some(v) = value {
                let i = filters.len();
                names.insert(format!("#f{i}"), attr.to_string());
                values.insert(format!(":f{i}"), s(v));
                filters.push(format!("#f{i} = :f{i}"));
            }
        };
        eq("category", q.category.clone());
        eq("level", q.level.map(|l| l.as_str().to_string()));
        eq("language", q.language.clone());
        eq("instructorId", q.instructor_id.as_ref().map(|i| i.to_string()));
        if let Some(min) = q.min_rating_x100 {
            // On the rating index the rating is the sort key: a key condition, not a filter.
            if q.sort == CatalogSort::Rating {
                key_condition.push_str(" AND SortRating >= :minr");
            } else {
                filters.push("SortRating >= :minr".into());
            }
            values.insert(":minr".into(), n(min));
        }
        for (i, word) in q.words.iter().enumerate() {
            filters.push(format!("contains(titleWords, :w{i})"));
            values.insert(format!(":w{i}"), s(word));
        }
        let mut start = cursor.map(|c| cursor::decode(c, keys::CATALOG_PK, keys::CATALOG)).transpose()?;
        let limit = limit.max(1) as usize;
        let mut found: Vec<Item> = Vec::new();
        let mut next_cursor = None;
        for _ in 0..MAX_READS_PER_PAGE {
            let want = (limit - found.len()) as i32;
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(&key_condition)
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(ascending)
                // With filters, read ahead: most items read may be dropped.
                .limit(if filters.is_empty() { want } else { want.max(25) })
                .set_exclusive_start_key(start.take());
            if !filters.is_empty() {
                req = req.filter_expression(filters.join(" AND "));
            }
            if !names.is_empty() {
                req = req.set_expression_attribute_names(Some(names.clone()));
            }
            let out = req.send().await.map_err(|e| from_sdk("Query", e))?;
            let mut overflow = false;
            for item in out.items() {
                if found.len() < limit {
                    found.push(item.clone());
                } else {
                    overflow = true;
                }
            }
            if found.len() == limit {
                // The cursor is the key of the last item returned (not of the last item read),
                // so the next page starts right after it: no duplicates, no gaps.
                if overflow || out.last_evaluated_key().is_some() {
                    next_cursor = found.last().and_then(|last| {
                        let key: Item = [keys::PK, keys::SK, keys::CATALOG_PK, sort_attr]
                            .iter()
                            .filter_map(|k| last.get(*k).map(|v| (k.to_string(), v.clone())))
                            .collect();
                        cursor::encode(Some(&key))
                    });
                }
                break;
            }
            match out.last_evaluated_key() {
                None => {
                    next_cursor = None;
                    break;
                }
                Some(lek) => {
                    // Everything up to here was read: if this is the last read, resume after it.
                    next_cursor = cursor::encode(Some(lek));
                    start = Some(lek.clone());
                }
            }
        }
        let items = found.iter().map(course_from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }
}

fn content_attributes(c: &Course) -> Result<Vec<(String, AttributeValue)>, StoreError> {
    let mut attrs = vec![
        ("title".to_string(), s(&c.content.title)),
        ("content".to_string(), s(content_json(&c.content)?)),
        ("category".to_string(), s(&c.content.category)),
        ("level".to_string(), s(c.content.level.as_str())),
        ("language".to_string(), s(&c.content.language)),
        ("priceAmount".to_string(), n(c.content.price.amount)),
        ("priceCurrency".to_string(), s(c.content.price.currency.code())),
        ("status".to_string(), s(c.status.as_str())),
        ("updatedAt".to_string(), s(c.updated_at.to_string())),
        ("SortPrice".to_string(), n(c.content.price.amount)),
    ];
    let words = title_words(&c.content.title);
    if !words.is_empty() {
        attrs.push(("titleWords".to_string(), AttributeValue::Ss(words)));
    }
    if let Some(published) = c.published_at {
        attrs.push(("publishedAt".to_string(), s(published.to_string())));
        attrs.push(("SortNewest".to_string(), n(published.as_millisecond())));
    }
    if c.status == CourseStatus::Published {
        attrs.push((keys::CATALOG_PK.to_string(), s(keys::CATALOG)));
    }
    Ok(attrs)
}

fn parse_time(item: &Item, name: &str) -> Result<Option<Timestamp>, StoreError> {
    opt_s(item, name).map(|v| v.parse().map_err(|_| StoreError::Malformed(format!("course.{name}")))).transpose()
}

pub(crate) fn course_from_item(item: &Item) -> Result<Course, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("course.{what}"));
    let content: CourseContent = match opt_s(item, "content") {
        Some(json) => serde_json::from_str(json).map_err(|_| malformed("content"))?,
        // A sale-only item (seeded for payments): build what we know.
        None => CourseContent {
            title: get_s(item, "title")?.to_string(),
            subtitle: String::new(),
            description: String::new(),
            category: String::new(),
            level: azora_domain::course::Level::AllLevels,
            language: String::new(),
            tags: Vec::new(),
            price: Money::new(
                get_i64(item, "priceAmount")?,
                Currency::parse(get_s(item, "priceCurrency")?).map_err(|_| malformed("priceCurrency"))?,
            ),
            lessons: Vec::new(),
        },
    };
    Ok(Course {
        id: get_s(item, "courseId")?.to_string(),
        instructor_id: UserId::parse(get_s(item, "instructorId")?).map_err(|_| malformed("instructorId"))?,
        content,
        status: CourseStatus::parse(get_s(item, "status")?).ok_or_else(|| malformed("status"))?,
        rating_sum: opt_i64(item, "ratingSum")?.unwrap_or(0),
        rating_count: opt_i64(item, "ratingCount")?.unwrap_or(0),
        enrollment_count: opt_i64(item, "enrollmentCount")?.unwrap_or(0),
        stats: CourseStats {
            sales: opt_i64(item, "salesCount")?.unwrap_or(0),
            revenue_gross: opt_i64(item, "revenueGross")?.unwrap_or(0),
            revenue_instructor: opt_i64(item, "revenueInstructor")?.unwrap_or(0),
            refunds_gross: opt_i64(item, "refundsGross")?.unwrap_or(0),
        },
        created_at: parse_time(item, "createdAt")?.unwrap_or(Timestamp::UNIX_EPOCH),
        updated_at: parse_time(item, "updatedAt")?.unwrap_or(Timestamp::UNIX_EPOCH),
        published_at: parse_time(item, "publishedAt")?,
    })
}

impl Store {
    /// Enrolls a user in a free course, once; `ConditionFailed` when already enrolled.
    pub async fn enroll_free(&self, user: &UserId, course_id: &str, now: Timestamp) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
        let enrollment = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(keys::user(user.as_str())))
            .item(keys::SK, s(keys::enrollment(course_id)))
            .item("courseId", s(course_id))
            .item("userId", s(user.as_str()))
            .item("enrolledAt", s(now.to_string()))
            .item("source", s("free"))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::Malformed(e.to_string()))?;
        let counter = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::course(course_id)))
            .key(keys::SK, s(keys::COURSE))
            .update_expression("ADD enrollmentCount :one, SortPopular :one")
            .condition_expression("attribute_exists(PK) AND priceAmount = :zero AND #status = :published")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":published", s(CourseStatus::Published.as_str()))
            .build()
            .map_err(|e| StoreError::Malformed(e.to_string()))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(enrollment).build())
            .transact_items(TransactWriteItem::builder().update(counter).build())
            .send()
            .await
            .map_err(crate::error::from_transact)?;
        Ok(())
    }
}
