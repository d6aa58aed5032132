//! GET /api/subscriptions/preview: runs `azora_api::functions::SUBSCRIPTIONS_PREVIEW`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::SUBSCRIPTIONS_PREVIEW).await
}
