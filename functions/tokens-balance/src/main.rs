//! GET /api/tokens/balance: balance, lifetime totals, streaks, vouchers, Pro credit: runs `azora_api::functions::TOKENS_BALANCE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::TOKENS_BALANCE).await
}
