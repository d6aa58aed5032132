//! GET /api/subscriptions/current: runs `azora_api::functions::SUBSCRIPTIONS_CURRENT`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::SUBSCRIPTIONS_CURRENT).await
}
