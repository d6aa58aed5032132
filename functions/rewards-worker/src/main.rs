//! SQS consumer: applies course completions to the token ledger (tier multiplier, streak bonus): runs `azora_api::functions::REWARDS_WORKER`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::REWARDS_WORKER).await
}
