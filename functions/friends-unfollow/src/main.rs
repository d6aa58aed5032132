//! DELETE /api/friends/{userId}: stop following a user: runs `azora_api::functions::FRIENDS_UNFOLLOW`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::FRIENDS_UNFOLLOW).await
}
