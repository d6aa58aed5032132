//! GET /api/leaderboard/global: top N over the sharded board, and the caller's rank: runs `azora_api::functions::LEADERBOARD_GLOBAL`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::LEADERBOARD_GLOBAL).await
}
