//! PUT /api/subscriptions/update: runs `azora_api::functions::SUBSCRIPTIONS_UPDATE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::SUBSCRIPTIONS_UPDATE).await
}
