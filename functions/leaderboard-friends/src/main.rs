//! GET /api/leaderboard/friends: the caller and the users they follow: runs `azora_api::functions::LEADERBOARD_FRIENDS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::LEADERBOARD_FRIENDS).await
}
