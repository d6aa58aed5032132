//! A user's subscription as the rest of the system sees it.

use crate::tiers::Tier;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    Trialing,
    PastDue,
    Canceled,
    Incomplete,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Trialing => "trialing",
            SubscriptionStatus::PastDue => "past_due",
            SubscriptionStatus::Canceled => "canceled",
            SubscriptionStatus::Incomplete => "incomplete",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Active, Self::Trialing, Self::PastDue, Self::Canceled, Self::Incomplete]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }

    /// Whether a subscription in this state grants its tier's features.
    /// `past_due` still does: the grace period is enforced by the billing-cycle job.
    pub fn grants_access(self) -> bool {
        matches!(self, Self::Active | Self::Trialing | Self::PastDue)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingInterval {
    Month,
    Year,
}

impl BillingInterval {
    pub fn as_str(self) -> &'static str {
        match self {
            BillingInterval::Month => "month",
            BillingInterval::Year => "year",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "month" => Some(Self::Month),
            "year" => Some(Self::Year),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub tier: Tier,
    pub status: SubscriptionStatus,
    pub interval: Option<BillingInterval>,
    pub current_period_end: Option<Timestamp>,
    pub cancel_at_period_end: bool,
}

impl Subscription {
    /// What a user without any subscription has.
    pub fn free() -> Self {
        Self {
            tier: Tier::Free,
            status: SubscriptionStatus::Active,
            interval: None,
            current_period_end: None,
            cancel_at_period_end: false,
        }
    }

    /// The tier this subscription grants by its status alone (a past-due one still counts). What
    /// the *user* may do — grace days, seats and Pro credits included — is
    /// [`crate::entitlements::entitlements`].
    pub fn effective_tier(&self) -> Tier {
        if self.status.grants_access() { self.tier } else { Tier::Free }
    }
}

/// A change that takes effect at the end of the current period (downgrades).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChange {
    pub tier: Tier,
    pub interval: Option<BillingInterval>,
    pub effective_at: Timestamp,
}

/// Plans in order of value: Free < Pro monthly < Pro yearly.
pub fn plan_rank(tier: Tier, interval: Option<BillingInterval>) -> u8 {
    match (tier, interval) {
        (Tier::Free, _) => 0,
        (Tier::Pro, Some(BillingInterval::Year)) => 2,
        (Tier::Pro, _) => 1,
        (Tier::Enterprise, _) => 3,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanChange {
    /// Takes effect now, proration invoiced immediately.
    Upgrade,
    /// Takes effect at the end of the period.
    Downgrade,
    Same,
}

pub fn classify_change(
    current: (Tier, Option<BillingInterval>),
    target: (Tier, Option<BillingInterval>),
) -> PlanChange {
    let (from, to) = (plan_rank(current.0, current.1), plan_rank(target.0, target.1));
    match to.cmp(&from) {
        std::cmp::Ordering::Greater => PlanChange::Upgrade,
        std::cmp::Ordering::Less => PlanChange::Downgrade,
        std::cmp::Ordering::Equal => PlanChange::Same,
    }
}

/// Pro prices in USD minor units.
pub const PRO_MONTHLY_PRICE: i64 = 1_200;
pub const PRO_YEARLY_PRICE: i64 = 12_000;

pub fn pro_price(interval: BillingInterval) -> i64 {
    match interval {
        BillingInterval::Month => PRO_MONTHLY_PRICE,
        BillingInterval::Year => PRO_YEARLY_PRICE,
    }
}

/// The Stripe price lookup key of a Pro interval.
pub fn pro_lookup_key(interval: BillingInterval) -> &'static str {
    match interval {
        BillingInterval::Month => "azora_pro_month",
        BillingInterval::Year => "azora_pro_year",
    }
}

/// Renewal reminders go out this many days before the period ends: 7 for yearly, 3 for monthly.
pub fn reminder_lead_days(interval: BillingInterval) -> i64 {
    match interval {
        BillingInterval::Year => 7,
        BillingInterval::Month => 3,
    }
}

/// Whether a renewal reminder is due now for a period ending at `period_end`.
pub fn reminder_due(interval: BillingInterval, period_end: Timestamp, now: Timestamp) -> bool {
    let lead = jiff::SignedDuration::from_hours(24 * reminder_lead_days(interval));
    now >= period_end - lead && now < period_end
}

/// Whether a subscription past due since `since` has used up its grace period.
pub fn grace_over(since: Timestamp, grace_days: i64, now: Timestamp) -> bool {
    now >= since + jiff::SignedDuration::from_hours(24 * grace_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_classified_by_plan_value() {
        use BillingInterval::*;
        assert_eq!(classify_change((Tier::Pro, Some(Month)), (Tier::Pro, Some(Year))), PlanChange::Upgrade);
        assert_eq!(classify_change((Tier::Pro, Some(Year)), (Tier::Pro, Some(Month))), PlanChange::Downgrade);
        assert_eq!(classify_change((Tier::Pro, Some(Month)), (Tier::Free, None)), PlanChange::Downgrade);
        assert_eq!(classify_change((Tier::Pro, Some(Month)), (Tier::Pro, Some(Month))), PlanChange::Same);
    }

    #[test]
    fn reminders_fall_in_the_lead_window_and_grace_counts_days() {
        let end: Timestamp = "2026-12-31T00:00:00Z".parse().unwrap();
        let day = jiff::SignedDuration::from_hours(24);
        assert!(!reminder_due(BillingInterval::Month, end, end - day * 4));
        assert!(reminder_due(BillingInterval::Month, end, end - day * 3));
        assert!(reminder_due(BillingInterval::Year, end, end - day * 7));
        assert!(!reminder_due(BillingInterval::Year, end, end));
        assert!(!grace_over(end, 7, end + day * 6));
        assert!(grace_over(end, 7, end + day * 7));
        assert!(grace_over(end, 0, end));
    }

    #[test]
    fn canceled_and_incomplete_fall_back_to_free() {
        let mut s = Subscription { tier: Tier::Pro, ..Subscription::free() };
        assert_eq!(s.effective_tier(), Tier::Pro);
        s.status = SubscriptionStatus::Canceled;
        assert_eq!(s.effective_tier(), Tier::Free);
        s.status = SubscriptionStatus::Incomplete;
        assert_eq!(s.effective_tier(), Tier::Free);
        s.status = SubscriptionStatus::PastDue;
        assert_eq!(s.effective_tier(), Tier::Pro);
    }
}
