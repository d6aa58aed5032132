//! SQS consumer: applies course completions to the token ledger (tier multiplier, streak bonus). Wiring only: the handler is `azora_api::registry` entry "rewards-worker".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}
