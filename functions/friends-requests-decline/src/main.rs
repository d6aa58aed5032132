//! DELETE /api/friends/requests/{userId}: runs `azora_api::functions::FRIENDS_REQUESTS_DECLINE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::FRIENDS_REQUESTS_DECLINE).await
}
