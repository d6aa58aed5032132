//! Subscription endpoints.

use crate::http::{HttpResult, ok};
use crate::state::AppState;
use azora_domain::subscription::Subscription;
use azora_domain::tiers::{Feature, Tier};
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

/// `GET /api/subscriptions/current`: the caller's plan; no subscription means Free.
pub async fn current(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.auth.authenticate(&req)?;
    let subscription = state.store.get_subscription(&principal.user_id).await?.unwrap_or_else(Subscription::free);
    // An enterprise seat grants Enterprise unless the personal plan is as good (`source: "license"`).
    if subscription.effective_tier() < Tier::Enterprise
        && let Some(seat_plan) = crate::licensing::seat_plan(&state, &principal.user_id).await?
    {
        return ok(&seat_plan);
    }
    ok(&SubscriptionView::from(&subscription))
}
