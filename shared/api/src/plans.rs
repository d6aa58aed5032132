//! The public plans service: the domain's catalog ([`azora_domain::plans`]) with each price's
//! amount as Stripe charges it. Stripe's prices are cached per Stripe API base for five minutes,
//! so a public page does not spend Stripe's rate limit and a price change shows within five
//! minutes; if Stripe cannot answer, the catalog's own amounts are shown (and logged), since a
//! pricing page must not fail because Stripe is slow.

use crate::state::AppState;
use azora_domain::money::{Currency, Money};
use azora_domain::plans::{Plan, catalog};
use azora_stripe::billing::LivePrice;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CACHE_FOR: Duration = Duration::from_secs(300);

/// Where each price's amount came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    Stripe,
    Catalog,
}

impl PriceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceSource::Stripe => "stripe",
            PriceSource::Catalog => "catalog",
        }
    }
}

/// The catalog, with each price's source in the same order as `plan.prices`.
pub struct PricedPlan {
    pub plan: Plan,
    pub sources: Vec<PriceSource>,
}

type Cache = HashMap<String, (Instant, Vec<LivePrice>)>;
static STRIPE_PRICES: Mutex<Option<Cache>> = Mutex::new(None);

pub async fn plans(state: &AppState) -> Vec<PricedPlan> {
    let live = live_prices(state).await;
    catalog()
        .into_iter()
        .map(|mut plan| {
            let sources = plan
                .prices
                .iter_mut()
                .map(|price| {
                    let found = live.iter().find(|l| l.lookup_key == price.lookup_key);
                    match found.and_then(|l| Some(Money::new(l.unit_amount, Currency::parse(&l.currency).ok()?))) {
                        Some(amount) => {
                            price.amount = amount;
                            PriceSource::Stripe
                        }
                        None => PriceSource::Catalog,
                    }
                })
                .collect();
            PricedPlan { plan, sources }
        })
        .collect()
}

async fn live_prices(state: &AppState) -> Vec<LivePrice> {
    let Ok(base) = state.config.stripe.get().map(|s| s.api_base.clone()) else {
        return vec![];
    };
    let cached = STRIPE_PRICES.lock().ok().and_then(|c| {
        c.as_ref()?.get(&base).filter(|(at, _)| at.elapsed() < CACHE_FOR).map(|(_, prices)| prices.clone())
    });
    if let Some(prices) = cached {
        return prices;
    }
    let keys: Vec<&str> = catalog().iter().flat_map(|p| p.prices.iter().map(|price| price.lookup_key)).collect();
    let fetched = match state.stripe() {
        Ok(stripe) => stripe.prices_by_lookup_key(&keys).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match fetched {
        Ok(prices) => {
            if let Ok(mut cache) = STRIPE_PRICES.lock() {
                cache.get_or_insert_with(HashMap::new).insert(base, (Instant::now(), prices.clone()));
            }
            prices
        }
        Err(e) => {
            tracing::warn!(error = %e, "Stripe prices unavailable; showing the catalog's amounts");
            vec![]
        }
    }
}
