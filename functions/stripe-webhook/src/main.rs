//! POST /api/webhooks/stripe: runs `azora_api::functions::STRIPE_WEBHOOK`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::STRIPE_WEBHOOK).await
}
