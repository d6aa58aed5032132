//! POST /api/subscriptions/create: runs `azora_api::functions::SUBSCRIPTIONS_CREATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::SUBSCRIPTIONS_CREATE).await
}
