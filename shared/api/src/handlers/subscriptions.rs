//! Subscription endpoints.

use crate::http::{HttpResult, ok};
use crate::state::AppState;
use azora_domain::Tier;
use azora_domain::subscription::Subscription;
use azora_domain::tiers::Feature;
use lambda_http::Request;
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    pub tier: &'static str,
    pub status: &'static str,
    pub interval: Option<&'static str>,
    pub current_period_end: Option<String>,
    pub cancel_at_period_end: bool,
    pub pending_change: Option<serde_json::Value>,
    pub features: Vec<&'static str>,
    pub token_multiplier_percent: u32,
}

impl From<&Subscription> for SubscriptionView {
    fn from(s: &Subscription) -> Self {
        let effective = s.effective_tier();
        Self {
            tier: s.tier.as_str(),
            status: s.status.as_str(),
            interval: s.interval.map(|i| i.as_str()),
            current_period_end: s.current_period_end.map(|t| t.to_string()),
            cancel_at_period_end: s.cancel_at_period_end,
            pending_change: None,
            features: effective.features().iter().map(|f: &Feature| f.as_str()).collect(),
            token_multiplier_percent: effective.token_multiplier_percent(),
        }
    }
}

/// `GET /api/subscriptions/current`: the caller's plan; no subscription means Free. While a Pro
/// credit bought with tokens lasts and the plan is below Pro, it reports Pro (`proCreditUntil`).
pub async fn current(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.auth.authenticate(&req)?;
    let subscription = state.store.get_subscription(&principal.user_id).await?.unwrap_or_else(Subscription::free);
    let view = SubscriptionView::from(&subscription);
    if subscription.effective_tier() < Tier::Pro
        && let Some(credit) = state.store.pro_credit(&principal.user_id).await?
        && credit.until > jiff::Timestamp::now()
    {
        let mut view = serde_json::to_value(&view).map_err(crate::error::ApiError::internal)?;
        view["tier"] = serde_json::json!(Tier::Pro.as_str());
        view["features"] = serde_json::json!(Tier::Pro.features().iter().map(|f| f.as_str()).collect::<Vec<_>>());
        view["tokenMultiplierPercent"] = serde_json::json!(Tier::Pro.token_multiplier_percent());
        view["proCreditUntil"] = serde_json::json!(credit.until.to_string());
        return ok(&view);
    }
    ok(&view)
}
