//! Enterprise support tickets as conversations: filed by an organisation's enterprise users and
//! emailed to the support address (SUPPORT_EMAIL); replies from either side, each emailed to the
//! other; statuses moved by the rules of [`TicketStatus`]; the support queue, oldest first.
//!
//! Who sees a ticket: support staff (admins) any, an enterprise user their own organisation's;
//! anything else is [`SupportError::NotFound`], as if it did not exist.

use crate::auth::Principal;
use crate::fault::Fault;
use crate::limits::{self, Caller, LimitError, SUPPORT_TICKETS};
use crate::state::AppState;
use azora_domain::notification::{EmailAddress, Notification, NotificationKind};
use azora_domain::support::{SupportTicket, TicketPriority, TicketReply, TicketStatus};
use azora_domain::{OrgId, Role};
use azora_store::tickets::QueuedTicket;
use azora_store::{Page, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    #[error("no such ticket")]
    NotFound,
    #[error("ticket {0} is closed; file a new one")]
    Closed(String),
    #[error("a ticket that is {} cannot be moved to {} by you", from.as_str(), to.as_str())]
    InvalidTransition { from: TicketStatus, to: TicketStatus },
    /// A reply or move whose condition failed: the ticket's status changed since it was read.
    #[error("the ticket changed meanwhile")]
    ChangedMeanwhile,
    #[error(transparent)]
    Limited(#[from] LimitError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<StoreError> for SupportError {
    fn from(e: StoreError) -> Self {
        SupportError::Fault(e.into())
    }
}

impl From<crate::needs::UndeclaredPart> for SupportError {
    fn from(e: crate::needs::UndeclaredPart) -> Self {
        SupportError::Fault(e.into())
    }
}

/// A ticket to file; its id is derived from the request's idempotency key.
pub struct NewTicket {
    pub id: String,
    pub org: OrgId,
    pub subject: String,
    pub body: String,
    pub priority: TicketPriority,
}

/// Files `new` for `filer`'s organisation and emails support. Each ticket emails support, so a
/// flood is refused (the ticket budget) before anything is written. A retry with the same id
/// answers the ticket already filed and queues the same email, which the worker sends once.
pub async fn file(
    state: &AppState,
    filer: &Principal,
    ip: &str,
    new: NewTicket,
) -> Result<SupportTicket, SupportError> {
    limits::spend(state, &SUPPORT_TICKETS, Caller { user: &filer.user_id, ip }).await?;
    let ticket = SupportTicket {
        id: new.id,
        org_id: new.org,
        subject: new.subject,
        body: new.body,
        priority: new.priority,
        status: TicketStatus::Open.as_str().into(),
        created_by: filer.user_id.clone(),
        reply_to: filer.email.as_ref().map(|e| e.to_string()),
        created_at: state.clock.now(),
    };
    let ticket = match state.store.create_ticket(&ticket).await {
        Ok(()) => ticket,
        Err(StoreError::ConditionFailed) => {
            state.store.get_ticket(&ticket.id).await?.ok_or_else(|| Fault::broken("ticket vanished"))?
        }
        Err(e) => return Err(e.into()),
    };
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
    Ok(ticket)
}

/// An organisation's tickets, newest first.
pub async fn tickets_of(
    state: &AppState,
    org: &OrgId,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<SupportTicket>, SupportError> {
    Ok(state.store.list_tickets(org, limit, cursor).await?)
}

/// A ticket the caller may see, with its replies in order.
pub async fn conversation(
    state: &AppState,
    principal: &Principal,
    ticket_id: &str,
) -> Result<(SupportTicket, Vec<TicketReply>), SupportError> {
    let (ticket, _) = workable_ticket(state, principal, ticket_id).await?;
    let replies = state.store.ticket_replies(&ticket.id).await?;
    Ok((ticket, replies))
}

/// A reply (its id derived from the idempotency key). One from support moves the ticket to
/// `pending_customer` and emails the filer; one from the organisation moves it back to `open`
/// (reopening a resolved one) and emails support. A closed ticket takes none.
pub async fn reply(
    state: &AppState,
    principal: &Principal,
    ticket_id: &str,
    reply_id: String,
    body: String,
) -> Result<(TicketReply, TicketStatus), SupportError> {
    let (ticket, by_support) = workable_ticket(state, principal, ticket_id).await?;
    if TicketStatus::parse(&ticket.status).ok() == Some(TicketStatus::Closed) {
        return Err(SupportError::Closed(ticket.id));
    }
    let to = TicketStatus::after_reply(by_support);
    let reply = TicketReply {
        id: reply_id,
        ticket_id: ticket.id.clone(),
        author: principal.user_id.clone(),
        from_support: by_support,
        body,
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
    Ok((reply, to))
}

/// Moves a ticket to `to`: support between open and pending on the customer; either side
/// resolves or closes it, or reopens a resolved one. Asking for the current status changes
/// nothing.
pub async fn move_ticket(
    state: &AppState,
    principal: &Principal,
    ticket_id: &str,
    to: TicketStatus,
) -> Result<SupportTicket, SupportError> {
    let (ticket, by_support) = workable_ticket(state, principal, ticket_id).await?;
    let from = TicketStatus::parse(&ticket.status).unwrap_or(TicketStatus::Open);
    if from == to {
        return Ok(ticket);
    }
    if from == TicketStatus::Closed {
        return Err(SupportError::Closed(ticket.id));
    }
    if !from.may_move(to, by_support) {
        return Err(SupportError::InvalidTransition { from, to });
    }
    state.store.move_ticket(&ticket, to, state.clock.now()).await.map_err(changed_meanwhile)?;
    Ok(SupportTicket { status: to.as_str().to_string(), ..ticket })
}

/// Tickets waiting for support, oldest first, across organisations.
pub async fn queue(state: &AppState, limit: i32, cursor: Option<&str>) -> Result<Page<QueuedTicket>, SupportError> {
    Ok(state.store.support_queue(limit, cursor).await?)
}

/// The ticket `principal` may work on, and whether they act as support.
async fn workable_ticket(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<(SupportTicket, bool), SupportError> {
    let ticket = state.store.get_ticket(id).await?.ok_or(SupportError::NotFound)?;
    if principal.is_admin() {
        return Ok((ticket, true));
    }
    if principal.roles.has(Role::Enterprise) && principal.org.as_ref() == Some(&ticket.org_id) {
        return Ok((ticket, false));
    }
    Err(SupportError::NotFound)
}

fn changed_meanwhile(e: StoreError) -> SupportError {
    match e {
        StoreError::ConditionFailed => SupportError::ChangedMeanwhile,
        other => other.into(),
    }
}
