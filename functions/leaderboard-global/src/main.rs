//! GET /api/leaderboard/global: top N over the sharded board, and the caller's rank. Wiring only: the handler is `azora_api::registry` entry "leaderboard-global".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}
