//! Daily scheduled instructor payout job: runs `azora_api::functions::INSTRUCTOR_PAYOUTS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::INSTRUCTOR_PAYOUTS).await
}
