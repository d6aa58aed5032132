//! Daily scheduled billing-cycle job: runs `azora_api::functions::BILLING_CYCLE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::BILLING_CYCLE).await
}
