//! GET /api/leaderboard/class/{classId}: a class's members, for members and the owner: runs `azora_api::functions::LEADERBOARD_CLASS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::LEADERBOARD_CLASS).await
}
