//! GET /api/tokens/rewards: the redemption catalog. Wiring only: the handler is `azora_api::registry` entry "tokens-rewards".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}
