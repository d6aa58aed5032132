//! Open reconciliation discrepancies: what the reconcile job found and could not fix, kept until
//! a later run no longer finds it. `RECON#OPEN` / `<kind>#<objectId>`.

use crate::Store;
use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{from_item, s, ts};
use crate::table::{Expr, Query, key};
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

from_item! { Discrepancy as "discrepancy", |f| {
    kind: f.string("kind")?, object_id: f.string("objectId")?, detail: f.string("detail")?,
    first_seen_at: f.ts("firstSeenAt")?, last_seen_at: f.ts("lastSeenAt")?,
} }

impl Store {
    /// Records (or refreshes) an open discrepancy; its first sighting is kept.
    pub async fn note_discrepancy(
        &self,
        kind: &str,
        object_id: &str,
        detail: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let expr = Expr::update(
            "SET kind = :kind, objectId = :id, detail = :detail, lastSeenAt = :now, firstSeenAt = if_not_exists(firstSeenAt, :now)",
        )
        .value(":kind", s(kind))
        .value(":id", s(object_id))
        .value(":detail", s(detail))
        .value(":now", ts(now));
        self.update(&key(OPEN, format!("{kind}#{object_id}")), expr).await
    }

    /// Closes a discrepancy a run no longer finds.
    pub async fn close_discrepancy(&self, kind: &str, object_id: &str) -> Result<(), StoreError> {
        self.delete(&key(OPEN, format!("{kind}#{object_id}")), None).await
    }

    /// Open discrepancies, by kind and object id.
    pub async fn open_discrepancies(&self, limit: i32, cursor: Option<&str>) -> Result<Page<Discrepancy>, StoreError> {
        self.page(Query::partition(OPEN).consistent().limit(limit), cursor).await
    }
}
