//! Enterprise support tickets: one item each, listed per organisation newest first through GSI1.

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{Item, ToItem, attrs, from_item, s, ts};
use crate::table::{Query, key};
use crate::{Store, keys};
use azora_domain::OrgId;
use azora_domain::support::{SupportTicket, TicketPriority};

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

impl Store {
    /// Writes a new ticket; `ConditionFailed` when the id exists.
    pub async fn create_ticket(&self, t: &SupportTicket) -> Result<(), StoreError> {
        self.put_new(t.to_item()?).await
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
