//! GET /api/payments/history: runs `azora_api::functions::PAYMENTS_HISTORY`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::PAYMENTS_HISTORY).await
}
