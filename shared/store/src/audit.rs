//! Audit entries, partitioned by month and listed newest first.

use crate::cursor::Page;
use crate::cursor::PartitionPage;
use crate::error::{StoreError, from_sdk};
use crate::item::{Item, get_s, s};
use crate::{Store, keys};
use azora_domain::audit::AuditEntry;

impl Store {
    /// Appends an entry; entries are never updated or deleted.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let details = serde_json::to_string(&entry.details).map_err(|e| StoreError::Malformed(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::audit_month(&entry.month())))
            .item(keys::SK, s(format!("{}#{}", keys::sortable(entry.at), entry.id)))
            .item("id", s(&entry.id))
            .item("at", s(entry.at.to_string()))
            .item("actor", s(&entry.actor))
            .item("action", s(&entry.action))
            .item("target", s(&entry.target))
            .item("requestId", s(&entry.request_id))
            .item("details", s(details))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }

    pub async fn list_audit(
        &self,
        month: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: false,
                partition: &keys::audit_month(month),
                sort_prefix: None,
                newest_first: true,
                consistent: false,
                limit,
                cursor,
            },
            audit_from_item,
        )
        .await
    }
}

fn audit_from_item(item: &Item) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: get_s(item, "id")?.to_string(),
        at: get_s(item, "at")?.parse().map_err(|_| StoreError::Malformed("audit.at".into()))?,
        actor: get_s(item, "actor")?.to_string(),
        action: get_s(item, "action")?.to_string(),
        target: get_s(item, "target")?.to_string(),
        request_id: get_s(item, "requestId")?.to_string(),
        details: serde_json::from_str(get_s(item, "details")?).map_err(|e| StoreError::Malformed(e.to_string()))?,
    })
}
