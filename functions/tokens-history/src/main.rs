//! GET /api/tokens/history: the caller's token ledger, newest first: runs `azora_api::functions::TOKENS_HISTORY`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::TOKENS_HISTORY).await
}
