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
use azora_domain::notification::{EmailAddress, Notification, NotificationKind};
use azora_domain::support::{SupportTicket, TicketPriority, TicketReply, TicketStatus, parse_body, parse_subject};
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
    let (ticket, _) = workable_ticket(&state, &principal, &path_param(&req, "ticketId")?).await?;
    let replies = state.store.ticket_replies(&ticket.id).await?;
    let mut body = ticket_json(&ticket);
    body["replies"] = replies.iter().map(reply_json).collect();
    ok(&body)
}

fn reply_json(r: &TicketReply) -> Value {
    json!({ "replyId": r.id, "author": r.author, "fromSupport": r.from_support, "body": r.body,
            "createdAt": r.created_at.to_string() })
}

/// The ticket `principal` may work on: support staff (admins) any, an enterprise user their
/// organisation's; anything else is a 404, as if missing. Also says whether they act as support.
async fn workable_ticket(state: &AppState, principal: &Principal, id: &str) -> Result<(SupportTicket, bool), ApiError> {
    let ticket = state.store.get_ticket(id).await?.ok_or_else(|| ApiError::not_found("ticket"))?;
    if principal.is_admin() {
        return Ok((ticket, true));
    }
    if principal.roles.has(Role::Enterprise) && principal.org.as_ref() == Some(&ticket.org_id) {
        return Ok((ticket, false));
    }
    Err(ApiError::not_found("ticket"))
}

/// A reply or move whose condition failed: the ticket's status changed since it was read.
fn changed_meanwhile(e: StoreError) -> ApiError {
    match e {
        StoreError::ConditionFailed => {
            ApiError::conflict("conflict", "The ticket changed meanwhile; read it again and retry.")
        }
        other => other.into(),
    }
}

fn closed(ticket: &SupportTicket) -> ApiError {
    ApiError::conflict("ticket_closed", format!("Ticket {} is closed; file a new one.", ticket.id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyRequest {
    body: String,
}

/// `POST /api/enterprise/support/tickets/{ticketId}/replies` (idempotent): a reply from support
/// (admins) moves the ticket to `pending_customer` and emails the filer; one from the organisation
/// moves it back to `open` (reopening a resolved one) and emails support. A closed ticket takes
/// none (409 `ticket_closed`).
pub async fn reply(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: ReplyRequest = json_body(&req)?;
    let text = parse_body(&body.body)?;
    let key = idempotency::key(&req)?;
    let ticket_id = path_param(&req, "ticketId")?;
    idempotency::once(&state, &req, &principal, || async {
        let (ticket, by_support) = workable_ticket(&state, &principal, &ticket_id).await?;
        if TicketStatus::parse(&ticket.status).ok() == Some(TicketStatus::Closed) {
            return Err(closed(&ticket));
        }
        let to = TicketStatus::after_reply(by_support);
        let reply = TicketReply {
            id: idempotency::derived_id("rpl", &principal, &key),
            ticket_id: ticket.id.clone(),
            author: principal.user_id.clone(),
            from_support: by_support,
            body: text.clone(),
            created_at: state.clock.now(),
        };
        state.store.reply_to_ticket(&ticket, &reply, to).await.map_err(changed_meanwhile)?;
        let recipient = if by_support {
            ticket.reply_to.as_deref().and_then(|r| EmailAddress::parse(r).ok())
        } else {
            Some(state.config.support_email.get()?.clone())
        };
        if let Some(to_address) = recipient {
            let notification = Notification {
                id: format!("ticket-reply-{}", reply.id),
                to: to_address,
                kind: NotificationKind::SupportTicketReply {
                    ticket_id: ticket.id.clone(),
                    subject: ticket.subject.clone(),
                    body: reply.body.clone(),
                    from_support: by_support,
                    status: to.as_str().to_string(),
                },
            };
            state.notifier()?.send(&notification).await?;
        }
        let mut answer = reply_json(&reply);
        answer["ticketStatus"] = json!(to.as_str());
        http::json(StatusCode::CREATED, &answer)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketStatusRequest {
    status: String,
}

/// `POST /api/enterprise/support/tickets/{ticketId}/status`: support moves a ticket between open
/// and pending on the customer; either side resolves or closes it, or reopens a resolved one. A
/// move not allowed from the current status is 409 `invalid_transition`.
pub async fn set_status(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: TicketStatusRequest = json_body(&req)?;
    let to = TicketStatus::parse(&body.status)?;
    let (ticket, by_support) = workable_ticket(&state, &principal, &path_param(&req, "ticketId")?).await?;
    let from = TicketStatus::parse(&ticket.status).unwrap_or(TicketStatus::Open);
    if from == to {
        return ok(&ticket_json(&ticket));
    }
    if from == TicketStatus::Closed {
        return Err(closed(&ticket));
    }
    if !from.may_move(to, by_support) {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!("A ticket that is {} cannot be moved to {} by you.", from.as_str(), to.as_str()),
        ));
    }
    state.store.move_ticket(&ticket, to, state.clock.now()).await.map_err(changed_meanwhile)?;
    ok(&ticket_json(&SupportTicket { status: to.as_str().to_string(), ..ticket }))
}

/// `GET /api/admin/support/tickets?limit=&cursor=` (admins): tickets waiting for support, oldest
/// first, across organisations.
pub async fn queue(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    if !principal.is_admin() {
        return Err(ApiError::forbidden("forbidden", "The support queue is for support staff."));
    }
    let page = state.store.support_queue(limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
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
