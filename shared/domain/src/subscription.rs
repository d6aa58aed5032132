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

    /// The tier whose features the user gets now.
    pub fn effective_tier(&self) -> Tier {
        if self.status.grants_access() { self.tier } else { Tier::Free }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
