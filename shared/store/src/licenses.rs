//! Enterprise licenses, their seats, status changes and white-label domains.
//!
//! Seats are counted on the license item (`seatsUsed`) and each seat is an item of its own; an
//! activation is one transaction that increments the count only while `seatsUsed < seats` and the
//! license grants access, creates the seat only if absent, writes the member's copy and adds to
//! the org's usage month. So N+1 concurrent activations of an N-seat license leave exactly N seats,
//! and activating the same member twice changes nothing.

use crate::cursor::PartitionPage;
use crate::cursor::{self, Page};
use crate::error::{StoreError, from_sdk, from_transact};
use crate::item::{Item, get_bool, get_i64, get_s, n, opt_s, s};
use crate::usage::usage_update;
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use azora_domain::license::{License, LicenseStatus, WhiteLabel};
use azora_domain::notification::EmailAddress;
use azora_domain::usage::UsageCounters;
use azora_domain::{OrgId, UserId};
use jiff::Timestamp;
use std::time::Duration;

/// Retries of a transaction that DynamoDB cancelled for a conflicting concurrent transaction.
const CONFLICT_RETRIES: u32 = 6;

pub(crate) fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Malformed(e.to_string()))
}

fn ts(t: Timestamp) -> AttributeValue {
    s(t.to_string())
}

/// GSI1 sort key: the expiry as fixed-width UTC seconds, then the id (sorts by time).
fn expiry_sort_key(expires_at: Timestamp, license_id: &str) -> String {
    format!("{}#{license_id}", expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
}

pub fn expiry_month(expires_at: Timestamp) -> String {
    azora_domain::audit::month_of(expires_at)
}

/// Whether a cancelled transaction lost to a concurrent one (worth retrying at once).
pub(crate) fn lost_conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::TransactionCanceled { reasons } if reasons.iter().any(|r| r == "TransactionConflict"))
}

pub(crate) async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(10u64 << attempt.min(6))).await;
}

/// A member's seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub license_id: String,
    pub user_id: UserId,
    pub activated_at: Timestamp,
    pub activated_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activation {
    /// A new seat; `seats_used` counts it.
    Activated {
        seats_used: u32,
    },
    /// The member held a seat already: nothing changed.
    AlreadyActive,
    NoSeatsLeft,
    /// The license does not grant access now (suspended, revoked, expired or past its grace).
    Inactive(Box<License>),
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhiteLabelOutcome {
    Saved,
    /// Another license uses this custom domain.
    DomainTaken,
}

/// What a renewal sets. The conditions: same key version as read (no concurrent renewal), not
/// revoked, and the new seats not below the seats in use at write time.
#[derive(Debug, Clone)]
pub struct Renewal<'a> {
    pub expected_key_version: u32,
    pub expected_status: LicenseStatus,
    pub new_status: LicenseStatus,
    pub expires_at: Timestamp,
    pub grace_ends: Timestamp,
    pub seats: u32,
    pub key_version: u32,
    pub key: &'a str,
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewalOutcome {
    Renewed,
    /// The seats asked for are below the seats in use now.
    SeatsBelowUse {
        seats_used: u32,
    },
    /// The license changed meanwhile (another renewal or a status change), or is revoked.
    Conflict,
}

impl Store {
    /// Writes a new license; `ConditionFailed` when the id exists.
    pub async fn create_license(&self, license: &License) -> Result<(), StoreError> {
        let features = serde_json::to_string(&license.features).map_err(|e| StoreError::Malformed(e.to_string()))?;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::license(&license.id)))
            .item(keys::SK, s(keys::LICENSE))
            .item("licenseId", s(&license.id))
            .item("orgId", s(license.org_id.as_str()))
            .item("orgName", s(&license.org_name))
            .item("contactEmail", s(license.contact_email.as_str()))
            .item("seats", n(license.seats))
            .item("seatsUsed", n(license.seats_used))
            .item("features", s(features))
            .item("status", s(license.status.as_str()))
            .item("issuedAt", ts(license.issued_at))
            .item("licenseExpiry", n(license.expires_at.as_second()))
            .item("graceDays", n(license.grace_days))
            .item("graceEnds", n(license.grace_until().as_second()))
            .item("selfActivation", crate::item::b(license.self_activation))
            .item("keyVersion", n(license.key_version))
            .item("licenseKey", s(&license.key))
            .item("updatedAt", ts(license.updated_at))
            .condition_expression("attribute_not_exists(PK)");
        if matches!(license.status, LicenseStatus::Active | LicenseStatus::Suspended) {
            put = put
                .item(keys::GSI1PK, s(keys::license_expiry_month(&expiry_month(license.expires_at))))
                .item(keys::GSI1SK, s(expiry_sort_key(license.expires_at, &license.id)));
        }
        if let Some(wl) = &license.white_label {
            let json = serde_json::to_string(wl).map_err(|e| StoreError::Malformed(e.to_string()))?;
            put = put.item("whiteLabel", s(json)).item("wlDomain", s(&wl.custom_domain));
        }
        put.send().await.map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }

    pub async fn get_license(&self, license_id: &str) -> Result<Option<License>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::license(license_id)))
            .key(keys::SK, s(keys::LICENSE))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(license_from_item).transpose()
    }

    /// Gives `user` a seat on `license` (see the module docs); the usage month is that of `now`.
    pub async fn activate_seat(
        &self,
        license: &License,
        user: &UserId,
        activated_by: &str,
        now: Timestamp,
    ) -> Result<Activation, StoreError> {
        let month = azora_domain::audit::month_of(now);
        let delta = UsageCounters { seats_activated: 1, ..Default::default() };
        for attempt in 0..=CONFLICT_RETRIES {
            let count = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::license(&license.id)))
                .key(keys::SK, s(keys::LICENSE))
                .update_expression("SET seatsUsed = seatsUsed + :one, updatedAt = :now")
                .condition_expression(
                    "attribute_exists(PK) AND #status = :active AND graceEnds > :nowSecs AND seatsUsed < seats",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", ts(now))
                .expression_attribute_values(":nowSecs", n(now.as_second()))
                .expression_attribute_values(":active", s(LicenseStatus::Active.as_str()));
            let seat = Put::builder()
                .table_name(&self.table)
                .item(keys::PK, s(keys::license(&license.id)))
                .item(keys::SK, s(keys::seat(user.as_str())))
                .item("licenseId", s(&license.id))
                .item("userId", s(user.as_str()))
                .item("activatedAt", ts(now))
                .item("activatedBy", s(activated_by))
                .condition_expression("attribute_not_exists(PK)");
            let member_copy = Put::builder()
                .table_name(&self.table)
                .item(keys::PK, s(keys::user(user.as_str())))
                .item(keys::SK, s(keys::user_seat(&license.id)))
                .item("licenseId", s(&license.id))
                .item("orgId", s(license.org_id.as_str()))
                .item("activatedAt", ts(now))
                .condition_expression("attribute_not_exists(PK)");
            let usage = usage_update(&self.table, license.org_id.as_str(), &month, &delta, false)?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(build(count.build())?).build())
                .transact_items(TransactWriteItem::builder().put(build(seat.build())?).build())
                .transact_items(TransactWriteItem::builder().put(build(member_copy.build())?).build())
                .transact_items(TransactWriteItem::builder().update(usage).build())
                .send()
                .await
                .map_err(from_transact);
            match result {
                Ok(_) => {
                    let seats_used = self.get_license(&license.id).await?.map(|l| l.seats_used).unwrap_or(0);
                    return Ok(Activation::Activated { seats_used });
                }
                // Checked first: a member who holds a seat is answered "already active" even
                // when the license is full.
                Err(e) if e.failed_condition_at(1) || e.failed_condition_at(2) => return Ok(Activation::AlreadyActive),
                Err(e) if e.failed_condition_at(0) => {
                    let Some(current) = self.get_license(&license.id).await? else { return Ok(Activation::NotFound) };
                    if !current.grants_access(now) {
                        return Ok(Activation::Inactive(Box::new(current)));
                    }
                    return Ok(Activation::NoSeatsLeft);
                }
                Err(e) if lost_conflict(&e) && attempt < CONFLICT_RETRIES => backoff(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend { operation: "TransactWriteItems", message: "seat activation kept conflicting".into() })
    }

    /// Frees `user`'s seat. Returns `false` when they held none (nothing changed).
    pub async fn deactivate_seat(&self, license: &License, user: &UserId, now: Timestamp) -> Result<bool, StoreError> {
        let month = azora_domain::audit::month_of(now);
        let delta = UsageCounters { seats_released: 1, ..Default::default() };
        for attempt in 0..=CONFLICT_RETRIES {
            let seat = Delete::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::license(&license.id)))
                .key(keys::SK, s(keys::seat(user.as_str())))
                .condition_expression("attribute_exists(PK)");
            let member_copy = Delete::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::user(user.as_str())))
                .key(keys::SK, s(keys::user_seat(&license.id)));
            let count = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::license(&license.id)))
                .key(keys::SK, s(keys::LICENSE))
                .update_expression("SET seatsUsed = seatsUsed - :one, updatedAt = :now")
                .condition_expression("seatsUsed > :zero")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":now", ts(now));
            let usage = usage_update(&self.table, license.org_id.as_str(), &month, &delta, false)?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().delete(build(seat.build())?).build())
                .transact_items(TransactWriteItem::builder().delete(build(member_copy.build())?).build())
                .transact_items(TransactWriteItem::builder().update(build(count.build())?).build())
                .transact_items(TransactWriteItem::builder().update(usage).build())
                .send()
                .await
                .map_err(from_transact);
            match result {
                Ok(_) => return Ok(true),
                Err(e) if e.failed_condition_at(0) => return Ok(false),
                Err(e) if lost_conflict(&e) && attempt < CONFLICT_RETRIES => backoff(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend { operation: "TransactWriteItems", message: "seat release kept conflicting".into() })
    }

    pub async fn get_seat(&self, license_id: &str, user: &UserId) -> Result<Option<Seat>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::license(license_id)))
            .key(keys::SK, s(keys::seat(user.as_str())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(seat_from_item).transpose()
    }

    /// A license's seats, by user id.
    pub async fn list_seats(
        &self,
        license_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Seat>, StoreError> {
        self.partition_page(
            PartitionPage {
                on_gsi1: false,
                partition: &keys::license(license_id),
                sort_prefix: Some(keys::SEAT_PREFIX),
                newest_first: false,
                consistent: true,
                limit,
                cursor,
            },
            seat_from_item,
        )
        .await
    }

    /// The ids of the licenses on which `user` holds a seat (any status).
    pub async fn seat_licenses_of(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :seat)")
                .expression_attribute_values(":pk", s(keys::user(user.as_str())))
                .expression_attribute_values(":seat", s(keys::SEAT_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| from_sdk("Query", e))?;
            for item in out.items() {
                ids.push(get_s(item, "licenseId")?.to_string());
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(ids),
            }
        }
    }

    /// The licenses on which `user` holds a seat that grants access at `now`.
    pub async fn granting_licenses_of(&self, user: &UserId, now: Timestamp) -> Result<Vec<License>, StoreError> {
        let mut out = Vec::new();
        for id in self.seat_licenses_of(user).await? {
            if let Some(license) = self.get_license(&id).await?
                && license.grants_access(now)
            {
                out.push(license);
            }
        }
        Ok(out)
    }

    /// Moves the license from one of `from` to `to`. Returns `false` (nothing written) when its
    /// status was not one of `from`. Revoking takes it out of the billing cycle's index.
    pub async fn set_license_status(
        &self,
        license_id: &str,
        from: &[LicenseStatus],
        to: LicenseStatus,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let names: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut update = "SET #status = :to, updatedAt = :now".to_string();
        if matches!(to, LicenseStatus::Revoked | LicenseStatus::Expired) {
            update.push_str(" REMOVE GSI1PK, GSI1SK");
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::license(license_id)))
            .key(keys::SK, s(keys::LICENSE))
            .update_expression(update)
            .condition_expression(format!("attribute_exists(PK) AND #status IN ({})", names.join(", ")))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":now", ts(now));
        for (name, status) in names.iter().zip(from) {
            req = req.expression_attribute_values(name, s(status.as_str()));
        }
        match req.send().await.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Marks a license `expired` once its expiry plus grace has passed; `false` when it was
    /// renewed, revoked or expired meanwhile (the job run twice, or concurrently).
    pub async fn expire_license(&self, license: &License, now: Timestamp) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::license(&license.id)))
            .key(keys::SK, s(keys::LICENSE))
            .update_expression("SET #status = :expired, updatedAt = :now REMOVE GSI1PK, GSI1SK")
            .condition_expression(
                "#status IN (:active, :suspended) AND licenseExpiry = :expiry AND graceEnds <= :nowSecs",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":expired", s(LicenseStatus::Expired.as_str()))
            .expression_attribute_values(":active", s(LicenseStatus::Active.as_str()))
            .expression_attribute_values(":suspended", s(LicenseStatus::Suspended.as_str()))
            .expression_attribute_values(":expiry", n(license.expires_at.as_second()))
            .expression_attribute_values(":nowSecs", n(now.as_second()))
            .expression_attribute_values(":now", ts(now))
            .send()
            .await;
        match result.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Extends or changes a license's terms and stores its new key (see [`Renewal`]).
    pub async fn renew_license(&self, license_id: &str, r: &Renewal<'_>) -> Result<RenewalOutcome, StoreError> {
        let month = expiry_month(r.expires_at);
        let mut update = "SET seats = :seats, licenseExpiry = :expiry, graceEnds = :graceEnds, keyVersion = :kv, \
                          licenseKey = :key, #status = :newStatus, updatedAt = :now"
            .to_string();
        let in_index = matches!(r.new_status, LicenseStatus::Active | LicenseStatus::Suspended);
        if in_index {
            update.push_str(", GSI1PK = :gpk, GSI1SK = :gsk");
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::license(license_id)))
            .key(keys::SK, s(keys::LICENSE))
            .update_expression(update)
            .condition_expression(
                "attribute_exists(PK) AND keyVersion = :expectedKv AND #status = :expectedStatus AND seatsUsed <= :seats",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":seats", n(r.seats))
            .expression_attribute_values(":expiry", n(r.expires_at.as_second()))
            .expression_attribute_values(":graceEnds", n(r.grace_ends.as_second()))
            .expression_attribute_values(":kv", n(r.key_version))
            .expression_attribute_values(":key", s(r.key))
            .expression_attribute_values(":newStatus", s(r.new_status.as_str()))
            .expression_attribute_values(":now", ts(r.now))
            .expression_attribute_values(":expectedKv", n(r.expected_key_version))
            .expression_attribute_values(":expectedStatus", s(r.expected_status.as_str()));
        if in_index {
            req = req
                .expression_attribute_values(":gpk", s(keys::license_expiry_month(&month)))
                .expression_attribute_values(":gsk", s(expiry_sort_key(r.expires_at, license_id)));
        }
        match req.send().await.map_err(|e| from_sdk("UpdateItem", e)) {
            Ok(_) => Ok(RenewalOutcome::Renewed),
            Err(StoreError::ConditionFailed) => match self.get_license(license_id).await? {
                Some(now)
                    if now.key_version == r.expected_key_version
                        && now.status == r.expected_status
                        && now.seats_used > r.seats =>
                {
                    Ok(RenewalOutcome::SeatsBelowUse { seats_used: now.seats_used })
                }
                _ => Ok(RenewalOutcome::Conflict),
            },
            Err(e) => Err(e),
        }
    }

    /// One page of the licenses (active or suspended) expiring in `month` no later than `until`,
    /// soonest first.
    /// A `licenses_expiring` cursor that resumes right after `license` (in the month its expiry
    /// is indexed under), so a job can checkpoint after any license, not only at page ends. The
    /// license need not be in the index any more (an expired one has left it).
    pub fn license_cursor_after(license: &License) -> Option<String> {
        let key: Item = [
            (keys::PK, s(keys::license(&license.id))),
            (keys::SK, s(keys::LICENSE)),
            (keys::GSI1PK, s(keys::license_expiry_month(&expiry_month(license.expires_at)))),
            (keys::GSI1SK, s(expiry_sort_key(license.expires_at, &license.id))),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        cursor::encode(Some(&key))
    }

    pub async fn licenses_expiring(
        &self,
        month: &str,
        until: Timestamp,
        cursor: Option<&str>,
    ) -> Result<Page<License>, StoreError> {
        let pk = keys::license_expiry_month(month);
        let start = cursor.map(|c| cursor::decode(c, keys::GSI1PK, &pk)).transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("GSI1PK = :pk AND GSI1SK <= :until")
            .expression_attribute_values(":pk", s(&pk))
            // '~' sorts after '#', so every license expiring at `until` itself is included.
            .expression_attribute_values(":until", s(format!("{}~", until.strftime("%Y-%m-%dT%H:%M:%SZ"))))
            .limit(100)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| from_sdk("Query", e))?;
        let items = out.items().iter().map(license_from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor: cursor::encode(out.last_evaluated_key()) })
    }

    /// Saves the white-label settings and claims their custom domain for this license (a domain
    /// maps to one license), releasing the license's previous domain, in one transaction.
    pub async fn set_white_label(
        &self,
        license: &License,
        settings: &WhiteLabel,
        now: Timestamp,
    ) -> Result<WhiteLabelOutcome, StoreError> {
        let json = serde_json::to_string(settings).map_err(|e| StoreError::Malformed(e.to_string()))?;
        let previous = license.white_label.as_ref().map(|w| w.custom_domain.clone());
        let claim = Put::builder()
            .table_name(&self.table)
            .item(keys::PK, s(keys::custom_domain(&settings.custom_domain)))
            .item(keys::SK, s(keys::WHITE_LABEL))
            .item("licenseId", s(&license.id))
            .item("domain", s(&settings.custom_domain))
            .condition_expression("attribute_not_exists(PK) OR licenseId = :lid")
            .expression_attribute_values(":lid", s(&license.id));
        let mut save = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::license(&license.id)))
            .key(keys::SK, s(keys::LICENSE))
            .update_expression("SET whiteLabel = :wl, wlDomain = :domain, updatedAt = :now")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":wl", s(json))
            .expression_attribute_values(":domain", s(&settings.custom_domain))
            .expression_attribute_values(":now", ts(now))
            .expression_attribute_values(":revoked", s(LicenseStatus::Revoked.as_str()));
        // Optimistic: the previous domain is the one read, so a concurrent change cannot leave a
        // domain claimed by nobody's settings.
        save = match &previous {
            Some(old) => save
                .condition_expression("attribute_exists(PK) AND #status <> :revoked AND wlDomain = :old")
                .expression_attribute_values(":old", s(old)),
            None => save.condition_expression(
                "attribute_exists(PK) AND #status <> :revoked AND attribute_not_exists(wlDomain)",
            ),
        };
        let mut items = vec![
            TransactWriteItem::builder().put(build(claim.build())?).build(),
            TransactWriteItem::builder().update(build(save.build())?).build(),
        ];
        if let Some(old) = previous.filter(|old| *old != settings.custom_domain) {
            let release = Delete::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::custom_domain(&old)))
                .key(keys::SK, s(keys::WHITE_LABEL))
                .condition_expression("licenseId = :lid")
                .expression_attribute_values(":lid", s(&license.id));
            items.push(TransactWriteItem::builder().delete(build(release.build())?).build());
        }
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(from_transact) {
            Ok(_) => Ok(WhiteLabelOutcome::Saved),
            Err(e) if e.failed_condition_at(0) => Ok(WhiteLabelOutcome::DomainTaken),
            Err(e) if e.is_condition() => Err(StoreError::ConditionFailed),
            Err(e) => Err(e),
        }
    }

    /// The license that claimed `domain` for its white-label theme.
    pub async fn license_for_domain(&self, domain: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::custom_domain(domain)))
            .key(keys::SK, s(keys::WHITE_LABEL))
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(|i| get_s(i, "licenseId").map(str::to_string)).transpose()
    }
}

fn seat_from_item(item: &Item) -> Result<Seat, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("seat.{what}"));
    Ok(Seat {
        license_id: get_s(item, "licenseId")?.to_string(),
        user_id: UserId::parse(get_s(item, "userId")?).map_err(|_| malformed("userId"))?,
        activated_at: get_s(item, "activatedAt")?.parse().map_err(|_| malformed("activatedAt"))?,
        activated_by: get_s(item, "activatedBy")?.to_string(),
    })
}

pub(crate) fn license_from_item(item: &Item) -> Result<License, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("license.{what}"));
    let count =
        |name: &str| -> Result<u32, StoreError> { u32::try_from(get_i64(item, name)?).map_err(|_| malformed(name)) };
    let white_label = opt_s(item, "whiteLabel")
        .map(|json| serde_json::from_str::<WhiteLabel>(json).map_err(|_| malformed("whiteLabel")))
        .transpose()?;
    Ok(License {
        id: get_s(item, "licenseId")?.to_string(),
        org_id: OrgId::parse(get_s(item, "orgId")?).map_err(|_| malformed("orgId"))?,
        org_name: get_s(item, "orgName")?.to_string(),
        contact_email: EmailAddress::parse(get_s(item, "contactEmail")?).map_err(|_| malformed("contactEmail"))?,
        seats: count("seats")?,
        seats_used: count("seatsUsed")?,
        features: serde_json::from_str(get_s(item, "features")?).map_err(|_| malformed("features"))?,
        status: LicenseStatus::parse(get_s(item, "status")?).ok_or_else(|| malformed("status"))?,
        issued_at: get_s(item, "issuedAt")?.parse().map_err(|_| malformed("issuedAt"))?,
        expires_at: Timestamp::from_second(get_i64(item, "licenseExpiry")?).map_err(|_| malformed("licenseExpiry"))?,
        grace_days: count("graceDays")?,
        self_activation: get_bool(item, "selfActivation"),
        key_version: count("keyVersion")?,
        key: get_s(item, "licenseKey")?.to_string(),
        white_label,
        updated_at: get_s(item, "updatedAt")?.parse().map_err(|_| malformed("updatedAt"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DynamoDB Local never cancels for a conflicting transaction; the real service can, and
    /// then the seat transactions retry rather than failing the request.
    #[test]
    fn only_conflict_cancellations_are_retried() {
        let conflict = StoreError::TransactionCanceled { reasons: vec!["None".into(), "TransactionConflict".into()] };
        let condition =
            StoreError::TransactionCanceled { reasons: vec!["ConditionalCheckFailed".into(), "None".into()] };
        assert!(lost_conflict(&conflict));
        assert!(!lost_conflict(&condition));
        assert!(!lost_conflict(&StoreError::ConditionFailed));
    }

    #[test]
    fn expiry_sort_keys_sort_by_time() {
        let a = expiry_sort_key("2026-11-05T00:00:00.5Z".parse().unwrap(), "lic_b");
        let b = expiry_sort_key("2026-11-05T00:00:01Z".parse().unwrap(), "lic_a");
        assert_eq!(a, "2026-11-05T00:00:00Z#lic_b");
        assert!(a < b);
    }
}
