//! Scheduled jobs (EventBridge Scheduler in AWS; `POST /_local/jobs/<name>` locally).

pub mod billing_cycle;
pub mod leaderboard_stats;
pub mod payouts;
pub mod reconcile;
