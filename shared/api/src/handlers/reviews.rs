//! Reviews: enrolled students only, one each (a second POST edits it), never the instructor.

use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, limit, ok, path_param, query};
use crate::state::AppState;
use ::http::StatusCode;
use azora_store::reviews::{Review, ReviewWrite};
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewRequest {
    #[serde(deserialize_with = "azora_domain::json_integer::exact")]
    rating: i64,
    text: Option<String>,
}

fn review_json(r: &Review) -> serde_json::Value {
    json!({
        "userId": r.user_id, "rating": r.rating, "text": r.text,
        "createdAt": r.created_at.to_string(), "updatedAt": r.updated_at.to_string()
    })
}

/// `POST /api/courses/{courseId}/reviews`
pub async fn create(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let course_id = path_param(&req, "courseId")?;
    let body: ReviewRequest = json_body(&req)?;
    if !(1..=5).contains(&body.rating) {
        return Err(ApiError::bad_request("validation_failed", "rating must be a whole number from 1 to 5")
            .with_details(json!({ "field": "rating" })));
    }
    if body.text.as_ref().is_some_and(|t| t.chars().count() > 5000) {
        return Err(ApiError::bad_request("validation_failed", "text must be at most 5,000 characters")
            .with_details(json!({ "field": "text" })));
    }
    let course = state.store.get_course(&course_id).await?.ok_or_else(|| ApiError::not_found("course"))?;
    if course.instructor_id == principal.user_id {
        return Err(ApiError::forbidden("own_course", "Instructors cannot review their own course."));
    }
    if !state.store.is_enrolled(&principal.user_id, &course.id).await? {
        // Another instructor's draft answers like a missing course.
        if course.status != azora_domain::course::CourseStatus::Published && !principal.is_admin() {
            return Err(ApiError::not_found("course"));
        }
        return Err(ApiError::forbidden("not_enrolled", "Only students enrolled in this course can review it."));
    }
    let now = state.clock.now();
    let review = Review {
        course_id: course.id.clone(),
        user_id: principal.user_id.clone(),
        rating: body.rating,
        text: body.text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        created_at: now,
        updated_at: now,
    };
    let written = state.store.upsert_review(&review).await?;
    let course = state.store.get_course(&course.id).await?.ok_or_else(|| ApiError::not_found("course"))?;
    let status = if written == ReviewWrite::Created { StatusCode::CREATED } else { StatusCode::OK };
    http::json(
        status,
        &json!({
            "review": review_json(&review),
            "edited": written == ReviewWrite::Edited,
            "courseRating": { "average": course.rating_x100() as f64 / 100.0, "count": course.rating_count },
        }),
    )
}

/// `GET /api/courses/{courseId}/reviews?limit=&cursor=` (public), newest first.
pub async fn list(req: Request, state: Arc<AppState>) -> HttpResult {
    let course_id = path_param(&req, "courseId")?;
    let course = state.store.get_course(&course_id).await?.ok_or_else(|| ApiError::not_found("course"))?;
    if course.status != azora_domain::course::CourseStatus::Published {
        return Err(ApiError::not_found("course"));
    }
    let page = state.store.list_reviews(&course.id, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<_> = page.items.iter().map(review_json).collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}
