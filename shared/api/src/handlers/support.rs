//! Enterprise support tickets over HTTP: parse, check the caller's role, call [`crate::support`],
//! shape the answer. An organisation sees only its own tickets; another's is a 404.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, limit, ok, path_param, query};
use crate::idempotency;
use crate::state::AppState;
use crate::support::{self, NewTicket};
use ::http::StatusCode;
use azora_domain::support::{SupportTicket, TicketPriority, TicketReply, TicketStatus, parse_body, parse_subject};
use azora_domain::{OrgId, Role};
use lambda_http::Request;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TicketRequest {
    subject: String,
    body: String,
    priority: String,
}

fn ticket_json(t: &SupportTicket) -> Value {
    json!({
        "ticketId": t.id,
        "orgId": t.org_id,
        "subject": t.subject,
        "body": t.body,
        "priority": t.priority,
        "status": t.status,
        "createdBy": t.created_by,
        "createdAt": t.created_at.to_string(),
    })
}

fn reply_json(r: &TicketReply) -> Value {
    json!({ "replyId": r.id, "author": r.author, "fromSupport": r.from_support, "body": r.body,
            "createdAt": r.created_at.to_string() })
}

/// The organisation an enterprise caller acts for (their `org` claim).
fn org_of(principal: &Principal) -> Result<OrgId, ApiError> {
    principal.require_any(&[Role::Enterprise])?;
    principal.org.clone().ok_or_else(|| {
        ApiError::forbidden(
            "org_required",
            "Support tickets are filed for an organisation: the token needs an org claim.",
        )
    })
}

/// `POST /api/enterprise/support/tickets` (role enterprise with an org; idempotent).
pub async fn create(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let org = org_of(&principal)?;
    let body: TicketRequest = json_body(&req)?;
    let subject = parse_subject(&body.subject)?;
    let text = parse_body(&body.body)?;
    let priority = TicketPriority::parse(&body.priority)?;
    let key = idempotency::key(&req)?;
    let ip = http::source_ip(&req);
    idempotency::once(&state, &req, &principal, || async {
        let new = NewTicket {
            id: idempotency::derived_id("tkt", &principal, &key),
            org: org.clone(),
            subject: subject.clone(),
            body: text.clone(),
            priority,
        };
        let ticket = support::file(&state, &principal, &ip, new).await?;
        http::json(StatusCode::CREATED, &ticket_json(&ticket))
    })
    .await
}

/// `GET /api/enterprise/support/tickets?limit=&cursor=`: the caller's organisation's tickets,
/// newest first. Admins pass `orgId`.
pub async fn list(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let org = match (principal.is_admin(), query(&req, "orgId")) {
        (true, Some(raw)) => OrgId::parse(raw)?,
        _ => org_of(&principal)?,
    };
    let page = support::tickets_of(&state, &org, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<Value> = page.items.iter().map(ticket_json).collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

/// `GET /api/enterprise/support/tickets/{ticketId}`: the filing organisation or an admin.
pub async fn get(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let (ticket, replies) = support::conversation(&state, &principal, &path_param(&req, "ticketId")?).await?;
    let mut body = ticket_json(&ticket);
    body["replies"] = replies.iter().map(reply_json).collect();
    ok(&body)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyRequest {
    body: String,
}

/// `POST /api/enterprise/support/tickets/{ticketId}/replies` (idempotent): see [`support::reply`];
/// a closed ticket takes none (409 `ticket_closed`).
pub async fn reply(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: ReplyRequest = json_body(&req)?;
    let text = parse_body(&body.body)?;
    let key = idempotency::key(&req)?;
    let ticket_id = path_param(&req, "ticketId")?;
    idempotency::once(&state, &req, &principal, || async {
        let reply_id = idempotency::derived_id("rpl", &principal, &key);
        let (reply, status) = support::reply(&state, &principal, &ticket_id, reply_id, text.clone()).await?;
        let mut answer = reply_json(&reply);
        answer["ticketStatus"] = json!(status.as_str());
        http::json(StatusCode::CREATED, &answer)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketStatusRequest {
    status: String,
}

/// `POST /api/enterprise/support/tickets/{ticketId}/status`: see [`support::move_ticket`]; a move
/// not allowed from the current status is 409 `invalid_transition`.
pub async fn set_status(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: TicketStatusRequest = json_body(&req)?;
    let to = TicketStatus::parse(&body.status)?;
    let ticket = support::move_ticket(&state, &principal, &path_param(&req, "ticketId")?, to).await?;
    ok(&ticket_json(&ticket))
}

/// `GET /api/admin/support/tickets?limit=&cursor=` (admins): tickets waiting for support, oldest
/// first, across organisations.
pub async fn queue(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    if !principal.is_admin() {
        return Err(ApiError::forbidden("forbidden", "The support queue is for support staff."));
    }
    let page = support::queue(&state, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|t| {
            json!({ "ticketId": t.ticket_id, "orgId": t.org_id, "subject": t.subject, "priority": t.priority,
                    "createdAt": t.created_at.to_string() })
        })
        .collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}
