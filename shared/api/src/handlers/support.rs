//! Enterprise support tickets: filed by an organisation's enterprise users, stored, and emailed to
//! the support address (SUPPORT_EMAIL) through the notification pipeline. An organisation sees only
//! its own tickets; another organisation's ticket is a 404.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, limit, ok, path_param, query};
use crate::idempotency;
use crate::limits::{self, Caller, SUPPORT_TICKETS};
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::notification::{Notification, NotificationKind};
use azora_domain::support::{SupportTicket, TicketPriority, parse_body, parse_subject};
use azora_domain::{OrgId, Role};
use azora_store::StoreError;
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
        // Each ticket emails support: a flood is refused before anything is written.
        limits::spend(&state, &SUPPORT_TICKETS, Caller { user: &principal.user_id, ip: &ip }).await?;
        let ticket = SupportTicket {
            id: idempotency::derived_id("tkt", &principal, &key),
            org_id: org.clone(),
            subject: subject.clone(),
            body: text.clone(),
            priority,
            status: "open".into(),
            created_by: principal.user_id.clone(),
            reply_to: principal.email.as_ref().map(|e| e.to_string()),
            created_at: state.clock.now(),
        };
        let ticket = match state.store.create_ticket(&ticket).await {
            Ok(()) => ticket,
            Err(StoreError::ConditionFailed) => {
                state.store.get_ticket(&ticket.id).await?.ok_or_else(|| ApiError::internal("ticket vanished"))?
            }
            Err(e) => return Err(e.into()),
        };
        // Deterministic id: a retry queues the same email, which the email worker sends once.
        let notification = Notification {
            id: format!("ticket-{}", ticket.id),
            to: state.config.support_email.get()?.clone(),
            kind: NotificationKind::SupportTicketFiled {
                ticket_id: ticket.id.clone(),
                org_id: ticket.org_id.to_string(),
                subject: ticket.subject.clone(),
                body: ticket.body.clone(),
                priority: ticket.priority,
                filed_by: ticket.created_by.to_string(),
                reply_to: ticket.reply_to.clone(),
            },
        };
        state.notifier()?.send(&notification).await?;
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
    let page = state.store.list_tickets(&org, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<Value> = page.items.iter().map(ticket_json).collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

/// `GET /api/enterprise/support/tickets/{ticketId}`: the filing organisation or an admin.
pub async fn get(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let ticket_id = path_param(&req, "ticketId")?;
    let ticket = state.store.get_ticket(&ticket_id).await?.ok_or_else(|| ApiError::not_found("ticket"))?;
    let visible = principal.is_admin()
        || (principal.roles.has(Role::Enterprise) && principal.org.as_ref() == Some(&ticket.org_id));
    if !visible {
        return Err(ApiError::not_found("ticket"));
    }
    ok(&ticket_json(&ticket))
}
