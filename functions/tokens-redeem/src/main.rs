//! POST /api/tokens/redeem: spend tokens on a voucher or a Pro credit (idempotent): runs `azora_api::functions::TOKENS_REDEEM`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::TOKENS_REDEEM).await
}
