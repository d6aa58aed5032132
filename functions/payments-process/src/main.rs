//! POST /api/payments/process: runs `azora_api::functions::PAYMENTS_PROCESS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::PAYMENTS_PROCESS).await
}
