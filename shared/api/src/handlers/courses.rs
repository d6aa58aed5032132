//! Course endpoints: upload (instructors), the public catalog, one course, access, purchase.

use super::payments::{charged_response, validate_payment_method};
use crate::auth::Principal;
use crate::checkout::{charge, create_payment, enroll_free, ensure_may_pay, ensure_same_order};
use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, limit, ok, path_param, query};
use crate::idempotency;
use crate::limits::Caller;
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::catalog::{CatalogQuery, CatalogSort, parse_rating, search_words, validate_category};
use azora_domain::course::{Course, CourseContent, CourseStatus, Lesson, Level, can_publish, validate_content};
use azora_domain::ids::new_id;
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

fn validation_errors(errors: Vec<ValidationError>) -> ApiError {
    let list: Vec<Value> = errors.iter().map(|e| json!({ "field": e.field, "message": e.message })).collect();
    let first = errors.first().map(|e| format!("{}: {}", e.field, e.message)).unwrap_or_default();
    ApiError::bad_request("validation_failed", first)
        .with_details(json!({ "field": errors.first().map(|e| e.field.clone()), "errors": list }))
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
    validate_content(&content).map_err(validation_errors)?;
    if body.publish {
        can_publish(&content).map_err(|e| validation_errors(vec![e]))?;
    }
    let now = state.clock.now();
    match body.course_id {
        None => {
            let course = Course {
                id: new_id("crs"),
                instructor_id: principal.user_id.clone(),
                content,
                status: if body.publish { CourseStatus::Published } else { CourseStatus::Draft },
                rating_sum: 0,
                rating_count: 0,
                enrollment_count: 0,
                stats: Default::default(),
                created_at: now,
                updated_at: now,
                published_at: body.publish.then_some(now),
            };
            state.store.create_course(&course).await?;
            http::json(StatusCode::CREATED, &course_json(&course, true))
        }
        Some(id) => {
            // Another instructor's course is indistinguishable from a missing one.
            let existing = state
                .store
                .get_course(&id)
                .await?
                .filter(|c| c.instructor_id == principal.user_id)
                .ok_or_else(|| ApiError::not_found("course"))?;
            if existing.status == CourseStatus::Archived {
                return Err(ApiError::unprocessable("course_archived", "An archived course cannot be edited."));
            }
            let publish = body.publish || existing.status == CourseStatus::Published;
            if publish {
                can_publish(&content).map_err(|e| validation_errors(vec![e]))?;
            }
            let course = Course {
                content,
                status: if publish { CourseStatus::Published } else { CourseStatus::Draft },
                updated_at: now,
                published_at: existing.published_at.or(publish.then_some(now)),
                ..existing
            };
            state.store.update_course_content(&course).await.map_err(|e| match e {
                azora_store::StoreError::ConditionFailed => ApiError::not_found("course"),
                other => other.into(),
            })?;
            ok(&course_json(&course, true))
        }
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
    let page = state.store.list_catalog(&q, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<Value> = page.items.iter().map(|c| course_json(c, false)).collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

/// Authenticates when a token is sent (public endpoints that show more to some callers).
fn optional_principal(req: &Request, state: &AppState) -> Result<Option<Principal>, ApiError> {
    if req.headers().contains_key(::http::header::AUTHORIZATION) { state.authenticate(req).map(Some) } else { Ok(None) }
}

/// Whether the caller may open the lessons: enrolled, the course's instructor, or an admin.
async fn has_access(state: &AppState, principal: Option<&Principal>, course: &Course) -> Result<bool, ApiError> {
    let Some(p) = principal else { return Ok(false) };
    if p.is_admin() || p.user_id == course.instructor_id {
        return Ok(true);
    }
    Ok(state.store.is_enrolled(&p.user_id, &course.id).await?)
}

/// `GET /api/courses/{courseId}`: public when published; drafts only to their owner and admins.
pub async fn get(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = optional_principal(&req, &state)?;
    let course =
        state.store.get_course(&path_param(&req, "courseId")?).await?.ok_or_else(|| ApiError::not_found("course"))?;
    let access = has_access(&state, principal.as_ref(), &course).await?;
    // A draft or archived course is for its instructor, admins and the learners who own it.
    if course.status != CourseStatus::Published && !access {
        return Err(ApiError::not_found("course"));
    }
    ok(&course_json(&course, access))
}

/// `GET /api/courses/{courseId}/access`: does the caller own the course?
pub async fn access(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let course_id = path_param(&req, "courseId")?;
    let course = state.store.get_course(&course_id).await?.ok_or_else(|| ApiError::not_found("course"))?;
    let owned = state.store.is_enrolled(&principal.user_id, &course.id).await?;
    let instructor = course.instructor_id == principal.user_id;
    // Another instructor's draft answers like a missing course, as `GET /api/courses/{id}` does.
    if course.status != CourseStatus::Published && !(owned || instructor || principal.is_admin()) {
        return Err(ApiError::not_found("course"));
    }
    ok(
        &json!({ "courseId": course.id, "owned": owned, "isInstructor": instructor, "access": owned || instructor || principal.is_admin() }),
    )
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
    let key = idempotency::key(&req)?;
    idempotency::once(&state, &req, &principal, || async {
        let course = state
            .store
            .get_course(&body.course_id)
            .await?
            .filter(|c| c.status == CourseStatus::Published)
            .ok_or_else(|| ApiError::not_found("course"))?;
        if course.content.price.is_zero() {
            enroll_free(&state, &principal.user_id, &course).await?;
            return http::json(
                StatusCode::CREATED,
                &json!({ "courseId": course.id, "enrolled": true, "paymentId": null }),
            );
        }
        let ip = http::source_ip(&req);
        ensure_may_pay(&state, Caller { user: &principal.user_id, ip: &ip }).await?;
        let payment_id = idempotency::derived_id("pay", &principal, &key);
        let payment = match state.store.get_payment(&payment_id).await? {
            Some(existing) => {
                ensure_same_order(&existing, std::slice::from_ref(&course.id))?;
                existing
            }
            None => create_payment(&state, &principal, &payment_id, std::slice::from_ref(&course.id)).await?,
        };
        if let Some(pm) = &body.payment_method_id {
            validate_payment_method(pm)?;
        }
        charged_response(charge(&state, &principal, payment, body.payment_method_id.as_deref(), &ip).await?)
    })
    .await
}

/// `GET /api/courses/{courseId}/certificate`: a certificate of enrollment for the caller — a
/// feature of paid plans (`certificates`): Free users get 403 `feature_not_in_plan`.
pub async fn certificate(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let entitlements = crate::entitlements::entitlements_of(&state, &principal.user_id, state.clock.now()).await?;
    entitlements.require(azora_domain::Feature::Certificates)?;
    let tier = entitlements.tier;
    let course =
        state.store.get_course(&path_param(&req, "courseId")?).await?.ok_or_else(|| ApiError::not_found("course"))?;
    if !state.store.is_enrolled(&principal.user_id, &course.id).await? {
        let visible = course.status == CourseStatus::Published
            || principal.is_admin()
            || course.instructor_id == principal.user_id;
        if !visible {
            return Err(ApiError::not_found("course"));
        }
        return Err(ApiError::forbidden("not_enrolled", "Certificates are for students enrolled in the course."));
    }
    let id = crate::idempotency::fingerprint(format!("{}:{}", principal.user_id, course.id).as_bytes());
    ok(&json!({
        "certificateId": format!("cert_{}", &id[..20]),
        "userId": principal.user_id,
        "courseId": course.id,
        "courseTitle": course.content.title,
        "instructorId": course.instructor_id,
        "tier": tier.as_str(),
    }))
}

/// `GET /api/users/me/courses?limit=&cursor=`: the caller's library, every course they own (bought
/// or free), by course id, with each course's title and instructor as the catalog has them now.
pub async fn my_courses(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let page = state
        .store
        .list_enrollments(&principal.user_id, limit(&req, 20, 100)?, query(&req, "cursor").as_deref())
        .await?;
    let ids: Vec<String> = page.items.iter().map(|e| e.course_id.clone()).collect();
    let offers = state.store.get_course_offers(&ids).await?;
    let items: Vec<_> = page
        .items
        .iter()
        .zip(offers)
        .map(|(owned, offer)| {
            json!({
                "courseId": owned.course_id,
                "title": offer.as_ref().map(|o| o.title.clone()),
                "instructorId": offer.as_ref().map(|o| o.instructor_id.clone()),
                "enrolledAt": owned.enrolled_at.to_string(),
                "source": if owned.payment_id.is_some() { "purchase" } else { "free" },
                "paymentId": owned.payment_id,
            })
        })
        .collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

/// The caller's own course, or any course for an admin; anyone else's is a 404, as if missing.
async fn managed_course(state: &AppState, principal: &Principal, course_id: &str) -> Result<Course, ApiError> {
    state
        .store
        .get_course(course_id)
        .await?
        .filter(|c| c.instructor_id == principal.user_id || principal.is_admin())
        .ok_or_else(|| ApiError::not_found("course"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    status: String,
}

/// `POST /api/courses/{courseId}/status {"status"}`: publish, unpublish (`draft`) or archive the
/// caller's course (admins: any). Unpublished and archived courses leave the catalog and cannot be
/// bought; their learners keep access. Archiving is final. Orders keep the prices they were
/// charged, whatever the course costs later.
pub async fn set_status(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Instructor, Role::Admin])?;
    let body: StatusRequest = json_body(&req)?;
    let to = CourseStatus::parse(&body.status).ok_or_else(|| {
        ApiError::bad_request("validation_failed", "status must be draft, published or archived")
            .with_details(json!({ "field": "status" }))
    })?;
    let course = managed_course(&state, &principal, &path_param(&req, "courseId")?).await?;
    if course.status == to {
        return ok(&course_json(&course, true));
    }
    if course.status == CourseStatus::Archived {
        return Err(ApiError::unprocessable("course_archived", "An archived course stays archived."));
    }
    if to == CourseStatus::Published {
        // The stored course, not this request, lacks what publishing needs: a business rule (422).
        can_publish(&course.content).map_err(|e| {
            ApiError::unprocessable("course_incomplete", format!("{}: {}", e.field, e.message))
                .with_details(json!({ "field": e.field }))
        })?;
    }
    let now = state.clock.now();
    let changed = Course {
        status: to,
        updated_at: now,
        published_at: course.published_at.or((to == CourseStatus::Published).then_some(now)),
        ..course
    };
    state.store.update_course_content(&changed).await.map_err(|e| match e {
        azora_store::StoreError::ConditionFailed => ApiError::not_found("course"),
        other => other.into(),
    })?;
    ok(&course_json(&changed, true))
}

/// `DELETE /api/courses/{courseId}`: deletes a draft that was never published (so never sold);
/// anything else is archived instead (409 `course_not_deletable`).
pub async fn delete_draft(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Instructor, Role::Admin])?;
    let course = managed_course(&state, &principal, &path_param(&req, "courseId")?).await?;
    let never_sold =
        course.status == CourseStatus::Draft && course.published_at.is_none() && course.enrollment_count == 0;
    if !never_sold || !state.store.delete_draft_course(&course).await? {
        return Err(ApiError::conflict(
            "course_not_deletable",
            "Only a draft that was never published can be deleted; archive this course instead.",
        ));
    }
    ok(&json!({ "courseId": course.id, "deleted": true }))
}
