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

use crate::cursor::{self, Page};
use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, ToItem, attrs, n, s, ts};
use crate::table::{Expr, Key, Outcome, Query, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::AttributeValue;
use azora_domain::UserId;
use azora_domain::catalog::{CatalogQuery, CatalogSort, title_words};
use azora_domain::course::{Course, CourseContent, CourseStats, CourseStatus};
use jiff::Timestamp;

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

fn course_key(course_id: &str) -> Key {
    key(keys::course(course_id), keys::COURSE)
}

impl ToItem for Course {
    fn to_item(&self) -> Result<Item, StoreError> {
        let mut item = course_key(&self.id).item(attrs! {
            keys::GSI1PK => s(keys::instructor_courses(self.instructor_id.as_str())),
            keys::GSI1SK => s(format!("{}#{}", keys::sortable(self.created_at), self.id)), "courseId" => s(&self.id),
            "instructorId" => s(self.instructor_id.as_str()), "createdAt" => ts(self.created_at), "ratingSum" => n(0),
            "ratingCount" => n(0), "enrollmentCount" => n(0), "SortPopular" => n(0), "SortRating" => n(0),
        });
        item.extend(content_attributes(self)?);
        Ok(item)
    }
}

impl Store {
    /// Creates a course; `ConditionFailed` if the id exists.
    pub async fn create_course(&self, c: &Course) -> Result<(), StoreError> {
        self.put_new(c.to_item()?).await
    }

    /// Replaces the editable content and status of the instructor's own course; counters and
    /// ratings are untouched. `ConditionFailed` when the course is not theirs (or is missing).
    pub async fn update_course_content(&self, c: &Course) -> Result<(), StoreError> {
        let mut sets = Vec::new();
        let mut expr =
            Expr::when("attribute_exists(PK) AND instructorId = :me").value(":me", s(c.instructor_id.as_str()));
        for (i, (name, value)) in content_attributes(c)?.into_iter().enumerate() {
            sets.push(format!("#a{i} = :v{i}"));
            expr = expr.name(format!("#a{i}"), name).value(format!(":v{i}"), value);
        }
        let mut update = format!("SET {}", sets.join(", "));
        if c.status != CourseStatus::Published {
            update.push_str(" REMOVE CatalogPK");
        }
        self.update(&course_key(&c.id), Expr::update(update).with(expr)).await
    }

    /// Deletes an instructor's draft that was never published and has no learners; `false` (nothing
    /// deleted) otherwise. Anything that was ever for sale is archived instead, never deleted, so
    /// orders, receipts and libraries keep pointing at it.
    pub async fn delete_draft_course(&self, c: &Course) -> Result<bool, StoreError> {
        let never_sold = Expr::when(
            "attribute_exists(PK) AND instructorId = :me AND #status = :draft AND attribute_not_exists(publishedAt) \
             AND enrollmentCount = :zero",
        )
        .status()
        .value(":me", s(c.instructor_id.as_str()))
        .value(":draft", s(CourseStatus::Draft.as_str()))
        .value(":zero", n(0));
        self.delete(&course_key(&c.id), Some(never_sold)).await.applied()
    }

    pub async fn get_course(&self, course_id: &str) -> Result<Option<Course>, StoreError> {
        self.get(&course_key(course_id), false).await
    }

    /// An instructor's courses (any status), newest first.
    pub async fn list_instructor_courses(
        &self,
        instructor: &UserId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Course>, StoreError> {
        self.page(Query::gsi1(keys::instructor_courses(instructor.as_str())).newest_first().limit(limit), cursor).await
    }

    /// One page of the public catalog.
    pub async fn list_catalog(
        &self,
        q: &CatalogQuery,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Course>, StoreError> {
        // No price lies in an empty range (DynamoDB refuses a BETWEEN whose bounds are reversed);
        // an absent bound is the widest one, so a lone minPrice above every price is empty too.
        let (min_price, max_price) = (q.min_price.unwrap_or(0), q.max_price.unwrap_or(i64::MAX));
        if min_price > max_price {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        }
        let (index, sort_attr, ascending) = index_of(q.sort);
        let mut query = Query::on(Some(index), keys::CATALOG_PK, keys::CATALOG);
        if !ascending {
            query = query.newest_first();
        }
        let mut filters: Vec<String> = Vec::new();
        let price_sort = matches!(q.sort, CatalogSort::PriceAsc | CatalogSort::PriceDesc);
        if price_sort && (q.min_price.is_some() || q.max_price.is_some()) {
            query = query.sort_key("SortPrice BETWEEN :minp AND :sk", n(max_price)).value(":minp", n(min_price));
        } else {
            if let Some(min) = q.min_price {
                filters.push("priceAmount >= :minp".into());
                query = query.value(":minp", n(min));
            }
            if let Some(max) = q.max_price {
                filters.push("priceAmount <= :maxp".into());
                query = query.value(":maxp", n(max));
            }
        }
        let equal = [
            ("category", q.category.clone()),
            ("level", q.level.map(|l| l.as_str().to_string())),
            ("language", q.language.clone()),
            ("instructorId", q.instructor_id.as_ref().map(|i| i.to_string())),
        ];
        for (attr, value) in equal {
            if let Some(v) = value {
                let i = filters.len();
                filters.push(format!("#f{i} = :f{i}"));
                query = query.name(&format!("#f{i}"), attr).value(&format!(":f{i}"), s(v));
            }
        }
        if let Some(min) = q.min_rating_x100 {
            // On the rating index the rating is the sort key: a key condition, not a filter.
            if q.sort == CatalogSort::Rating {
                query = query.sort_key("SortRating >= :sk", n(min));
            } else {
                filters.push("SortRating >= :minr".into());
                query = query.value(":minr", n(min));
            }
        }
        for (i, word) in q.words.iter().enumerate() {
            filters.push(format!("contains(titleWords, :w{i})"));
            query = query.value(&format!(":w{i}"), s(word));
        }
        let filtered = !filters.is_empty();
        if filtered {
            query = query.filter(filters.join(" AND "));
        }
        let mut start = cursor.map(|c| cursor::decode(c, keys::CATALOG_PK, keys::CATALOG)).transpose()?;
        let limit = limit.max(1) as usize;
        let mut found: Vec<Item> = Vec::new();
        let mut next_cursor = None;
        for _ in 0..MAX_READS_PER_PAGE {
            let want = (limit - found.len()) as i32;
            // With filters, read ahead: most items read may be dropped.
            let read = query.clone().limit(if filtered { want.max(25) } else { want });
            let (items, last_read) = self.query_page(&read, start.take()).await?;
            let overflow = found.len() + items.len() > limit;
            found.extend(items.into_iter().take(limit - found.len()));
            if found.len() == limit {
                // The cursor is the key of the last item returned (not of the last item read),
                // so the next page starts right after it: no duplicates, no gaps. Nothing left
                // to read and nothing dropped: no next page (not the cursor of an earlier read,
                // which would hand this read's items out again).
                next_cursor = if overflow || last_read.is_some() {
                    found.last().and_then(|last| {
                        let key: Item = [keys::PK, keys::SK, keys::CATALOG_PK, sort_attr]
                            .iter()
                            .filter_map(|k| last.get(*k).map(|v| (k.to_string(), v.clone())))
                            .collect();
                        cursor::encode(Some(&key))
                    })
                } else {
                    None
                };
                break;
            }
            // Everything up to here was read: if this is the last read, resume after it.
            next_cursor = cursor::encode(last_read.as_ref());
            match last_read {
                None => break,
                Some(lek) => start = Some(lek),
            }
        }
        let items = found.iter().map(Course::from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }
}

fn content_attributes(c: &Course) -> Result<Vec<(String, AttributeValue)>, StoreError> {
    let mut attrs = vec![
        ("title".to_string(), s(&c.content.title)),
        ("content".to_string(), crate::item::json(&c.content)?),
        ("category".to_string(), s(&c.content.category)),
        ("level".to_string(), s(c.content.level.as_str())),
        ("language".to_string(), s(&c.content.language)),
        ("priceAmount".to_string(), n(c.content.price.amount)),
        ("priceCurrency".to_string(), s(c.content.price.currency.code())),
        ("status".to_string(), s(c.status.as_str())),
        ("updatedAt".to_string(), ts(c.updated_at)),
        ("SortPrice".to_string(), n(c.content.price.amount)),
    ];
    let words = title_words(&c.content.title);
    if !words.is_empty() {
        attrs.push(("titleWords".to_string(), AttributeValue::Ss(words)));
    }
    if let Some(published) = c.published_at {
        attrs.push(("publishedAt".to_string(), ts(published)));
        attrs.push(("SortNewest".to_string(), n(published.as_millisecond())));
    }
    if c.status == CourseStatus::Published {
        attrs.push((keys::CATALOG_PK.to_string(), s(keys::CATALOG)));
    }
    Ok(attrs)
}

impl FromItem for Course {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let f = Fields::of(item, "course");
        let content: CourseContent = match f.opt_json("content")? {
            Some(content) => content,
            // A sale-only item (seeded for payments): build what we know.
            None => CourseContent {
                title: f.string("title")?,
                subtitle: String::new(),
                description: String::new(),
                category: String::new(),
                level: azora_domain::course::Level::AllLevels,
                language: String::new(),
                tags: Vec::new(),
                price: f.money("priceAmount", "priceCurrency")?,
                lessons: Vec::new(),
            },
        };
        Ok(Course {
            id: f.string("courseId")?,
            instructor_id: f.user("instructorId")?,
            content,
            status: f.named("status", CourseStatus::parse)?,
            rating_sum: f.count("ratingSum")?,
            rating_count: f.count("ratingCount")?,
            enrollment_count: f.count("enrollmentCount")?,
            stats: CourseStats {
                sales: f.count("salesCount")?,
                revenue_gross: f.count("revenueGross")?,
                revenue_instructor: f.count("revenueInstructor")?,
                refunds_gross: f.count("refundsGross")?,
            },
            created_at: f.opt_ts("createdAt")?.unwrap_or(Timestamp::UNIX_EPOCH),
            updated_at: f.opt_ts("updatedAt")?.unwrap_or(Timestamp::UNIX_EPOCH),
            published_at: f.opt_ts("publishedAt")?,
        })
    }
}
