//! GET /api/payments/{paymentId}: runs `azora_api::functions::PAYMENTS_GET`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::PAYMENTS_GET).await
}
