//! GET /api/friends: whom the caller follows: runs `azora_api::functions::FRIENDS_LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::FRIENDS_LIST).await
}
