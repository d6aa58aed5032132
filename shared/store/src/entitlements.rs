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
use crate::item::{Item, get_s, s};
use crate::licenses::license_from_item;
use crate::subscriptions::{SubscriptionRecord, record_from_item};
use crate::tokens::{ProCredit, pro_credit_from_item};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::AttributeValue;
use azora_domain::UserId;
use azora_domain::license::License;
use std::collections::HashMap;

/// The three grants of one user, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntitlementSources {
    pub subscription: Option<SubscriptionRecord>,
    pub pro_credit: Option<ProCredit>,
    /// The licenses on which the user holds a seat, whatever their status.
    pub seat_licenses: Vec<License>,
}

/// BatchGetItem takes at most 100 keys per request.
const BATCH_LIMIT: usize = 100;

impl Store {
    pub async fn entitlement_sources(&self, user: &UserId) -> Result<EntitlementSources, StoreError> {
        let pk = keys::user(user.as_str());
        let own = vec![batch_key(&pk, keys::SUBSCRIPTION), batch_key(&pk, keys::PRO_CREDIT)];
        let (items, seats) = tokio::try_join!(self.batch_get(own), self.seat_licenses_of(user))?;
        let mut sources = EntitlementSources::default();
        for item in &items {
            match sort_key(item)? {
                keys::SUBSCRIPTION => sources.subscription = Some(record_from_item(item)?),
                keys::PRO_CREDIT => sources.pro_credit = Some(pro_credit_from_item(item)?),
                _ => {}
            }
        }
        for chunk in seats.chunks(BATCH_LIMIT) {
            let wanted = chunk.iter().map(|id| batch_key(&keys::license(id), keys::LICENSE)).collect();
            for item in self.batch_get(wanted).await? {
                sources.seat_licenses.push(license_from_item(&item)?);
            }
        }
        // BatchGetItem answers in no particular order.
        sources.seat_licenses.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(sources)
    }
}

fn sort_key(item: &Item) -> Result<&str, StoreError> {
    get_s(item, keys::SK)
}

fn batch_key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))])
}
