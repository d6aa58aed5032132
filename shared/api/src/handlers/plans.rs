//! `GET /api/plans` (public): every tier with its features, token multiplier and prices, and the
//! full feature list for a comparison table. Cacheable for five minutes.

use crate::http::{HttpResult, ok};
use crate::plans::plans;
use crate::state::AppState;
use azora_domain::tiers::Feature;
use lambda_http::Request;
use serde_json::json;
use std::sync::Arc;

pub async fn list(_req: Request, state: Arc<AppState>) -> HttpResult {
    let plans: Vec<serde_json::Value> = plans(&state)
        .await
        .into_iter()
        .map(|priced| {
            let plan = priced.plan;
            json!({
                "tier": plan.tier.as_str(),
                "features": plan.features.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                "tokenMultiplierPercent": plan.token_multiplier_percent,
                "purchase": plan.purchase.as_str(),
                "prices": plan.prices.iter().zip(priced.sources).map(|(p, source)| json!({
                    "interval": p.interval.as_str(),
                    "lookupKey": p.lookup_key,
                    "amount": p.amount.amount,
                    "currency": p.amount.currency.code(),
                    "source": source.as_str(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let features: Vec<serde_json::Value> = Feature::ALL
        .iter()
        .map(|f| json!({ "feature": f.as_str(), "minimumTier": f.minimum_tier().as_str() }))
        .collect();
    let mut response = ok(&json!({ "plans": plans, "features": features }))?;
    response.headers_mut().insert("cache-control", ::http::HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}
