//! GET /api/tokens/rewards: the redemption catalog: runs `azora_api::functions::TOKENS_REWARDS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::TOKENS_REWARDS).await
}
