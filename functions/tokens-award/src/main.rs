//! POST /api/tokens/award: queues course completions for the rewards worker; manual admin awards (idempotent, audited): runs `azora_api::functions::TOKENS_AWARD`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::TOKENS_AWARD).await
}
