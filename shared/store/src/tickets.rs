//! Enterprise support tickets: one item each, listed per organisation newest first through GSI1.

use crate::cursor::Page;
use crate::cursor::PartitionPage;
use crate::error::{StoreError, from_sdk};
use crate::item::{Item, get_s, opt_s, s};
use crate::{Store, keys};
use azora_domain::support::{SupportTicket, TicketPriority};
use azora_domain::{OrgId, UserId};

impl Store {
    /// Writes a new ticket; `ConditionFailed` when the id exists.
    pub async fn create_ticket(&self, t: &SupportTicket) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::ticket(&t.id)))
            .item(keys::SK, s(keys::TICKET))
            .item(keys::GSI1PK, s(keys::org_tickets(t.org_id.as_str())))
            .item(keys::GSI1SK, s(format!("{}#{}", t.created_at, t.id)))
            .item("ticketId", s(&t.id))
            .item("orgId", s(t.org_id.as_str()))
            .item("subject", s(&t.subject))
            .item("body", s(&t.body))
            .item("priority", s(t.priority.as_str()))
            .item("status", s(&t.status))
            .item("createdBy", s(t.created_by.as_str()))
            .item("createdAt", s(t.created_at.to_string()))
            .condition_expression("attribute_not_exists(PK)");
        if let Some(reply_to) = &t.reply_to {
            put = put.item("replyTo", s(reply_to));
        }
        put.send().await.map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }

    pub async fn get_ticket(&self, ticket_id: &str) -> Result<Option<SupportTicket>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::ticket(ticket_id)))
            .key(keys::SK, s(keys::TICKET))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(ticket_from_item).transpose()
    }

    /// An organisation's tickets, newest first.
    pub async fn list_tickets(
        &self,
        org: &OrgId,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<SupportTicket>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: true,
                partition: &keys::org_tickets(org.as_str()),
                sort_prefix: None,
                newest_first: true,
                consistent: false,
                limit,
                cursor,
            },
            ticket_from_item,
        )
        .await
    }
}

fn ticket_from_item(item: &Item) -> Result<SupportTicket, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("ticket.{what}"));
    Ok(SupportTicket {
        id: get_s(item, "ticketId")?.to_string(),
        org_id: OrgId::parse(get_s(item, "orgId")?).map_err(|_| malformed("orgId"))?,
        subject: get_s(item, "subject")?.to_string(),
        body: get_s(item, "body")?.to_string(),
        priority: TicketPriority::parse(get_s(item, "priority")?).map_err(|_| malformed("priority"))?,
        status: get_s(item, "status")?.to_string(),
        created_by: UserId::parse(get_s(item, "createdBy")?).map_err(|_| malformed("createdBy"))?,
        reply_to: opt_s(item, "replyTo").map(str::to_string),
        created_at: get_s(item, "createdAt")?.parse().map_err(|_| malformed("createdAt"))?,
    })
}
