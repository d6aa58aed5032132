//! Open reconciliation discrepancies: what the reconcile job found and could not fix, kept until
//! a later run no longer finds it. `RECON#OPEN` / `<kind>#<objectId>`.

use crate::cursor::{Page, PartitionPage};
use crate::error::{StoreError, from_sdk};
use crate::item::{Item, get_s, s};
use crate::{Store, keys};
use jiff::Timestamp;

const OPEN: &str = "RECON#OPEN";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    pub kind: String,
    pub object_id: String,
    /// JSON with the facts the job saw.
    pub detail: String,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
}

fn discrepancy_from_item(item: &Item) -> Result<Discrepancy, StoreError> {
    let ts = |name: &str| get_s(item, name)?.parse().map_err(|_| StoreError::Malformed(format!("discrepancy.{name}")));
    Ok(Discrepancy {
        kind: get_s(item, "kind")?.to_string(),
        object_id: get_s(item, "objectId")?.to_string(),
        detail: get_s(item, "detail")?.to_string(),
        first_seen_at: ts("firstSeenAt")?,
        last_seen_at: ts("lastSeenAt")?,
    })
}

impl Store {
    /// Records (or refreshes) an open discrepancy; its first sighting is kept.
    pub async fn note_discrepancy(
        &self,
        kind: &str,
        object_id: &str,
        detail: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(OPEN))
            .key(keys::SK, s(format!("{kind}#{object_id}")))
            .update_expression(
                "SET kind = :kind, objectId = :id, detail = :detail, lastSeenAt = :now, firstSeenAt = if_not_exists(firstSeenAt, :now)",
            )
            .expression_attribute_values(":kind", s(kind))
            .expression_attribute_values(":id", s(object_id))
            .expression_attribute_values(":detail", s(detail))
            .expression_attribute_values(":now", s(now.to_string()))
            .send()
            .await
            .map_err(|e| from_sdk("UpdateItem", e))?;
        Ok(())
    }

    /// Closes a discrepancy a run no longer finds.
    pub async fn close_discrepancy(&self, kind: &str, object_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(OPEN))
            .key(keys::SK, s(format!("{kind}#{object_id}")))
            .send()
            .await
            .map_err(|e| from_sdk("DeleteItem", e))?;
        Ok(())
    }

    /// Open discrepancies, by kind and object id.
    pub async fn open_discrepancies(&self, limit: i32, cursor: Option<&str>) -> Result<Page<Discrepancy>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: false,
                partition: OPEN,
                sort_prefix: None,
                newest_first: false,
                consistent: true,
                limit,
                cursor,
            },
            discrepancy_from_item,
        )
        .await
    }
}
