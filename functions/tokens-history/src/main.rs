//! GET /api/tokens/history: the caller's token ledger, newest first. Wiring only: the handler is `azora_api::registry` entry "tokens-history".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}
