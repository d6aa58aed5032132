//! Scheduled job: percentile cuts of the leaderboards for rank bands. Wiring only: the handler is `azora_api::registry` entry "leaderboard-stats".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}
