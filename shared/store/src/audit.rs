//! Audit entries, partitioned by month and listed newest first.

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{Item, ToItem, attrs, from_item, json, s, ts};
use crate::table::{Query, key};
use crate::{Store, keys};
use azora_domain::audit::AuditEntry;

impl ToItem for AuditEntry {
    fn to_item(&self) -> Result<Item, StoreError> {
        let k = key(keys::audit_month(&self.month()), format!("{}#{}", keys::sortable(self.at), self.id));
        Ok(k.item(attrs! {
            "id" => s(&self.id), "at" => ts(self.at), "actor" => s(&self.actor), "action" => s(&self.action),
            "target" => s(&self.target), "requestId" => s(&self.request_id), "details" => json(&self.details)?,
        }))
    }
}

from_item! { AuditEntry as "audit", |f| {
    id: f.string("id")?, at: f.ts("at")?, actor: f.string("actor")?, action: f.string("action")?,
    target: f.string("target")?, request_id: f.string("requestId")?, details: f.json("details")?,
} }

impl Store {
    /// Appends an entry; entries are never updated or deleted.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.put_new(entry.to_item()?).await
    }

    pub async fn list_audit(
        &self,
        month: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.page(Query::partition(keys::audit_month(month)).newest_first().limit(limit), cursor).await
    }
}
