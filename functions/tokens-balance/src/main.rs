//! GET /api/tokens/balance: balance, lifetime totals, streaks, vouchers, Pro credit. Wiring only: the handler is `azora_api::registry` entry "tokens-balance".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}
