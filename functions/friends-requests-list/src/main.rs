//! GET /api/friends/requests: runs `azora_api::functions::FRIENDS_REQUESTS_LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::FRIENDS_REQUESTS_LIST).await
}
