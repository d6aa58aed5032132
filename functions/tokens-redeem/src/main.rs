//! POST /api/tokens/redeem: spend tokens on a voucher or a Pro credit (idempotent). Wiring only: the handler is `azora_api::registry` entry "tokens-redeem".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}
