//! POST /api/friends: follow a user: runs `azora_api::functions::FRIENDS_FOLLOW`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::FRIENDS_FOLLOW).await
}
