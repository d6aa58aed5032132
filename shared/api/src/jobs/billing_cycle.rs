//! The daily billing-cycle job. The foundation runs it on schedule and reports what it did; the
//! subscription and licensing features add their steps (reminders, grace expiry, reconciliation).

use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry;
use serde_json::json;
use std::sync::Arc;

pub async fn run(state: Arc<AppState>) -> Result<serde_json::Value, ApiError> {
    let started = jiff::Timestamp::now();
    tracing::info!(%started, "billing cycle started");
    telemetry::count("BillingCycleRuns", 1);
    let licenses = crate::licensing::cycle::run(&state, started).await?;
    Ok(json!({ "job": "billing-cycle", "startedAt": started.to_string(), "steps": [licenses] }))
}
