//! The plans we sell, as the public plans page shows them: every tier with its features, token
//! multiplier and list prices. Built from [`crate::tiers`] and [`crate::subscription`]'s Pro
//! prices, so nothing else states a price or a feature list; the API overlays the amount Stripe
//! actually charges for each lookup key when Stripe has that price.

use crate::money::{Currency, Money};
use crate::subscription::{BillingInterval, pro_lookup_key, pro_price};
use crate::tiers::{Feature, Tier};

/// One recurring price of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPrice {
    pub interval: BillingInterval,
    /// The Stripe price lookup key that subscriptions use.
    pub lookup_key: &'static str,
    pub amount: Money,
}

/// How a plan is bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purchase {
    /// Nothing to buy.
    Free,
    /// `POST /api/subscriptions` with one of the prices.
    Subscription,
    /// Seat licenses issued to an organisation (contact sales).
    Licenses,
}

impl Purchase {
    pub fn as_str(self) -> &'static str {
        match self {
            Purchase::Free => "free",
            Purchase::Subscription => "subscription",
            Purchase::Licenses => "licenses",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub tier: Tier,
    pub features: &'static [Feature],
    pub token_multiplier_percent: u32,
    pub purchase: Purchase,
    pub prices: Vec<PlanPrice>,
}

/// One Enterprise seat for one month, in USD minor units: what self-serve enterprise purchases
/// (`license_purchase`) charge per seat and month of the term.
pub const ENTERPRISE_SEAT_MONTHLY_PRICE: i64 = 1_500;

pub fn enterprise_seat_price() -> Money {
    Money::new(ENTERPRISE_SEAT_MONTHLY_PRICE, Currency::Usd)
}

/// Pro's prices as we define them (Stripe's own amount wins once the price exists there).
pub fn pro_prices() -> Vec<PlanPrice> {
    [BillingInterval::Month, BillingInterval::Year]
        .into_iter()
        .map(|interval| PlanPrice {
            interval,
            lookup_key: pro_lookup_key(interval),
            amount: Money::new(pro_price(interval), Currency::Usd),
        })
        .collect()
}

/// Every tier, cheapest first.
pub fn catalog() -> Vec<Plan> {
    Tier::ALL
        .into_iter()
        .map(|tier| {
            let (purchase, prices) = match tier {
                Tier::Free => (Purchase::Free, vec![]),
                Tier::Pro => (Purchase::Subscription, pro_prices()),
                Tier::Enterprise => (Purchase::Licenses, vec![]),
            };
            Plan {
                tier,
                features: tier.features(),
                token_multiplier_percent: tier.token_multiplier_percent(),
                purchase,
                prices,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_the_tiers_definition() {
        let plans = catalog();
        assert_eq!(plans.iter().map(|p| p.tier).collect::<Vec<_>>(), Tier::ALL);
        for p in &plans {
            assert_eq!(p.features, p.tier.features());
            assert_eq!(p.token_multiplier_percent, p.tier.token_multiplier_percent());
        }
        let pro = &plans[1];
        assert_eq!(pro.prices.len(), 2);
        assert!(pro.prices.iter().all(|p| p.amount.amount == pro_price(p.interval) && p.amount.amount > 0));
        assert!(plans[0].prices.is_empty() && plans[2].prices.is_empty());
    }
}
