//! GET /api/payments/{paymentId}/receipt: runs `azora_api::functions::PAYMENTS_RECEIPT`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::PAYMENTS_RECEIPT).await
}
