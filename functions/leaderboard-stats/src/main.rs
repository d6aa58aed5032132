//! Scheduled job: percentile cuts of the leaderboards for rank bands: runs `azora_api::functions::LEADERBOARD_STATS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::LEADERBOARD_STATS).await
}
