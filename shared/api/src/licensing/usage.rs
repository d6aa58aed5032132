//! Hooks the payments, learning and rewards code call when a member does something the
//! organisation's usage report counts. Each is idempotent per event (a redelivered event is counted
//! once) and does nothing for users without a seat on a license that grants access at that time.
//!
//! Seat activations and releases are counted by the seat transactions themselves.

use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::UserId;
use azora_domain::payment::{OrderItem, Payment};
use azora_domain::usage::MemberActivity;
use jiff::Timestamp;

/// Counts `activity` of `user` for each organisation where they hold a granting seat. Returns how
/// many organisations counted it now (0 for non-members and for events counted before).
pub async fn record_member_activity(
    state: &AppState,
    user: &UserId,
    activity: &MemberActivity,
    at: Timestamp,
) -> Result<usize, Fault> {
    let licenses = state.store.granting_licenses_of(user, at).await?;
    let mut orgs: Vec<&str> = licenses.iter().map(|l| l.org_id.as_str()).collect();
    orgs.sort_unstable();
    orgs.dedup();
    let event_id = activity.event_id(user);
    let mut counted = 0;
    for org in orgs {
        if state.store.record_usage(org, &event_id, &activity.delta(), Some(user), at).await? {
            counted += 1;
        }
    }
    Ok(counted)
}

/// A member enrolled in (started) a course.
pub async fn record_enrollment_usage(
    state: &AppState,
    user: &UserId,
    course_id: &str,
    at: Timestamp,
) -> Result<usize, Fault> {
    record_member_activity(state, user, &MemberActivity::CourseStarted { course_id: course_id.to_string() }, at).await
}

/// A member completed a course (for the learning platform's completion reports).
pub async fn record_completion_usage(
    state: &AppState,
    user: &UserId,
    course_id: &str,
    at: Timestamp,
) -> Result<usize, Fault> {
    record_member_activity(state, user, &MemberActivity::CourseCompleted { course_id: course_id.to_string() }, at).await
}

/// A member earned tokens (for the rewards code; `award_id` identifies the award).
pub async fn record_tokens_usage(
    state: &AppState,
    user: &UserId,
    amount: i64,
    award_id: &str,
    at: Timestamp,
) -> Result<usize, Fault> {
    record_member_activity(state, user, &MemberActivity::TokensEarned { amount, award_id: award_id.to_string() }, at)
        .await
}

/// Counts the courses of a fulfilled payment as started, for a buyer who holds a seat.
pub async fn record_course_starts(state: &AppState, payment: &Payment, at: Timestamp) -> Result<(), Fault> {
    for item in &payment.items {
        let OrderItem::Course { course_id, .. } = item;
        record_enrollment_usage(state, &payment.user_id, course_id, at).await?;
    }
    Ok(())
}
