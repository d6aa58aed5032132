//! POST /api/friends/requests/{userId}/accept: runs `azora_api::functions::FRIENDS_REQUESTS_ACCEPT`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::FRIENDS_REQUESTS_ACCEPT).await
}
