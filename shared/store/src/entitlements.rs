//! What the entitlement rules read for one user, in as few round trips as the key design allows.
//!
//! The subscription (`USER#<id>` / `SUBSCRIPTION`) and the Pro credit (`USER#<id>` / `PRO_CREDIT`)
//! are two known keys: one `BatchGetItem`. The member's seats (`USER#<id>` / `SEAT#<licenseId>`) are
//! a `Query` (begins_with) sent at the same time; a single query of the user's partition cannot
//! take the place of both, because the ledger's `SOURCE#` keys sort between `SEAT#` and
//! `SUBSCRIPTION` and grow without bound. Only when the user holds seats does a second
//! `BatchGetItem` read their licenses (status, expiry, grace days and features live there). All
//! reads are strongly consistent: a seat or credit just granted counts at once.

use crate::error::StoreError;
use crate::item::{FromItem, get_s};
use crate::subscriptions::SubscriptionRecord;
use crate::table::key;
use crate::tokens::ProCredit;
use crate::{Store, keys};
use azora_domain::UserId;
use azora_domain::license::License;

/// The three grants of one user, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntitlementSources {
    pub subscription: Option<SubscriptionRecord>,
    pub pro_credit: Option<ProCredit>,
    /// The licenses on which the user holds a seat, whatever their status.
    pub seat_licenses: Vec<License>,
}

impl Store {
    pub async fn entitlement_sources(&self, user: &UserId) -> Result<EntitlementSources, StoreError> {
        let pk = keys::user(user.as_str());
        let own = vec![key(&pk, keys::SUBSCRIPTION), key(&pk, keys::PRO_CREDIT)];
        let (items, seats) = tokio::try_join!(self.batch_get(own, true), self.seat_licenses_of(user))?;
        let mut sources = EntitlementSources::default();
        for item in &items {
            match get_s(item, keys::SK)? {
                keys::SUBSCRIPTION => sources.subscription = Some(SubscriptionRecord::from_item(item)?),
                keys::PRO_CREDIT => sources.pro_credit = Some(ProCredit::from_item(item)?),
                _ => {}
            }
        }
        let wanted = seats.iter().map(|id| key(keys::license(id), keys::LICENSE)).collect();
        for item in self.batch_get(wanted, true).await? {
            sources.seat_licenses.push(License::from_item(&item)?);
        }
        // BatchGetItem answers in no particular order.
        sources.seat_licenses.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(sources)
    }
}
