//! Enterprise licenses, their seats, status changes and white-label domains.
//!
//! Seats are counted on the license item (`seatsUsed`) and each seat is an item of its own; an
//! activation is one transaction that increments the count only while `seatsUsed < seats` and the
//! license grants access, creates the seat only if absent, writes the member's copy and adds to
//! the org's usage month. So N+1 concurrent activations of an N-seat license leave exactly N seats,
//! and activating the same member twice changes nothing.

use crate::cursor::{self, Page};
use crate::error::StoreError;
use crate::item::{Fields, FromItem, Item, ToItem, attrs, b, from_item, json, n, s, ts};
use crate::table::{Expr, Key, Outcome, Query, key};
use crate::usage::usage_update;
use crate::{Store, keys};
use azora_domain::license::{License, LicenseStatus, WhiteLabel};
use azora_domain::notification::EmailAddress;
use azora_domain::usage::UsageCounters;
use azora_domain::{OrgId, UserId};
use jiff::Timestamp;

/// GSI1 sort key: the expiry as fixed-width UTC seconds, then the id (sorts by time).
fn expiry_sort_key(expires_at: Timestamp, license_id: &str) -> String {
    format!("{}#{license_id}", expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
}

pub fn expiry_month(expires_at: Timestamp) -> String {
    azora_domain::audit::month_of(expires_at)
}

fn license_key(license_id: &str) -> Key {
    key(keys::license(license_id), keys::LICENSE)
}

fn seat_key(license_id: &str, user: &UserId) -> Key {
    key(keys::license(license_id), keys::seat(user.as_str()))
}

/// The member's copy of a seat, under `USER#<id>`.
fn member_seat_key(user: &UserId, license_id: &str) -> Key {
    key(keys::user(user.as_str()), keys::user_seat(license_id))
}

fn domain_key(domain: &str) -> Key {
    key(keys::custom_domain(domain), keys::WHITE_LABEL)
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

/// A white-label theme whose custom domain is claimed but not yet proven: it takes effect when
/// the domain's `_azora-verify` TXT record shows `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWhiteLabel {
    pub license_id: String,
    pub settings: WhiteLabel,
    pub token: String,
    pub claimed_at: Timestamp,
}

fn pending_key(license_id: &str) -> Key {
    key(keys::license(license_id), keys::WHITE_LABEL_CLAIM)
}

impl ToItem for PendingWhiteLabel {
    fn to_item(&self) -> Result<Item, StoreError> {
        Ok(pending_key(&self.license_id).item([
            ("licenseId", s(&self.license_id)),
            ("whiteLabel", json(&self.settings)?),
            ("token", s(&self.token)),
            ("claimedAt", ts(self.claimed_at)),
        ]))
    }
}

from_item! { PendingWhiteLabel as "pending white-label claim", |f| {
    license_id: f.string("licenseId")?, settings: f.json("whiteLabel")?, token: f.string("token")?,
    claimed_at: f.ts("claimedAt")?,
} }

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

impl ToItem for License {
    fn to_item(&self) -> Result<Item, StoreError> {
        let mut item = license_key(&self.id).item(attrs! {
            "licenseId" => s(&self.id), "orgId" => s(self.org_id.as_str()), "orgName" => s(&self.org_name),
            "contactEmail" => s(self.contact_email.as_str()), "seats" => n(self.seats),
            "seatsUsed" => n(self.seats_used), "features" => json(&self.features)?,
            "status" => s(self.status.as_str()), "issuedAt" => ts(self.issued_at),
            "licenseExpiry" => n(self.expires_at.as_second()), "graceDays" => n(self.grace_days),
            "graceEnds" => n(self.grace_until().as_second()), "selfActivation" => b(self.self_activation),
            "keyVersion" => n(self.key_version), "licenseKey" => s(&self.key), "updatedAt" => ts(self.updated_at),
        });
        // Only licenses that can still expire are in the billing cycle's index.
        if matches!(self.status, LicenseStatus::Active | LicenseStatus::Suspended) {
            item.insert(keys::GSI1PK.into(), s(keys::license_expiry_month(&expiry_month(self.expires_at))));
            item.insert(keys::GSI1SK.into(), s(expiry_sort_key(self.expires_at, &self.id)));
        }
        if let Some(wl) = &self.white_label {
            item.insert("whiteLabel".into(), json(wl)?);
            item.insert("wlDomain".into(), s(&wl.custom_domain));
        }
        Ok(item)
    }
}

from_item! { License as "license", |f| {
    id: f.string("licenseId")?, org_id: f.parse("orgId", |v| OrgId::parse(v))?, org_name: f.string("orgName")?,
    contact_email: f.parse("contactEmail", |v| EmailAddress::parse(v))?, seats: f.u32("seats")?,
    seats_used: f.u32("seatsUsed")?, features: f.json("features")?, status: f.named("status", LicenseStatus::parse)?,
    issued_at: f.ts("issuedAt")?, expires_at: f.secs("licenseExpiry")?, grace_days: f.u32("graceDays")?,
    self_activation: f.bool("selfActivation"), key_version: f.u32("keyVersion")?, key: f.string("licenseKey")?,
    white_label: f.opt_json::<WhiteLabel>("whiteLabel")?, updated_at: f.ts("updatedAt")?,
} }

impl ToItem for Seat {
    fn to_item(&self) -> Result<Item, StoreError> {
        Ok(seat_key(&self.license_id, &self.user_id).item([
            ("licenseId", s(&self.license_id)),
            ("userId", s(self.user_id.as_str())),
            ("activatedAt", ts(self.activated_at)),
            ("activatedBy", s(&self.activated_by)),
        ]))
    }
}

from_item! { Seat as "seat", |f| {
    license_id: f.string("licenseId")?, user_id: f.user("userId")?, activated_at: f.ts("activatedAt")?,
    activated_by: f.string("activatedBy")?,
} }

/// The ids of the licenses on which a member holds a seat, from their copies.
struct SeatLicense(String);

impl FromItem for SeatLicense {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Fields::of(item, "memberSeat").string("licenseId").map(SeatLicense)
    }
}

impl Store {
    /// Writes a new license; `ConditionFailed` when the id exists.
    pub async fn create_license(&self, license: &License) -> Result<(), StoreError> {
        self.put_new(license.to_item()?).await
    }

    pub async fn get_license(&self, license_id: &str) -> Result<Option<License>, StoreError> {
        self.get(&license_key(license_id), true).await
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
        // A seat is counted only while one is left and the license grants access now.
        let count = Expr::update("SET seatsUsed = seatsUsed + :one, updatedAt = :now")
            .only_if("attribute_exists(PK) AND #status = :active AND graceEnds > :nowSecs AND seatsUsed < seats")
            .status()
            .value(":one", n(1))
            .value(":now", ts(now))
            .value(":nowSecs", n(now.as_second()))
            .value(":active", s(LicenseStatus::Active.as_str()));
        let seat = Seat {
            license_id: license.id.clone(),
            user_id: user.clone(),
            activated_at: now,
            activated_by: activated_by.to_string(),
        };
        let member_copy = member_seat_key(user, &license.id).item([
            ("licenseId", s(&license.id)),
            ("orgId", s(license.org_id.as_str())),
            ("activatedAt", ts(now)),
        ]);
        let writes = vec![
            self.tx_update(&license_key(&license.id), count)?,
            self.tx_new(seat.to_item()?)?,
            self.tx_new(member_copy)?,
            usage_update(self, license.org_id.as_str(), &month, &delta, false)?,
        ];
        match self.transact(writes).await {
            Ok(()) => {
                let seats_used = self.get_license(&license.id).await?.map(|l| l.seats_used).unwrap_or(0);
                Ok(Activation::Activated { seats_used })
            }
            // Checked first: a member who holds a seat is answered "already active" even
            // when the license is full.
            Err(e) if e.failed_condition_at(1) || e.failed_condition_at(2) => Ok(Activation::AlreadyActive),
            Err(e) if e.failed_condition_at(0) => {
                let Some(current) = self.get_license(&license.id).await? else { return Ok(Activation::NotFound) };
                if !current.grants_access(now) {
                    return Ok(Activation::Inactive(Box::new(current)));
                }
                Ok(Activation::NoSeatsLeft)
            }
            Err(e) => Err(e),
        }
    }

    /// Frees `user`'s seat. Returns `false` when they held none (nothing changed).
    pub async fn deactivate_seat(&self, license: &License, user: &UserId, now: Timestamp) -> Result<bool, StoreError> {
        let month = azora_domain::audit::month_of(now);
        let delta = UsageCounters { seats_released: 1, ..Default::default() };
        let count = Expr::update("SET seatsUsed = seatsUsed - :one, updatedAt = :now")
            .only_if("seatsUsed > :zero")
            .value(":one", n(1))
            .value(":zero", n(0))
            .value(":now", ts(now));
        let writes = vec![
            self.tx_delete(&seat_key(&license.id, user), Some(Expr::when("attribute_exists(PK)")))?,
            self.tx_delete(&member_seat_key(user, &license.id), None)?,
            self.tx_update(&license_key(&license.id), count)?,
            usage_update(self, license.org_id.as_str(), &month, &delta, false)?,
        ];
        match self.transact(writes).await {
            Ok(()) => Ok(true),
            Err(e) if e.failed_condition_at(0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get_seat(&self, license_id: &str, user: &UserId) -> Result<Option<Seat>, StoreError> {
        self.get(&seat_key(license_id, user), true).await
    }

    /// A license's seats, by user id.
    pub async fn list_seats(
        &self,
        license_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Seat>, StoreError> {
        self.page(Query::prefix(keys::license(license_id), keys::SEAT_PREFIX).consistent().limit(limit), cursor).await
    }

    /// The ids of the licenses on which `user` holds a seat (any status).
    pub async fn seat_licenses_of(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        let q = Query::prefix(keys::user(user.as_str()), keys::SEAT_PREFIX).consistent();
        self.query_all(&q).await?.iter().map(|i| SeatLicense::from_item(i).map(|SeatLicense(id)| id)).collect()
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
    /// status was not one of `from` — also for an empty `from`, which no status is in (nothing is
    /// sent to DynamoDB, which would refuse `IN ()`). Revoking or expiring takes it out of the
    /// billing cycle's index.
    pub async fn set_license_status(
        &self,
        license_id: &str,
        from: &[LicenseStatus],
        to: LicenseStatus,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let more =
            if matches!(to, LicenseStatus::Revoked | LicenseStatus::Expired) { " REMOVE GSI1PK, GSI1SK" } else { "" };
        let Some(expr) = Expr::status_move(to.as_str(), from.iter().map(|st| st.as_str()), now, more) else {
            return Ok(false);
        };
        self.update(&license_key(license_id), expr).await.applied()
    }

    /// Revokes `license` (from one of `from`) and, in the same transaction, releases its
    /// white-label domain, so another organisation may claim it. `false` when its status was not
    /// one of `from` or its domain changed meanwhile (nothing written).
    pub async fn revoke_license(
        &self,
        license: &License,
        from: &[LicenseStatus],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(domain) = license.white_label.as_ref().map(|w| w.custom_domain.clone()) else {
            return self.set_license_status(&license.id, from, LicenseStatus::Revoked, now).await;
        };
        let to = LicenseStatus::Revoked.as_str();
        let more = " REMOVE GSI1PK, GSI1SK, wlDomain";
        let Some(revoke) = Expr::status_move(to, from.iter().map(|st| st.as_str()), now, more) else {
            return Ok(false);
        };
        let revoke = revoke.with(Expr::when("wlDomain = :wld").value(":wld", s(&domain)));
        let ours = Expr::when("licenseId = :lid").value(":lid", s(&license.id));
        let items =
            vec![self.tx_update(&license_key(&license.id), revoke)?, self.tx_delete(&domain_key(&domain), Some(ours))?];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if e.is_condition() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Marks a license `expired` once its expiry plus grace has passed; `false` when it was
    /// renewed, revoked or expired meanwhile (the job run twice, or concurrently).
    pub async fn expire_license(&self, license: &License, now: Timestamp) -> Result<bool, StoreError> {
        let expr = Expr::update("SET #status = :expired, updatedAt = :now REMOVE GSI1PK, GSI1SK")
            .only_if("#status IN (:active, :suspended) AND licenseExpiry = :expiry AND graceEnds <= :nowSecs")
            .status()
            .value(":expired", s(LicenseStatus::Expired.as_str()))
            .value(":active", s(LicenseStatus::Active.as_str()))
            .value(":suspended", s(LicenseStatus::Suspended.as_str()))
            .value(":expiry", n(license.expires_at.as_second()))
            .value(":nowSecs", n(now.as_second()))
            .value(":now", ts(now));
        self.update(&license_key(&license.id), expr).await.applied()
    }

    /// Extends or changes a license's terms and stores its new key (see [`Renewal`]).
    pub async fn renew_license(&self, license_id: &str, r: &Renewal<'_>) -> Result<RenewalOutcome, StoreError> {
        match self.update(&license_key(license_id), Self::renewal_expr(license_id, r)).await {
            Ok(()) => Ok(RenewalOutcome::Renewed),
            Err(StoreError::ConditionFailed) => self.why_not_renewed(license_id, r).await,
            Err(e) => Err(e),
        }
    }

    /// The renewal bought by `quote` (more seats, another term), in one transaction with the quote
    /// moving from invoiced to paid, so a payment renews once however often its news arrives.
    /// `None` when the quote is no longer invoiced with its invoice (the renewal was applied).
    pub async fn renew_license_paid(
        &self,
        license_id: &str,
        r: &Renewal<'_>,
        quote: &azora_domain::license_purchase::Quote,
    ) -> Result<Option<RenewalOutcome>, StoreError> {
        let mut items = self.close_invoiced_items(quote, Self::paid_update(license_id, r.now))?;
        items.push(self.tx_update(&license_key(license_id), Self::renewal_expr(license_id, r))?);
        match self.transact(items).await {
            Ok(()) => Ok(Some(RenewalOutcome::Renewed)),
            Err(e) if e.failed_condition_at(0) => Ok(None),
            Err(e) if e.failed_condition_at(2) => self.why_not_renewed(license_id, r).await.map(Some),
            Err(e) => Err(e),
        }
    }

    async fn why_not_renewed(&self, license_id: &str, r: &Renewal<'_>) -> Result<RenewalOutcome, StoreError> {
        match self.get_license(license_id).await? {
            Some(now)
                if now.key_version == r.expected_key_version
                    && now.status == r.expected_status
                    && now.seats_used > r.seats =>
            {
                Ok(RenewalOutcome::SeatsBelowUse { seats_used: now.seats_used })
            }
            _ => Ok(RenewalOutcome::Conflict),
        }
    }

    fn renewal_expr(license_id: &str, r: &Renewal<'_>) -> Expr {
        let month = expiry_month(r.expires_at);
        let mut update = "SET seats = :seats, licenseExpiry = :expiry, graceEnds = :graceEnds, keyVersion = :kv, \
                          licenseKey = :key, #status = :newStatus, updatedAt = :now"
            .to_string();
        let in_index = matches!(r.new_status, LicenseStatus::Active | LicenseStatus::Suspended);
        if in_index {
            update.push_str(", GSI1PK = :gpk, GSI1SK = :gsk");
        }
        let mut expr = Expr::update(update)
            .only_if(
                "attribute_exists(PK) AND keyVersion = :expectedKv AND #status = :expectedStatus AND seatsUsed <= :seats",
            )
            .status()
            .value(":seats", n(r.seats))
            .value(":expiry", n(r.expires_at.as_second()))
            .value(":graceEnds", n(r.grace_ends.as_second()))
            .value(":kv", n(r.key_version))
            .value(":key", s(r.key))
            .value(":newStatus", s(r.new_status.as_str()))
            .value(":now", ts(r.now))
            .value(":expectedKv", n(r.expected_key_version))
            .value(":expectedStatus", s(r.expected_status.as_str()));
        if in_index {
            expr = expr
                .value(":gpk", s(keys::license_expiry_month(&month)))
                .value(":gsk", s(expiry_sort_key(r.expires_at, license_id)));
        }
        expr
    }

    /// A `licenses_expiring` cursor that resumes right after `license` (in the month its expiry
    /// is indexed under), so a job can checkpoint after any license, not only at page ends. The
    /// license need not be in the index any more (an expired one has left it).
    pub fn license_cursor_after(license: &License) -> Option<String> {
        let mut k = license_key(&license.id).attributes();
        k.insert(keys::GSI1PK.into(), s(keys::license_expiry_month(&expiry_month(license.expires_at))));
        k.insert(keys::GSI1SK.into(), s(expiry_sort_key(license.expires_at, &license.id)));
        cursor::encode(Some(&k))
    }

    /// One page of the licenses (active or suspended) expiring in `month` no later than `until`,
    /// soonest first.
    pub async fn licenses_expiring(
        &self,
        month: &str,
        until: Timestamp,
        cursor: Option<&str>,
    ) -> Result<Page<License>, StoreError> {
        // '~' sorts after '#', so every license expiring at `until` itself is included.
        let until = s(format!("{}~", until.strftime("%Y-%m-%dT%H:%M:%SZ")));
        let q = Query::gsi1(keys::license_expiry_month(month)).sort_key("GSI1SK <= :sk", until).limit(100);
        self.page(q, cursor).await
    }

    /// Stores (replaces) a license's pending domain claim.
    pub async fn put_pending_white_label(&self, pending: &PendingWhiteLabel) -> Result<(), StoreError> {
        self.put(pending.to_item()?, None).await
    }

    pub async fn get_pending_white_label(&self, license_id: &str) -> Result<Option<PendingWhiteLabel>, StoreError> {
        self.get(&pending_key(license_id), true).await
    }

    /// Makes a proven claim the license's theme: [`Store::set_white_label`] and, in the same
    /// transaction, the removal of the pending claim with this very token (a claim replaced
    /// meanwhile by another PUT is not applied: `ConditionFailed`).
    pub async fn verify_white_label(
        &self,
        license: &License,
        pending: &PendingWhiteLabel,
        now: Timestamp,
    ) -> Result<WhiteLabelOutcome, StoreError> {
        let same_claim = Expr::when("#token = :token").name("#token", "token").value(":token", s(&pending.token));
        let consume = self.tx_delete(&pending_key(&license.id), Some(same_claim))?;
        self.save_white_label(license, &pending.settings, now, Some(consume)).await
    }

    /// Saves the white-label settings and claims their custom domain for this license (a domain
    /// maps to one license), releasing the license's previous domain, in one transaction.
    pub async fn set_white_label(
        &self,
        license: &License,
        settings: &WhiteLabel,
        now: Timestamp,
    ) -> Result<WhiteLabelOutcome, StoreError> {
        self.save_white_label(license, settings, now, None).await
    }

    async fn save_white_label(
        &self,
        license: &License,
        settings: &WhiteLabel,
        now: Timestamp,
        also: Option<aws_sdk_dynamodb::types::TransactWriteItem>,
    ) -> Result<WhiteLabelOutcome, StoreError> {
        let previous = license.white_label.as_ref().map(|w| w.custom_domain.clone());
        let ours = || Expr::when("licenseId = :lid").value(":lid", s(&license.id));
        let claim = domain_key(&settings.custom_domain)
            .item([("licenseId", s(&license.id)), ("domain", s(&settings.custom_domain))]);
        let save = Expr::update("SET whiteLabel = :wl, wlDomain = :domain, updatedAt = :now")
            .status()
            .value(":wl", json(settings)?)
            .value(":domain", s(&settings.custom_domain))
            .value(":now", ts(now))
            .value(":revoked", s(LicenseStatus::Revoked.as_str()));
        // Optimistic: the previous domain is the one read, so a concurrent change cannot leave a
        // domain claimed by nobody's settings.
        let save = match &previous {
            Some(old) => {
                save.only_if("attribute_exists(PK) AND #status <> :revoked AND wlDomain = :old").value(":old", s(old))
            }
            None => save.only_if("attribute_exists(PK) AND #status <> :revoked AND attribute_not_exists(wlDomain)"),
        };
        let mut items = vec![
            self.tx_put(claim, Some(ours().only_if("attribute_not_exists(PK) OR licenseId = :lid")))?,
            self.tx_update(&license_key(&license.id), save)?,
        ];
        if let Some(old) = previous.filter(|old| *old != settings.custom_domain) {
            items.push(self.tx_delete(&domain_key(&old), Some(ours()))?);
        }
        items.extend(also);
        match self.transact(items).await {
            Ok(()) => Ok(WhiteLabelOutcome::Saved),
            Err(e) if e.failed_condition_at(0) => Ok(WhiteLabelOutcome::DomainTaken),
            Err(e) if e.is_condition() => Err(StoreError::ConditionFailed),
            Err(e) => Err(e),
        }
    }

    /// The license that claimed `domain` for its white-label theme.
    pub async fn license_for_domain(&self, domain: &str) -> Result<Option<String>, StoreError> {
        let item = self.get_item(&domain_key(domain), false).await?;
        item.map(|i| Fields::of(&i, "domain").string("licenseId")).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_sort_keys_sort_by_time() {
        let a = expiry_sort_key("2026-11-05T00:00:00.5Z".parse().unwrap(), "lic_b");
        let b = expiry_sort_key("2026-11-05T00:00:01Z".parse().unwrap(), "lic_a");
        assert_eq!(a, "2026-11-05T00:00:00Z#lic_b");
        assert!(a < b);
    }
}
