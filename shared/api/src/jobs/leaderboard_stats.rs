//! The leaderboard-stats job (every 15 minutes): for the all-time and the current weekly board,
//! reads the sample shards and stores the percentile cuts used for the rank band of callers
//! outside the top 1,000 (see `azora_domain::leaderboard`).

use crate::jobs::JobError;
use crate::state::AppState;
use crate::telemetry;
use azora_domain::leaderboard::{Period, week_end};
use serde_json::json;
use std::sync::Arc;

pub async fn run(state: Arc<AppState>) -> Result<serde_json::Value, JobError> {
    let now = state.clock.now();
    let mut boards = Vec::new();
    for period in [Period::All, Period::Week] {
        let period_id = period.id_at(now);
        // Weekly snapshots expire 90 days after their week.
        let expires = (period == Period::Week).then(|| week_end(now).as_second() + 90 * 24 * 3600);
        let (snapshot, requests) = state.store.compute_leaderboard_stats(&period_id, now, expires).await?;
        tracing::info!(period_id, sample = snapshot.sample_size, requests, "leaderboard stats computed");
        boards.push(json!({
            "periodId": period_id,
            "sampleSize": snapshot.sample_size,
            "estimatedTotal": snapshot.estimated_total,
            "requests": requests,
        }));
    }
    telemetry::count("LeaderboardStatsRuns", 1);
    Ok(json!({ "job": "leaderboard-stats", "startedAt": now.to_string(), "boards": boards }))
}
