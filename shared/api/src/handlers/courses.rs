//! Course endpoints: upload (instructors), the public catalog, one course, access, purchase. They
//! parse, authenticate and map; the rules are the `courses` and `checkout` services'.

use super::payments::{charged_response, validate_payment_method};
use crate::auth::Principal;
use crate::catalogue::validation_errors;
use crate::checkout::{self, Order, Purchase};
use crate::courses::{self, Upload, Uploaded};
use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, limit, ok, path_param, query};
use crate::idempotency;
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::catalog::{CatalogQuery, CatalogSort, parse_rating, search_words, validate_category};
use azora_domain::course::{Course, CourseContent, CourseStatus, Lesson, Level};
use azora_domain::{Currency, Money, Role, UserId, ValidationError};
use lambda_http::Request;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PriceInput {
    #[serde(deserialize_with = "azora_domain::json_integer::exact")]
    amount: i64,
    currency: String,
}

/// What an instructor may send. Anything else (`instructorId`, `ratingAvg`, `status`...) is
/// refused with 400 by `deny_unknown_fields`, so it can never be applied.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UploadRequest {
    course_id: Option<String>,
    title: String,
    #[serde(default)]
    subtitle: String,
    #[serde(default)]
    description: String,
    category: String,
    level: String,
    language: String,
    #[serde(default)]
    tags: Vec<String>,
    price: PriceInput,
    #[serde(default)]
    lessons: Vec<Lesson>,
    #[serde(default)]
    publish: bool,
}

/// The course as the public sees it; lesson URLs only for those with access.
pub fn course_json(c: &Course, with_content_urls: bool) -> Value {
    let lessons: Vec<Value> = c
        .content
        .lessons
        .iter()
        .map(|l| {
            let mut v = json!({ "title": l.title, "durationSeconds": l.duration_seconds });
            if with_content_urls {
                v["contentUrl"] = json!(l.content_url);
            }
            v
        })
        .collect();
    json!({
        "courseId": c.id,
        "instructorId": c.instructor_id,
        "title": c.content.title,
        "subtitle": c.content.subtitle,
        "description": c.content.description,
        "category": c.content.category,
        "level": c.content.level.as_str(),
        "language": c.content.language,
        "tags": c.content.tags,
        "price": { "amount": c.content.price.amount, "currency": c.content.price.currency },
        "status": c.status.as_str(),
        "lessons": lessons,
        "lessonCount": c.content.lessons.len(),
        "totalDurationSeconds": c.content.lessons.iter().map(|l| u64::from(l.duration_seconds)).sum::<u64>(),
        "rating": { "average": c.rating_x100() as f64 / 100.0, "count": c.rating_count },
        "enrollmentCount": c.enrollment_count,
        "createdAt": c.created_at.to_string(),
        "updatedAt": c.updated_at.to_string(),
        "publishedAt": c.published_at.map(|t| t.to_string()),
    })
}

/// `POST /api/courses/upload`: create or update the caller's own course; `publish: true`
/// publishes it when it has a lesson and a description.
pub async fn upload(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Instructor])?;
    let body: UploadRequest = json_body(&req)?;
    let mut errors = Vec::new();
    let currency = Currency::parse(&body.price.currency)
        .map_err(|e| errors.push(ValidationError::new("price.currency", e.message)))
        .ok();
    let level = Level::parse(&body.level);
    if level.is_none() {
        errors.push(ValidationError::new("level", "must be beginner, intermediate, advanced or all_levels"));
    }
    let (Some(currency), Some(level)) = (currency, level) else { return Err(validation_errors(errors)) };
    let content = CourseContent {
        title: body.title.trim().to_string(),
        subtitle: body.subtitle,
        description: body.description,
        category: body.category,
        level,
        language: body.language,
        tags: body.tags,
        price: Money::new(body.price.amount, currency),
        lessons: body.lessons,
    };
    let upload = Upload { course_id: body.course_id, content, publish: body.publish };
    match courses::upload(&state, &principal.user_id, upload).await? {
        Uploaded::Created(course) => http::json(StatusCode::CREATED, &course_json(&course, true)),
        Uploaded::Updated(course) => ok(&course_json(&course, true)),
    }
}

fn parse_price(req: &Request, name: &str) -> Result<Option<i64>, ApiError> {
    query(req, name)
        .map(|raw| {
            raw.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
                ApiError::bad_request("validation_failed", format!("{name} must be a whole number of minor units"))
                    .with_details(json!({ "field": name }))
            })
        })
        .transpose()
}

/// `GET /api/courses/list`: published courses, filtered, sorted and paginated on indexes.
pub async fn list(req: Request, state: Arc<AppState>) -> HttpResult {
    let sort = match query(&req, "sort") {
        None => CatalogSort::Newest,
        Some(raw) => CatalogSort::parse(&raw).ok_or_else(|| {
            ApiError::bad_request("validation_failed", "sort must be newest, popular, rating, price_asc or price_desc")
                .with_details(json!({ "field": "sort" }))
        })?,
    };
    let level = query(&req, "level")
        .map(|raw| {
            Level::parse(&raw).ok_or_else(|| {
                ApiError::bad_request("validation_failed", "level is not a known level")
                    .with_details(json!({ "field": "level" }))
            })
        })
        .transpose()?;
    let words = query(&req, "q").map(|q| search_words(&q)).unwrap_or_default();
    let q = CatalogQuery {
        sort,
        category: query(&req, "category").map(|c| validate_category(&c)).transpose()?,
        level,
        language: query(&req, "language"),
        instructor_id: query(&req, "instructorId").map(UserId::parse).transpose()?,
        min_price: parse_price(&req, "minPrice")?,
        max_price: parse_price(&req, "maxPrice")?,
        min_rating_x100: query(&req, "minRating").map(|r| parse_rating(&r)).transpose()?,
        words,
    };
    let page = courses::catalog(&state, &q, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<Value> = page.items.iter().map(|c| course_json(c, false)).collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

/// Authenticates when a token is sent (public endpoints that show more to some callers).
fn optional_principal(req: &Request, state: &AppState) -> Result<Option<Principal>, ApiError> {
    if req.headers().contains_key(::http::header::AUTHORIZATION) { state.authenticate(req).map(Some) } else { Ok(None) }
}

/// `GET /api/courses/{courseId}`: public when published; drafts only to their owner and admins.
pub async fn get(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = optional_principal(&req, &state)?;
    let viewed = courses::view(&state, principal.as_ref(), &path_param(&req, "courseId")?).await?;
    ok(&course_json(&viewed.course, viewed.lessons_open))
}

/// `GET /api/courses/{courseId}/access`: does the caller own the course?
pub async fn access(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let a = courses::access(&state, &principal, &path_param(&req, "courseId")?).await?;
    ok(&json!({ "courseId": a.course_id, "owned": a.owned, "isInstructor": a.is_instructor, "access": a.lessons_open }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PurchaseRequest {
    course_id: String,
    payment_method_id: Option<String>,
}

/// `POST /api/courses/purchase`: the single-course form of `/api/payments/process`; a free course
/// enrolls at once without Stripe.
pub async fn purchase(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: PurchaseRequest = json_body(&req)?;
    if let Some(pm) = &body.payment_method_id {
        validate_payment_method(pm)?;
    }
    let key = idempotency::key(&req)?;
    let ip = http::source_ip(&req);
    idempotency::once(&state, &req, &principal, || async {
        let payment_id = idempotency::derived_id("pay", &principal, &key);
        let course_ids = [body.course_id.clone()];
        let order = Order {
            payment_id: &payment_id,
            course_ids: &course_ids,
            voucher_id: None,
            payment_method: body.payment_method_id.as_deref(),
            source_ip: &ip,
        };
        match checkout::purchase_course(&state, &principal, order).await? {
            Purchase::Enrolled => http::json(
                StatusCode::CREATED,
                &json!({ "courseId": body.course_id, "enrolled": true, "paymentId": null }),
            ),
            Purchase::Charged(charged) => charged_response(*charged),
        }
    })
    .await
}

/// `GET /api/courses/{courseId}/certificate`: a certificate of enrollment for the caller — a
/// feature of paid plans (`certificates`): Free users get 403 `feature_not_in_plan`.
pub async fn certificate(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let cert = courses::certificate(&state, &principal, &path_param(&req, "courseId")?).await?;
    ok(&json!({
        "certificateId": cert.id,
        "userId": principal.user_id,
        "courseId": cert.course.id,
        "courseTitle": cert.course.content.title,
        "instructorId": cert.course.instructor_id,
        "tier": cert.tier.as_str(),
    }))
}

/// `GET /api/users/me/courses?limit=&cursor=`: the caller's library, every course they own (bought
/// or free), by course id, with each course's title and instructor as the catalog has them now.
pub async fn my_courses(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let page =
        courses::library(&state, &principal.user_id, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<_> = page
        .items
        .iter()
        .map(|owned| {
            json!({
                "courseId": owned.enrollment.course_id,
                "title": owned.title,
                "instructorId": owned.instructor_id,
                "enrolledAt": owned.enrollment.enrolled_at.to_string(),
                "source": if owned.enrollment.payment_id.is_some() { "purchase" } else { "free" },
                "paymentId": owned.enrollment.payment_id,
            })
        })
        .collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    status: String,
}

/// `POST /api/courses/{courseId}/status {"status"}`: publish, unpublish (`draft`) or archive the
/// caller's course (admins: any); see `courses::set_status`.
pub async fn set_status(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Instructor, Role::Admin])?;
    let body: StatusRequest = json_body(&req)?;
    let to = CourseStatus::parse(&body.status).ok_or_else(|| {
        ApiError::bad_request("validation_failed", "status must be draft, published or archived")
            .with_details(json!({ "field": "status" }))
    })?;
    let course = courses::set_status(&state, &principal, &path_param(&req, "courseId")?, to).await?;
    ok(&course_json(&course, true))
}

/// `DELETE /api/courses/{courseId}`: deletes a draft that was never published (so never sold);
/// anything else is archived instead (409 `course_not_deletable`).
pub async fn delete_draft(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Instructor, Role::Admin])?;
    let course_id = courses::delete_draft(&state, &principal, &path_param(&req, "courseId")?).await?;
    ok(&json!({ "courseId": course_id, "deleted": true }))
}
