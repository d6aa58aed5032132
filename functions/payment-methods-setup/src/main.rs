//! POST /api/payment-methods/setup: runs `azora_api::functions::PAYMENT_METHODS_SETUP`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::PAYMENT_METHODS_SETUP).await
}
