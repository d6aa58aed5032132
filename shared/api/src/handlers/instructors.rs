//! Instructor endpoints: their courses with sales, their earnings.

use crate::error::gateway_error;
use crate::handlers::courses::course_json;
use crate::http::{HttpResult, limit, ok, query};
use crate::state::AppState;
use azora_domain::Role;
use lambda_http::Request;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /api/instructors/me/courses`: the caller's courses, any status, with sales and revenue.
pub async fn courses(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Instructor])?;
    let page = state
        .store
        .list_instructor_courses(&principal.user_id, limit(&req, 20, 100)?, query(&req, "cursor").as_deref())
        .await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|c| {
            let mut v = course_json(c, true);
            v["sales"] = json!({
                "count": c.stats.sales,
                "revenueGross": c.stats.revenue_gross,
                "revenueInstructor": c.stats.revenue_instructor,
                "refundsGross": c.stats.refunds_gross,
                "currency": c.content.price.currency,
            });
            v
        })
        .collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

/// `GET /api/instructors/me/earnings?limit=&cursor=`: totals per currency, per course, and the
/// ledger newest first.
pub async fn earnings(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Instructor])?;
    let balances: Vec<Value> = state
        .store
        .balances(&principal.user_id)
        .await?
        .into_iter()
        .map(|b| {
            json!({
                "currency": b.currency, "pending": b.pending, "available": b.available,
                "paidOut": b.paid_out, "payingOut": b.paying_out, "reversed": b.reversed,
                "lifetime": b.lifetime
            })
        })
        .collect();
    let courses = state.store.list_instructor_courses(&principal.user_id, 100, None).await?;
    let per_course: Vec<Value> = courses
        .items
        .iter()
        .filter(|c| c.stats.sales > 0)
        .map(|c| {
            json!({
                "courseId": c.id, "title": c.content.title, "currency": c.content.price.currency,
                "sales": c.stats.sales, "revenueGross": c.stats.revenue_gross,
                "revenueInstructor": c.stats.revenue_instructor, "refundsGross": c.stats.refunds_gross
            })
        })
        .collect();
    let page =
        state.store.list_earnings(&principal.user_id, limit(&req, 50, 100)?, query(&req, "cursor").as_deref()).await?;
    let entries: Vec<Value> = page
        .items
        .iter()
        .map(|e| {
            json!({
                "kind": e.kind, "amount": e.amount.amount, "currency": e.amount.currency, "gross": e.gross,
                "paymentId": e.payment_id, "courseId": e.course_id, "reference": e.reference,
                "at": e.at.to_string(), "availableOn": e.available_on.map(|t| t.to_string()), "released": e.released
            })
        })
        .collect();
    ok(&json!({ "balances": balances, "perCourse": per_course, "entries": entries, "nextCursor": page.next_cursor }))
}

/// `POST /api/instructors/me/payout-account`: creates the instructor's Stripe Connect account
/// once and returns a fresh onboarding link; `account.updated` later enables payouts.
pub async fn payout_account(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Instructor])?;
    let account = match state.store.payout_account(&principal.user_id).await? {
        Some(account) => account,
        None => {
            let email = principal.email.as_ref().map(|e| e.as_str());
            let key = format!("connect-account-{}", principal.user_id);
            let id = state
                .stripe()?
                .create_connected_account(principal.user_id.as_str(), email, &key)
                .await
                .map_err(gateway_error)?;
            state.store.keep_payout_account(&principal.user_id, &id).await?
        }
    };
    let base = &state.config.app_base_url.get()?;
    let url = state
        .stripe()?
        .onboarding_link(
            &account.account_id,
            &format!("{base}/instructor/payouts?refresh=1"),
            &format!("{base}/instructor/payouts"),
        )
        .await
        .map_err(gateway_error)?;
    ok(&json!({ "accountId": account.account_id, "onboardingUrl": url, "payoutsEnabled": account.payouts_enabled }))
}
