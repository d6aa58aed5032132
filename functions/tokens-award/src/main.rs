//! POST /api/tokens/award: queues course completions for the rewards worker; manual admin awards (idempotent, audited). Wiring only: the handler is `azora_api::registry` entry "tokens-award".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}
