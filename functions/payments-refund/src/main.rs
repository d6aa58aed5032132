//! POST /api/payments/refund: runs `azora_api::functions::PAYMENTS_REFUND`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::PAYMENTS_REFUND).await
}
