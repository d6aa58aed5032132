//! Operator endpoints (role `admin`).

use crate::audit;
use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, limit, ok, query};
use crate::idempotency;
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::Role;
use azora_domain::audit::{month_of, parse_month};
use azora_domain::ids::new_id;
use azora_domain::notification::{EmailAddress, Notification, NotificationKind};
use lambda_http::Request;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailTestRequest {
    to: String,
}

/// `POST /api/admin/email-test`: sends a test email through the notification pipeline.
/// Idempotent by `Idempotency-Key`, audited.
pub async fn email_test(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Admin])?;
    let body: EmailTestRequest = json_body(&req)?;
    let to = EmailAddress::parse(body.to)?;
    idempotency::once(&state, &req, &principal, || async {
        let notification = Notification {
            id: new_id("ntf"),
            to: to.clone(),
            kind: NotificationKind::TestEmail { requested_by: principal.user_id.to_string() },
        };
        state.notifier()?.send(&notification).await?;
        audit::record(
            &state,
            &principal,
            &http::request_id(&req),
            "email.test",
            &format!("email:{to}"),
            json!({ "notificationId": notification.id }),
        )
        .await?;
        http::json(StatusCode::ACCEPTED, &json!({ "notificationId": notification.id, "to": to }))
    })
    .await
}

/// `GET /api/admin/audit?month=YYYY-MM&limit=&cursor=`: the audit log, newest first.
/// `GET /api/admin/reconciliation?limit=&cursor=`: what the reconcile job found and could not
/// fix, open until a later run no longer finds it (admin).
pub async fn reconciliation_list(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Admin])?;
    let page = state.store.open_discrepancies(limit(&req, 50, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<_> = page
        .items
        .iter()
        .map(|d| {
            json!({
                "kind": d.kind,
                "objectId": d.object_id,
                "detail": serde_json::from_str::<serde_json::Value>(&d.detail).unwrap_or(serde_json::Value::Null),
                "firstSeenAt": d.first_seen_at.to_string(),
                "lastSeenAt": d.last_seen_at.to_string(),
            })
        })
        .collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

pub async fn audit_list(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Admin])?;
    let month = match query(&req, "month") {
        Some(raw) => {
            parse_month(&raw).ok_or_else(|| ApiError::bad_request("invalid_month", "month must look like 2026-11."))?
        }
        None => month_of(state.clock.now()),
    };
    let limit = limit(&req, 50, 100)?;
    let page = state.store.list_audit(&month, limit, query(&req, "cursor").as_deref()).await?;
    ok(&json!({ "items": page.items, "nextCursor": page.next_cursor }))
}

/// A month query parameter: `YYYY-MM` (400 `invalid_month` otherwise), or `default` when absent.
fn month_param(req: &Request, name: &str, default: &str) -> Result<String, ApiError> {
    match query(req, name) {
        Some(raw) => parse_month(&raw)
            .ok_or_else(|| ApiError::bad_request("invalid_month", format!("{name} must look like 2026-11."))),
        None => Ok(default.to_string()),
    }
}

/// `GET /api/admin/reports/monthly?from=YYYY-MM&to=YYYY-MM`: the business report of each month
/// (at most 24; both default to the current month), read from the aggregates by key.
pub async fn reports_monthly(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Admin])?;
    let current = month_of(state.clock.now());
    let to = month_param(&req, "to", &current)?;
    let from = month_param(&req, "from", &to)?;
    ok(&crate::reports::monthly(&state, &from, &to).await?)
}

/// `GET /api/admin/reports/instructors?month=YYYY-MM&limit=&cursor=`: revenue, refunds and payouts
/// per instructor and currency in a month (default the current one), by instructor id.
pub async fn reports_instructors(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Admin])?;
    let month = month_param(&req, "month", &month_of(state.clock.now()))?;
    let limit = limit(&req, 50, 100)?;
    ok(&crate::reports::instructors(&state, &month, limit, query(&req, "cursor").as_deref()).await?)
}
