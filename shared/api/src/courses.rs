//! Courses: an instructor's uploads and their lifecycle (draft → published → archived), who may
//! see a course and open its lessons, the catalog, a learner's library and certificates. No HTTP
//! here: `catalogue.rs` maps [`CourseError`]; buying a course is checkout's.
//!
//! Who sees what: a published course is public; a draft or archived one only to its instructor,
//! admins and the learners who own it (anyone else gets the same answer as for a missing course).
//! The lessons open to the instructor, admins and owners.

use crate::auth::Principal;
use crate::entitlements::entitlements_of;
use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::catalog::CatalogQuery;
use azora_domain::course::{Course, CourseContent, CourseStatus, can_publish, validate_content};
use azora_domain::ids::new_id;
use azora_domain::tiers::FeatureNotInPlan;
use azora_domain::{Feature, Tier, UserId, ValidationError};
use azora_store::enrollments::OwnedCourse;
use azora_store::{Page, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    /// No such course, or one the caller may not see or manage (the same answer).
    #[error("no such course")]
    NotFound,
    /// What the caller sent breaks the course rules (each broken rule, by field).
    #[error("the course is not valid")]
    Invalid(Vec<ValidationError>),
    /// The stored course lacks what publishing needs.
    #[error("{}: {}", .0.field, .0.message)]
    Incomplete(ValidationError),
    #[error("an archived course cannot be edited")]
    Archived,
    #[error("an archived course stays archived")]
    StaysArchived,
    /// Only a draft that was never published (so never sold) can be deleted.
    #[error("this course cannot be deleted")]
    NotDeletable,
    #[error("certificates are for students enrolled in the course")]
    NotEnrolled,
    #[error("certificates are not in the caller's plan")]
    NotInPlan(FeatureNotInPlan),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<FeatureNotInPlan> for CourseError {
    fn from(e: FeatureNotInPlan) -> Self {
        CourseError::NotInPlan(e)
    }
}

impl From<StoreError> for CourseError {
    fn from(e: StoreError) -> Self {
        CourseError::Fault(e.into())
    }
}

/// An instructor's upload: a new course (`course_id: None`) or new content for their own.
pub struct Upload {
    pub course_id: Option<String>,
    pub content: CourseContent,
    /// Publish now (a published course stays published when its content changes).
    pub publish: bool,
}

pub enum Uploaded {
    Created(Course),
    Updated(Course),
}

/// Creates the instructor's course or replaces its content, checked against the course rules; a
/// published course (or one published now) must keep what publishing needs.
pub async fn upload(state: &AppState, instructor: &UserId, upload: Upload) -> Result<Uploaded, CourseError> {
    validate_content(&upload.content).map_err(CourseError::Invalid)?;
    let publishable = |content: &CourseContent| can_publish(content).map_err(|e| CourseError::Invalid(vec![e]));
    let now = state.clock.now();
    let Some(id) = upload.course_id else {
        if upload.publish {
            publishable(&upload.content)?;
        }
        let course = Course {
            id: new_id("crs"),
            instructor_id: instructor.clone(),
            content: upload.content,
            status: if upload.publish { CourseStatus::Published } else { CourseStatus::Draft },
            rating_sum: 0,
            rating_count: 0,
            enrollment_count: 0,
            stats: Default::default(),
            created_at: now,
            updated_at: now,
            published_at: upload.publish.then_some(now),
        };
        state.store.create_course(&course).await?;
        return Ok(Uploaded::Created(course));
    };
    // Another instructor's course is indistinguishable from a missing one.
    let existing =
        state.store.get_course(&id).await?.filter(|c| c.instructor_id == *instructor).ok_or(CourseError::NotFound)?;
    if existing.status == CourseStatus::Archived {
        return Err(CourseError::Archived);
    }
    let publish = upload.publish || existing.status == CourseStatus::Published;
    if publish {
        publishable(&upload.content)?;
    }
    let course = Course {
        content: upload.content,
        status: if publish { CourseStatus::Published } else { CourseStatus::Draft },
        updated_at: now,
        published_at: existing.published_at.or(publish.then_some(now)),
        ..existing
    };
    write_changed(state, &course).await?;
    Ok(Uploaded::Updated(course))
}

/// Writes a changed course; a course deleted meanwhile is gone.
async fn write_changed(state: &AppState, course: &Course) -> Result<(), CourseError> {
    match state.store.update_course_content(course).await {
        Err(StoreError::ConditionFailed) => Err(CourseError::NotFound),
        other => Ok(other?),
    }
}

/// One page of published courses, filtered and sorted on the catalog's indexes.
pub async fn catalog(
    state: &AppState,
    query: &CatalogQuery,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Course>, CourseError> {
    Ok(state.store.list_catalog(query, limit, cursor).await?)
}

/// A course as one caller may see it, with whether they may open its lessons.
pub struct Viewed {
    pub course: Course,
    pub lessons_open: bool,
}

/// The course for `viewer` (none: an anonymous visitor).
pub async fn view(state: &AppState, viewer: Option<&Principal>, course_id: &str) -> Result<Viewed, CourseError> {
    let course = state.store.get_course(course_id).await?.ok_or(CourseError::NotFound)?;
    let lessons_open = match viewer {
        None => false,
        Some(p) => {
            p.is_admin() || p.user_id == course.instructor_id || state.store.is_enrolled(&p.user_id, &course.id).await?
        }
    };
    if course.status != CourseStatus::Published && !lessons_open {
        return Err(CourseError::NotFound);
    }
    Ok(Viewed { course, lessons_open })
}

/// What the caller holds of a course.
pub struct Access {
    pub course_id: String,
    pub owned: bool,
    pub is_instructor: bool,
    pub lessons_open: bool,
}

pub async fn access(state: &AppState, caller: &Principal, course_id: &str) -> Result<Access, CourseError> {
    let course = state.store.get_course(course_id).await?.ok_or(CourseError::NotFound)?;
    let owned = state.store.is_enrolled(&caller.user_id, &course.id).await?;
    let is_instructor = course.instructor_id == caller.user_id;
    let lessons_open = owned || is_instructor || caller.is_admin();
    // Another instructor's draft answers like a missing course, as `view` does.
    if course.status != CourseStatus::Published && !lessons_open {
        return Err(CourseError::NotFound);
    }
    Ok(Access { course_id: course.id, owned, is_instructor, lessons_open })
}

pub struct Certificate {
    pub id: String,
    pub course: Course,
    /// The plan that granted it.
    pub tier: Tier,
}

/// A certificate of enrollment: a feature of paid plans, for learners who own the course.
pub async fn certificate(state: &AppState, learner: &Principal, course_id: &str) -> Result<Certificate, CourseError> {
    let entitlements = entitlements_of(state, &learner.user_id, state.clock.now()).await?;
    entitlements.require(Feature::Certificates)?;
    let course = state.store.get_course(course_id).await?.ok_or(CourseError::NotFound)?;
    if !state.store.is_enrolled(&learner.user_id, &course.id).await? {
        let visible =
            course.status == CourseStatus::Published || learner.is_admin() || course.instructor_id == learner.user_id;
        return Err(if visible { CourseError::NotEnrolled } else { CourseError::NotFound });
    }
    // Stable per learner and course: asking again gives the same certificate.
    let fingerprint = crate::idempotency::fingerprint(format!("{}:{}", learner.user_id, course.id).as_bytes());
    Ok(Certificate { id: format!("cert_{}", &fingerprint[..20]), course, tier: entitlements.tier })
}

/// A course in a learner's library, with its title and instructor as the catalog has them now
/// (none for a course deleted since).
pub struct Owned {
    pub enrollment: OwnedCourse,
    pub title: Option<String>,
    pub instructor_id: Option<UserId>,
}

/// One page of the courses `learner` owns (bought or free), by course id.
pub async fn library(
    state: &AppState,
    learner: &UserId,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Owned>, CourseError> {
    let page = state.store.list_enrollments(learner, limit, cursor).await?;
    let ids: Vec<String> = page.items.iter().map(|e| e.course_id.clone()).collect();
    let offers = state.store.get_course_offers(&ids).await?;
    let items = page
        .items
        .into_iter()
        .zip(offers)
        .map(|(enrollment, offer)| Owned {
            title: offer.as_ref().map(|o| o.title.clone()),
            instructor_id: offer.map(|o| o.instructor_id),
            enrollment,
        })
        .collect();
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// The caller's own course, or any course for an admin; anyone else's is `NotFound`.
async fn managed(state: &AppState, manager: &Principal, course_id: &str) -> Result<Course, CourseError> {
    state
        .store
        .get_course(course_id)
        .await?
        .filter(|c| c.instructor_id == manager.user_id || manager.is_admin())
        .ok_or(CourseError::NotFound)
}

/// Publishes, unpublishes (`Draft`) or archives a course. Unpublished and archived courses leave
/// the catalog and cannot be bought; their learners keep access. Archiving is final. Orders keep
/// the prices they were charged.
pub async fn set_status(
    state: &AppState,
    manager: &Principal,
    course_id: &str,
    to: CourseStatus,
) -> Result<Course, CourseError> {
    let course = managed(state, manager, course_id).await?;
    if course.status == to {
        return Ok(course);
    }
    if course.status == CourseStatus::Archived {
        return Err(CourseError::StaysArchived);
    }
    if to == CourseStatus::Published {
        can_publish(&course.content).map_err(CourseError::Incomplete)?;
    }
    let now = state.clock.now();
    let changed = Course {
        status: to,
        updated_at: now,
        published_at: course.published_at.or((to == CourseStatus::Published).then_some(now)),
        ..course
    };
    write_changed(state, &changed).await?;
    Ok(changed)
}

/// Deletes a draft that was never published (so never sold); anything else must be archived.
pub async fn delete_draft(state: &AppState, manager: &Principal, course_id: &str) -> Result<String, CourseError> {
    let course = managed(state, manager, course_id).await?;
    let never_sold =
        course.status == CourseStatus::Draft && course.published_at.is_none() && course.enrollment_count == 0;
    if !never_sold || !state.store.delete_draft_course(&course).await? {
        return Err(CourseError::NotDeletable);
    }
    Ok(course.id)
}
