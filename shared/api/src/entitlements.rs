//! Entitlements service: the one place that answers "what may this user do" — tier, features and
//! token multiplier — for the feature gates, the rewards worker and `/api/subscriptions/current`.
//!
//! It loads the user's subscription, license seats and Pro credit together
//! ([`azora_store::Store::entitlement_sources`]: one `BatchGetItem` and one `Query` in parallel,
//! plus one `BatchGetItem` of the licenses when the user holds seats) and applies the rules of
//! [`azora_domain::entitlements`], whose documentation states the precedence.

use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::UserId;
use azora_domain::entitlements::{Entitlements, Grants, SubscriptionGrant, entitlements};
use azora_store::entitlements::EntitlementSources;
use azora_store::subscriptions::SubscriptionRecord;
use jiff::Timestamp;

/// The entitlements with the subscription record they were computed from (for `/current`, which
/// also shows the record's billing details).
#[derive(Debug, Clone)]
pub struct Plan {
    pub entitlements: Entitlements,
    pub subscription: Option<SubscriptionRecord>,
}

/// What `user` may do at `now`.
pub async fn entitlements_of(state: &AppState, user: &UserId, now: Timestamp) -> Result<Entitlements, Fault> {
    Ok(plan_of(state, user, now).await?.entitlements)
}

/// [`entitlements_of`], keeping the subscription record that was read.
pub async fn plan_of(state: &AppState, user: &UserId, now: Timestamp) -> Result<Plan, Fault> {
    let sources = state.store.entitlement_sources(user).await?;
    Ok(decide(sources, *state.config.subscription_grace_days.get()?, now))
}

/// The pure part: stored sources → the domain's answer.
pub fn decide(sources: EntitlementSources, grace_days: i64, now: Timestamp) -> Plan {
    let grants = Grants {
        subscription: sources
            .subscription
            .as_ref()
            .map(|r| SubscriptionGrant { subscription: r.subscription.clone(), past_due_since: r.past_due_since }),
        seats: sources.seat_licenses,
        pro_credit_until: sources.pro_credit.map(|c| c.until),
    };
    Plan { entitlements: entitlements(&grants, grace_days, now), subscription: sources.subscription }
}
