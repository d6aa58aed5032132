//! POST /api/subscriptions/cancel: runs `azora_api::functions::SUBSCRIPTIONS_CANCEL`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::SUBSCRIPTIONS_CANCEL).await
}
