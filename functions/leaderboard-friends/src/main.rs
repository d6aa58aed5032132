//! GET /api/leaderboard/friends: the caller and the users they follow. Wiring only: the handler is `azora_api::registry` entry "leaderboard-friends".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}
