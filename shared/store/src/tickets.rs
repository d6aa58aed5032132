//! Enterprise support tickets: one item each, listed per organisation newest first through GSI1.

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{FromItem, Item, ToItem, attrs, from_item, s, ts};
use crate::table::{Expr, Key, Query, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::TransactWriteItem;
use azora_domain::OrgId;
use azora_domain::support::{SupportTicket, TicketPriority, TicketReply, TicketStatus};

impl ToItem for SupportTicket {
    fn to_item(&self) -> Result<Item, StoreError> {
        let mut item = key(keys::ticket(&self.id), keys::TICKET).item(attrs! {
            keys::GSI1PK => s(keys::org_tickets(self.org_id.as_str())),
            keys::GSI1SK => s(format!("{}#{}", self.created_at, self.id)), "ticketId" => s(&self.id),
            "orgId" => s(self.org_id.as_str()), "subject" => s(&self.subject), "body" => s(&self.body),
            "priority" => s(self.priority.as_str()), "status" => s(&self.status),
            "createdBy" => s(self.created_by.as_str()), "createdAt" => ts(self.created_at),
        });
        if let Some(reply_to) = &self.reply_to {
            item.insert("replyTo".into(), s(reply_to));
        }
        Ok(item)
    }
}

from_item! { SupportTicket as "ticket", |f| {
    id: f.string("ticketId")?, org_id: f.parse("orgId", |v| OrgId::parse(v))?, subject: f.string("subject")?,
    body: f.string("body")?, priority: f.parse("priority", TicketPriority::parse)?, status: f.string("status")?,
    created_by: f.user("createdBy")?, reply_to: f.opt("replyTo"), created_at: f.ts("createdAt")?,
} }

from_item! { TicketReply as "ticket reply", |f| {
    id: f.string("replyId")?, ticket_id: f.string("ticketId")?, author: f.user("author")?,
    from_support: f.bool("fromSupport"), body: f.string("body")?, created_at: f.ts("createdAt")?,
} }

/// A ticket waiting for support, as the queue lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedTicket {
    pub ticket_id: String,
    pub org_id: String,
    pub subject: String,
    pub priority: String,
    pub created_at: jiff::Timestamp,
}

from_item! { QueuedTicket as "queued ticket", |f| {
    ticket_id: f.string("ticketId")?, org_id: f.string("orgId")?, subject: f.string("subject")?,
    priority: f.string("priority")?, created_at: f.ts("createdAt")?,
} }

fn ticket_key(id: &str) -> Key {
    key(keys::ticket(id), keys::TICKET)
}

fn queue_key(t: &SupportTicket) -> Key {
    key(keys::SUPPORT_QUEUE, keys::support_queue_entry(t.created_at, &t.id))
}

impl Store {
    /// Writes a new ticket and puts it in the support queue; `ConditionFailed` when the id exists.
    pub async fn create_ticket(&self, t: &SupportTicket) -> Result<(), StoreError> {
        match self.transact(vec![self.tx_new(t.to_item()?)?, self.queue_write(t, TicketStatus::Open)?]).await {
            Err(e) if e.is_condition() => Err(StoreError::ConditionFailed),
            other => other,
        }
    }

    /// The queue item's write for a ticket entering `status`: present while it waits for support.
    fn queue_write(&self, t: &SupportTicket, status: TicketStatus) -> Result<TransactWriteItem, StoreError> {
        if status == TicketStatus::Open {
            let item = queue_key(t).item(attrs! {
                "ticketId" => s(&t.id), "orgId" => s(t.org_id.as_str()), "subject" => s(&t.subject),
                "priority" => s(t.priority.as_str()), "createdAt" => ts(t.created_at),
            });
            self.tx_put(item, None)
        } else {
            self.tx_delete(&queue_key(t), None)
        }
    }

    /// The status move, only from the status `t` was read with (a concurrent move makes it
    /// `ConditionFailed`), with the queue kept in step.
    fn status_write(
        &self,
        t: &SupportTicket,
        to: TicketStatus,
        now: jiff::Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let expr = Expr::update("SET #status = :to, updatedAt = :now")
            .only_if("attribute_exists(PK) AND #status = :from")
            .status()
            .value(":to", s(to.as_str()))
            .value(":from", s(&t.status))
            .value(":now", ts(now));
        self.tx_update(&ticket_key(&t.id), expr)
    }

    /// Adds a reply and moves the ticket to `to`, together. `ConditionFailed` when the reply id
    /// exists (a retry) or the ticket's status changed since it was read.
    pub async fn reply_to_ticket(
        &self,
        t: &SupportTicket,
        reply: &TicketReply,
        to: TicketStatus,
    ) -> Result<(), StoreError> {
        let item = key(keys::ticket(&t.id), keys::ticket_reply(reply.created_at, &reply.id)).item(attrs! {
            "replyId" => s(&reply.id), "ticketId" => s(&t.id), "author" => s(reply.author.as_str()),
            "body" => s(&reply.body), "createdAt" => ts(reply.created_at),
        });
        let mut item = item;
        item.insert("fromSupport".into(), aws_sdk_dynamodb::types::AttributeValue::Bool(reply.from_support));
        let writes = vec![self.tx_new(item)?, self.status_write(t, to, reply.created_at)?, self.queue_write(t, to)?];
        match self.transact(writes).await {
            Err(e) if e.is_condition() => Err(StoreError::ConditionFailed),
            other => other,
        }
    }

    /// Moves the ticket to `to` (see [`Store::reply_to_ticket`] for the condition).
    pub async fn move_ticket(
        &self,
        t: &SupportTicket,
        to: TicketStatus,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        match self.transact(vec![self.status_write(t, to, now)?, self.queue_write(t, to)?]).await {
            Err(e) if e.is_condition() => Err(StoreError::ConditionFailed),
            other => other,
        }
    }

    /// A ticket's replies, in the order written.
    pub async fn ticket_replies(&self, ticket_id: &str) -> Result<Vec<TicketReply>, StoreError> {
        let q = Query::prefix(keys::ticket(ticket_id), "REPLY#").consistent();
        self.query_all(&q).await?.iter().map(TicketReply::from_item).collect()
    }

    /// Tickets waiting for support, oldest first.
    pub async fn support_queue(&self, limit: i32, cursor: Option<&str>) -> Result<Page<QueuedTicket>, StoreError> {
        self.page(Query::partition(keys::SUPPORT_QUEUE).limit(limit), cursor).await
    }

    pub async fn get_ticket(&self, ticket_id: &str) -> Result<Option<SupportTicket>, StoreError> {
        self.get(&key(keys::ticket(ticket_id), keys::TICKET), true).await
    }

    /// An organisation's tickets, newest first.
    pub async fn list_tickets(
        &self,
        org: &OrgId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<SupportTicket>, StoreError> {
        self.page(Query::gsi1(keys::org_tickets(org.as_str())).newest_first().limit(limit), cursor).await
    }
}
